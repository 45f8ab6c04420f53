"""ServiceAccounts: a name and the secrets it may mount.

Mirrors ``pkg/registry/core/serviceaccount/strategy.go`` and ``ValidateServiceAccount`` in
``pkg/apis/core/validation`` (names are DNS-1123 subdomains). Every namespace gets a
``default`` account, created by the namespace's controller, not here.
"""

from __future__ import annotations

from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.validation import validate_object_meta


class ServiceAccountStrategy(Strategy):
    """``strategy`` of ``pkg/registry/core/serviceaccount``."""

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        return validate_object_meta(obj, info)


register("v1", "ServiceAccount", ServiceAccountStrategy())
