"""One stored object, served at several versions of its group.

kube-apiserver keeps each kind at one storage version and serves every other version of its
group through conversion (``k8s.io/apiserver/pkg/endpoints/handlers``: a request body is
decoded from the version in the URL and converted to the storage version; whatever is
returned, listed or watched is converted to the version asked for). The sandbox does the
same: a row of :data:`~kubelab.sandbox.api.kinds.ALSO_SERVED` names its storage version and
a pair of conversion functions registered here (by the kind's strategy module, where the
kind's own semantics live). The server converts at its edges only, so storage, strategies
and controllers see the storage version alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kubelab.apimachinery.types import Obj
from kubelab.sandbox.api.kinds import KindInfo, storage_info

Convert = Callable[[Obj], Obj]


@dataclass(frozen=True)
class Conversion:
    """How one served version maps to the storage version and back."""

    to_storage: Convert
    from_storage: Convert


_CONVERSIONS: dict[tuple[str, str], Conversion] = {}


def register(api_version: str, kind: str, to_storage: Convert, from_storage: Convert) -> None:
    """Register the conversion of ``kind`` served at ``api_version``."""
    _CONVERSIONS[(api_version, kind)] = Conversion(to_storage, from_storage)


def _conversion(info: KindInfo) -> Conversion:
    from kubelab.sandbox.api.strategies import strategy_for

    strategy_for(info)  # strategy modules register their conversions when loaded
    return _CONVERSIONS[(info.api_version, info.kind)]


def to_storage(info: KindInfo, obj: Obj) -> Obj:
    """``obj`` written at ``info``'s version, as the storage version holds it (a copy when
    converted, ``obj`` itself when ``info`` is the storage version)."""
    if not info.storage_version:
        return obj
    return _conversion(info).to_storage(obj)


def from_storage(info: KindInfo, obj: Obj) -> Obj:
    """A stored object as ``info``'s version shows it (``obj`` itself at the storage
    version)."""
    if not info.storage_version:
        return obj
    return _conversion(info).from_storage(obj)


__all__ = ["Conversion", "from_storage", "register", "storage_info", "to_storage"]
