"""The READY, STATUS and RESTARTS columns of ``kubectl get pods``, computed once.

Mirrors ``printPod`` in ``kubernetes/pkg/printers/internalversion/printers.go`` (the
function kube-apiserver runs to fill the Table ``kubectl get pods`` prints): STATUS starts
as ``status.reason`` or the phase, becomes ``SchedulingGated`` for a gated pod,
``Init:<reason>``, ``Init:ExitCode:N``, ``Init:Signal:N`` or ``Init:i/n`` while an init
container has not finished (a started sidecar does not hold the pod in ``Init``), then the
last container's waiting or terminated reason (``CrashLoopBackOff``, ``Completed``,
``ExitCode:N``, ``Signal:N``), ``Running``/``NotReady`` when a finished container sits beside
a running one, and ``Terminating``/``Unknown`` for a pod being deleted. READY counts ready
containers and started sidecars out of the containers plus sidecars; RESTARTS adds up
restart counts (only the sidecars' once initialisation is over) and remembers the latest
termination for the ``N (5m ago)`` form.

The sandbox's table printer and the diagram's pod chips both use :func:`summarize_pod`, so a
pod reads the same in ``kubectl get pods`` and on the diagram.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubelab.apimachinery.times import parse_time
from kubelab.apimachinery.types import ObjView


@dataclass(frozen=True)
class PodSummary:
    """What ``printPod`` derives from a pod, before formatting.

    Attributes:
        ready: ready containers (and started, ready sidecars).
        total: containers plus sidecars.
        status: the STATUS column.
        restarts: the RESTARTS count.
        last_restart: the latest container termination counted in ``restarts``, if any.
    """

    ready: int
    total: int
    status: str
    restarts: int
    last_restart: datetime | None


def _m(obj: ObjView, key: str) -> ObjView:
    value = obj.get(key)
    return value if isinstance(value, Mapping) else {}


def _list(obj: ObjView, key: str) -> list[Any]:
    value = obj.get(key)
    return value if isinstance(value, list) else []


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _is_restartable_init(container: ObjView | None) -> bool:
    """``podutil.IsRestartableInitContainer``: a sidecar (``restartPolicy: Always``)."""
    return container is not None and container.get("restartPolicy") == "Always"


def _later(current: datetime | None, status: ObjView) -> datetime | None:
    """The later of ``current`` and the container's last termination time."""
    last = _m(status, "lastState").get("terminated")
    if not isinstance(last, Mapping):
        return current
    finished = parse_time(last.get("finishedAt"))
    if finished is None:
        return current
    return finished if current is None or current < finished else current


def condition_true(conditions: list[Any], kind: str) -> bool:
    """Whether ``conditions`` holds ``kind`` with status ``True``."""
    return any(
        isinstance(c, Mapping) and c.get("type") == kind and c.get("status") == "True"
        for c in conditions
    )


def summarize_pod(pod: ObjView) -> PodSummary:
    """``printPod``'s READY, STATUS and RESTARTS for ``pod`` (see the module docstring)."""
    spec, status, meta = _m(pod, "spec"), _m(pod, "status"), _m(pod, "metadata")
    conditions = _list(status, "conditions")
    restarts = 0
    sidecar_restarts = 0
    total = len(_list(spec, "containers"))
    ready = 0
    last_restart: datetime | None = None
    last_sidecar_restart: datetime | None = None

    phase = str(status.get("phase") or "")
    reason = str(status.get("reason") or "") or phase
    for cond in conditions:
        if (
            isinstance(cond, Mapping)
            and cond.get("type") == "PodScheduled"
            and cond.get("reason") == "SchedulingGated"
        ):
            reason = "SchedulingGated"

    init_specs: dict[str, ObjView] = {}
    init_list = [c for c in _list(spec, "initContainers") if isinstance(c, Mapping)]
    for container in init_list:
        init_specs[str(container.get("name"))] = container
        if _is_restartable_init(container):
            total += 1

    initializing = False
    for index, cs in enumerate(_list(status, "initContainerStatuses")):
        if not isinstance(cs, Mapping):
            continue
        restarts += _int(cs.get("restartCount"))
        last_restart = _later(last_restart, cs)
        sidecar = _is_restartable_init(init_specs.get(str(cs.get("name"))))
        if sidecar:
            sidecar_restarts += _int(cs.get("restartCount"))
            last_sidecar_restart = _later(last_sidecar_restart, cs)
        state = _m(cs, "state")
        terminated = state.get("terminated")
        waiting = state.get("waiting")
        if isinstance(terminated, Mapping) and _int(terminated.get("exitCode")) == 0:
            continue
        if sidecar and cs.get("started") is True:
            if cs.get("ready"):
                ready += 1
            continue
        if isinstance(terminated, Mapping):
            if not terminated.get("reason"):
                signal = _int(terminated.get("signal"))
                if signal != 0:
                    reason = f"Init:Signal:{signal}"
                else:
                    reason = f"Init:ExitCode:{_int(terminated.get('exitCode'))}"
            else:
                reason = f"Init:{terminated['reason']}"
        elif (
            isinstance(waiting, Mapping)
            and waiting.get("reason")
            and waiting.get("reason") != "PodInitializing"
        ):
            reason = f"Init:{waiting['reason']}"
        else:
            reason = f"Init:{index}/{len(init_list)}"
        initializing = True
        break

    if not initializing or condition_true(conditions, "Initialized"):
        restarts = sidecar_restarts
        last_restart = last_sidecar_restart
        has_running = False
        for cs in reversed(_list(status, "containerStatuses")):
            if not isinstance(cs, Mapping):
                continue
            restarts += _int(cs.get("restartCount"))
            last_restart = _later(last_restart, cs)
            state = _m(cs, "state")
            terminated = state.get("terminated")
            waiting = state.get("waiting")
            if isinstance(waiting, Mapping) and waiting.get("reason"):
                reason = str(waiting["reason"])
            elif isinstance(terminated, Mapping) and terminated.get("reason"):
                reason = str(terminated["reason"])
            elif isinstance(terminated, Mapping):
                signal = _int(terminated.get("signal"))
                if signal != 0:
                    reason = f"Signal:{signal}"
                else:
                    reason = f"ExitCode:{_int(terminated.get('exitCode'))}"
            elif cs.get("ready") and isinstance(state.get("running"), Mapping):
                has_running = True
                ready += 1
        # A finished container next to a running one: the pod is still running.
        if reason == "Completed" and has_running:
            reason = "Running" if condition_true(conditions, "Ready") else "NotReady"

    if meta.get("deletionTimestamp") and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return PodSummary(ready, total, reason, restarts, last_restart)


def pod_status_column(pod: ObjView) -> str:
    """The STATUS column alone."""
    return summarize_pod(pod).status
