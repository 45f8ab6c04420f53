"""Leases: kubelet heartbeats (``kube-node-lease``) and leader election (``kube-system``).

Mirrors ``pkg/registry/coordination/lease/strategy.go`` and ``ValidateLease`` in
``pkg/apis/coordination/validation`` (positive ``leaseDurationSeconds``, non-negative
``leaseTransitions``, a ``preferredHolder`` only with a ``strategy``).
"""

from __future__ import annotations

from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.validation import (
    forbidden,
    invalid,
    validate_nonnegative,
    validate_object_meta,
)


class LeaseStrategy(Strategy):
    """``leaseStrategy``: a spec only, no status and no generation."""

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        spec = obj.get("spec") or {}
        causes = validate_object_meta(obj, info)
        duration = spec.get("leaseDurationSeconds")
        if duration is not None and (not isinstance(duration, int) or duration <= 0):
            causes.append(invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
        causes += validate_nonnegative(spec.get("leaseTransitions"), "spec.leaseTransitions")
        if spec.get("preferredHolder") and not spec.get("strategy"):
            causes.append(forbidden("spec.preferredHolder",
                                    "can only be set if strategy is set"))
        return causes


register("coordination.k8s.io/v1", "Lease", LeaseStrategy())
