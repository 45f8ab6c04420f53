"""ControllerRevisions: immutable snapshots of a StatefulSet's (or DaemonSet's) template.

Mirrors ``pkg/registry/apps/controllerrevision/strategy.go`` and
``ValidateControllerRevision``/``ValidateControllerRevisionUpdate`` in
``pkg/apis/apps/validation/validation.go``: ``data`` is required and can never change,
``revision`` is non-negative. ``kubectl rollout history|undo statefulset`` read them.
"""

from __future__ import annotations

from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.validation import (
    required,
    validate_immutable,
    validate_nonnegative,
    validate_object_meta,
)


class ControllerRevisionStrategy(Strategy):
    """``strategy`` of ``controllerrevision``: no spec/status split."""

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        causes = validate_object_meta(obj, info)
        if obj.get("data") is None:
            causes.append(required("data"))
        causes += validate_nonnegative(obj.get("revision"), "revision")
        return causes

    def validate_update(self, obj: Obj, old: Obj, info: KindInfo) -> list[Cause]:
        causes = self.validate(obj, info)
        causes += validate_immutable(obj.get("data"), old.get("data"), "data", "{}")
        return causes


register("apps/v1", "ControllerRevision", ControllerRevisionStrategy())
