"""The TTL-after-finished controller: delete a finished Job ``ttlSecondsAfterFinished`` later.

Mirrors kube-controller-manager's ``pkg/controller/ttlafterfinished/ttlafterfinished_controller.go``
(``processJob``, ``timeLeft``): a Job with the field set, finished (``Complete`` or
``Failed``), expires that many seconds after the final condition's transition; then the
controller deletes it with foreground propagation (its pods go first) and a UID
precondition. Until then it asks to be called again when the time is up. Simulated seconds,
on the sandbox clock.
"""

from __future__ import annotations

from collections.abc import Iterable

from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import Clock
from kubelab.sandbox.controllers import common
from kubelab.sandbox.controllers.job import JOBS, finished_at
from kubelab.sandbox.reconcile.types import Delete, Key, Obj, Result, Snapshot

COMPONENT = "ttl-after-finished-controller"


class TTLAfterFinishedController:
    """``ttl-after-finished-controller``: finished Jobs with a TTL → deleted."""

    name = COMPONENT
    watches: tuple[KindInfo, ...] = (JOBS,)

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        if (obj.get("spec") or {}).get("ttlSecondsAfterFinished") is not None:
            yield Key.of(info, obj)

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        job = snapshot.get(JOBS, key.namespace, key.name)
        if job is None or common.is_deleting(job):
            return Result()
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        finished = finished_at(job)
        if ttl is None or finished is None:
            return Result()
        left = int(ttl) - clock.sim_elapsed(finished)
        if left > 0:
            return Result(requeue_after=left + 0.001)
        return Result([Delete(JOBS, key.namespace, key.name, "Foreground",
                              uid=common.uid_of(job))])
