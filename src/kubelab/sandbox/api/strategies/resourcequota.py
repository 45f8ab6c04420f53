"""ResourceQuotas: hard limits per namespace, usage reported in status.

Mirrors ``pkg/registry/core/resourcequota/strategy.go`` (status cleared on create and kept
on a main-resource update; the quota controller writes ``status.hard``/``status.used``) and
``ValidateResourceQuota`` in ``pkg/apis/core/validation`` (valid quantities, non-negative,
standard resource names). Quantities are stored in canonical form, as upstream's
``SetDefaults_ResourceList`` leaves them.
"""

from __future__ import annotations

from kubelab.apimachinery import quantity
from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.strategies.pod import canonical_resource_list
from kubelab.sandbox.api.validation import (
    IS_NEGATIVE,
    invalid,
    qualified_name_errors,
    validate_object_meta,
)

SCOPES = ("Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "PriorityClass",
          "CrossNamespacePodAffinity", "VolumeAttributesClass")


class ResourceQuotaStrategy(Strategy):
    """``resourcequotaStrategy``."""

    has_status_subresource = True

    def default(self, obj: Obj) -> None:
        canonical_resource_list((obj.get("spec") or {}).get("hard"), "ResourceQuota")

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        causes = validate_object_meta(obj, info)
        hard = (obj.get("spec") or {}).get("hard") or {}
        for name in sorted(hard):
            path = f"spec.hard[{name}]"
            causes += [invalid(path, name, e) for e in qualified_name_errors(name)]
            try:
                value = quantity.parse_quantity(str(hard[name]))
            except ValueError as err:
                causes.append(invalid(path, str(hard[name]), str(err)))
                continue
            if value < 0:
                causes.append(invalid(path, str(hard[name]), IS_NEGATIVE))
        return causes

    def initial_status(self, obj: Obj) -> Obj | None:
        return {}


register("v1", "ResourceQuota", ResourceQuotaStrategy())
