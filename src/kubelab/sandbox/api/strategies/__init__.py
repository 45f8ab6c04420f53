"""Per-kind strategies: defaulting, validation and the create/update rules of each kind.

Mirrors kube-apiserver's ``pkg/registry/<group>/<kind>/strategy.go`` plus the defaulting
functions of ``pkg/apis/<group>/v1/defaults.go`` and the validation of
``pkg/apis/<group>/validation``. The generic registry (:mod:`kubelab.sandbox.store.registry`)
calls a strategy, through the kind's storage object (:mod:`kubelab.sandbox.storage`, which
adds the rules a strategy cannot express: allocation, graceful deletion, finalisation,
subresources), at fixed points, exactly like ``genericregistry.Store``:

1. ``default(obj)`` after decoding a request body (create, update, patch result);
2. ``prepare_for_create(obj)`` / ``prepare_for_update(obj, old)`` (reset status on create,
   keep status on a main-resource update, bump ``metadata.generation`` on spec change);
3. ``validate(obj)`` / ``validate_update(obj, old)`` → a list of causes; non-empty → 422.

One module per kind lives beside this file and registers itself with :func:`register`.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from kubelab.apimachinery.types import Obj, deep_copy_json
from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.validation import validate_object_meta


class Strategy:
    """The default strategy: a kind with no spec/status split and no extra rules."""

    #: Whether ``metadata.generation`` tracks spec changes (workloads, services…).
    has_spec: bool = False
    #: Whether the main resource ignores ``status`` writes (status has its own endpoint).
    has_status_subresource: bool = False
    #: Whether DELETE answers with the object (pods, services) or a Success Status.
    returns_deleted_object: bool = False

    def default(self, obj: Obj) -> None:
        """Fill in defaulted fields in place (``SetDefaults_*``)."""

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        """Validate a new object; return the causes of a 422 (empty when valid)."""
        return validate_object_meta(obj, info)

    def validate_update(self, obj: Obj, old: Obj, info: KindInfo) -> list[Cause]:
        """Validate an update; by default the same rules as create."""
        return self.validate(obj, info)

    def prepare_for_create(self, obj: Obj) -> None:
        """Reset server-owned fields on create (status cleared when it is a subresource)."""
        if self.has_status_subresource:
            obj.pop("status", None)
            initial = self.initial_status(obj)
            if initial is not None:
                obj["status"] = initial
        if self.has_spec:
            obj.setdefault("metadata", {})["generation"] = 1

    def initial_status(self, obj: Obj) -> Obj | None:
        return None

    def prepare_for_update(self, obj: Obj, old: Obj) -> None:
        """Keep status from ``old`` on a main-resource write; bump generation on spec change."""
        if self.has_status_subresource and "status" in old:
            obj["status"] = deep_copy_json(old["status"])
        elif self.has_status_subresource:
            obj.pop("status", None)
        if self.has_spec:
            generation = old.get("metadata", {}).get("generation", 1)
            if self.spec_of(obj) != self.spec_of(old):
                generation += 1
            obj.setdefault("metadata", {})["generation"] = generation

    def prepare_for_status_update(self, obj: Obj, old: Obj) -> None:
        """A ``/status`` write changes status (and annotations), nothing else.

        Upstream's status strategies copy spec and labels back from the stored object; the
        deployment controller relies on annotations passing through (it writes
        ``deployment.kubernetes.io/revision`` with its status).
        """
        status = obj.get("status")
        annotations = obj.get("metadata", {}).get("annotations")
        obj.clear()
        # Spec and the rest are the stored version's own, shared rather than copied: a
        # stored version is never changed (the registry hands them out uncopied to
        # in-process readers), and this write changes none of them. The metadata the
        # write path sets is copied (``managedFields`` entries are replaced, not changed);
        # the stored status is replaced. Copying the whole pod was half of a status write.
        obj.update({k: v for k, v in old.items() if k not in ("status", "metadata")})
        obj["metadata"] = {k: v if k == "managedFields" else deep_copy_json(v)
                           for k, v in (old.get("metadata") or {}).items()}
        if status is not None:
            obj["status"] = status
        else:
            obj.pop("status", None)
        if annotations is not None:
            obj["metadata"]["annotations"] = annotations
        else:
            obj["metadata"].pop("annotations", None)

    def spec_of(self, obj: Obj) -> Any:
        return obj.get("spec")

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        """Fields usable in a ``fieldSelector`` (``metadata.name``/``namespace`` always)."""
        meta = obj.get("metadata", {})
        return {"metadata.name": meta.get("name", ""),
                "metadata.namespace": meta.get("namespace", "")}


_REGISTRY: dict[tuple[str, str], Strategy] = {}
_DEFAULT = Strategy()
_loaded = False


def register(api_version: str, kind: str, strategy: Strategy) -> None:
    _REGISTRY[(api_version, kind)] = strategy


def strategy_for(info: KindInfo) -> Strategy:
    global _loaded
    if not _loaded:
        for module in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{module.name}")
        _loaded = True
    return _REGISTRY.get((info.api_version, info.kind), _DEFAULT)
