"""Pod status from the runtime record: phase, conditions, container statuses.

Mirrors the kubelet's ``generateAPIPodStatus`` (``pkg/kubelet/kubelet_pods.go``), its
``getPhase`` and the condition helpers of ``pkg/kubelet/status/generate.go``:

* phase: ``Pending`` while any container is waiting to start for the first time (a container
  waiting *after* a termination counts as stopped, which is why a pod in CrashLoopBackOff is
  ``Running``), ``Running`` when some run, ``Succeeded``/``Failed`` when all stopped for
  good (restartPolicy Never/OnFailure);
* conditions, in the kubelet's order: ``PodReadyToStartContainers``, ``Initialized``,
  ``Ready``, ``ContainersReady``, ``PodScheduled`` — with ``containers with unready status:
  [a b]`` messages, and ``lastTransitionTime`` kept while a condition's status stays;
* container statuses with ``containerID: containerd://<64 hex>``, ``imageID``, ``started``,
  ``ready``, ``restartCount``, ``state`` and ``lastState``.

Everything here is a pure function of the record, the pod and the clock.
"""

from __future__ import annotations

from fractions import Fraction

from kubelab.apimachinery.types import Obj, deep_copy_json
from kubelab.sandbox.clock import Clock, rfc3339
from kubelab.sandbox.kubelet.runtime import ContainerRecord, PodRecord

_SUFFIX = {"m": Fraction(1, 1000), "k": Fraction(10**3), "M": Fraction(10**6),
           "G": Fraction(10**9), "T": Fraction(10**12), "Ki": Fraction(2**10),
           "Mi": Fraction(2**20), "Gi": Fraction(2**30), "Ti": Fraction(2**40)}


def _quantity(value: object) -> Fraction | None:
    text = str(value)
    for suffix in sorted(_SUFFIX, key=len, reverse=True):
        if text.endswith(suffix):
            try:
                return Fraction(text[: -len(suffix)]) * _SUFFIX[suffix]
            except ValueError:
                return None
    try:
        return Fraction(text)
    except ValueError:
        return None


def qos_class(pod: Obj) -> str:
    """``GetPodQOS`` (``pkg/apis/core/v1/helper/qos``) for cpu and memory."""
    spec = pod.get("spec") or {}
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    any_set = False
    guaranteed = True
    for container in containers:
        resources = container.get("resources") or {}
        requests = resources.get("requests") or {}
        limits = resources.get("limits") or {}
        for name in ("cpu", "memory"):
            req, lim = requests.get(name), limits.get(name)
            if req is not None or lim is not None:
                any_set = True
            if lim is None or (req is not None and _quantity(req) != _quantity(lim)):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _state(c: ContainerRecord) -> tuple[Obj, Obj]:
    """(state, lastState) of one container."""
    last = deep_copy_json(c.last_terminated) if c.last_terminated else {}
    terminated = {
        "exitCode": c.exit_code if c.exit_code is not None else 0,
        "reason": c.term_reason or "Completed",
        "startedAt": rfc3339(c.started_at) if c.started_at else None,
        "finishedAt": rfc3339(c.finished_at) if c.finished_at else None,
        "containerID": c.container_id,
    }
    if c.step in ("running", "killing", "stopping") and c.started_at is not None:
        return {"running": {"startedAt": rfc3339(c.started_at)}}, last
    if c.step == "crash-backoff":
        return ({"waiting": {"reason": "CrashLoopBackOff", "message": c.waiting_message}},
                {"terminated": terminated})
    if c.ever_started and c.finished_at is not None:
        return {"terminated": terminated}, last
    waiting: Obj = {"reason": c.waiting_reason or "ContainerCreating"}
    if c.waiting_message:
        waiting["message"] = c.waiting_message
    return {"waiting": waiting}, last


def container_status(c: ContainerRecord) -> Obj:
    state, last = _state(c)
    running = "running" in state
    ready = running and c.step == "running" and all(
        w.result for kind, w in c.probes.items() if kind in ("readiness", "startup"))
    if c.init:
        ready = c.done and c.exit_code == 0
    if c.ephemeral:
        ready = False  # converted as init containers are, and never probed
    status: Obj = {
        "name": c.name,
        "state": state,
        "lastState": last,
        "ready": ready,
        "restartCount": c.restart_count,
        "image": c.image.ref.full if c.image is not None else str(c.spec.get("image") or ""),
        "imageID": c.image.ref.image_id() if c.image is not None and c.ever_started else "",
        "started": running and ("startup" not in c.probes or c.probes["startup"].result),
    }
    if c.ephemeral:
        del status["started"]  # the prober manager sets it for pod containers only
    if c.container_id and c.ever_started:
        status["containerID"] = c.container_id
    return status


def phase(pod: Obj, rec: PodRecord) -> str:
    """``getPhase``: the pod phase from its containers' states."""
    if rec.terminal_phase:
        return rec.terminal_phase
    policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
    inits = [c for c in rec.ordered() if c.init and c.spec.get("restartPolicy") != "Always"]
    for c in inits:
        if c.done and c.exit_code != 0:
            return "Failed"
        if not (c.done and c.exit_code == 0):
            return "Pending"
    running = waiting = stopped = succeeded = 0
    for c in rec.ordered():
        if c.init or c.ephemeral:  # getPhase looks at the pod's own containers only
            continue
        if c.step in ("running", "killing", "stopping"):
            running += 1
        elif c.ever_started and c.finished_at is not None:
            stopped += 1
            if c.exit_code == 0:
                succeeded += 1
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        deleting = bool((pod.get("metadata") or {}).get("deletionTimestamp"))
        if deleting or policy != "Always":
            if stopped == succeeded and (deleting or policy in ("Never", "OnFailure")):
                return "Succeeded"
            if policy == "Never" or deleting:
                return "Failed"
        return "Running"
    return "Pending"


def _condition(old: list[Obj], ctype: str, ok: bool, clock: Clock, reason: str = "",
               message: str = "") -> Obj:
    status = "True" if ok else "False"
    transition = rfc3339(clock.now())
    for cond in old:
        if cond.get("type") == ctype and cond.get("status") == status:
            transition = cond.get("lastTransitionTime") or transition
    out: Obj = {"type": ctype, "status": status, "lastProbeTime": None,
                "lastTransitionTime": transition}
    if not ok and reason:
        out["reason"] = reason
        if message:
            out["message"] = message
    return out


def pod_status(pod: Obj, rec: PodRecord, *, node_ip: str, clock: Clock) -> Obj:
    """The status the kubelet writes for ``pod`` (starting from the current one).

    The current status is read, never changed (the pod is the registry's stored object):
    the result is built new, and what it carries over from the current one is copied.
    """
    current = pod.get("status") or {}
    old = list(current.get("conditions") or [])
    pod_phase = phase(pod, rec)
    if pod_phase in ("Succeeded", "Failed") and not (pod.get("metadata") or {}).get(
            "deletionTimestamp"):
        rec.terminal_phase = pod_phase
    init_statuses = [container_status(c) for c in rec.ordered() if c.init]
    statuses = [container_status(c) for c in rec.ordered() if not c.init and not c.ephemeral]
    ephemeral_statuses = [container_status(c) for c in rec.ordered() if c.ephemeral]
    pending_inits = [s["name"] for s in init_statuses if not s["ready"]
                     and not any(c.name == s["name"] and c.spec.get("restartPolicy") == "Always"
                                 for c in rec.containers.values())]
    unready = [s["name"] for s in statuses if not s["ready"]]
    terminal = pod_phase in ("Succeeded", "Failed")
    conditions: list[Obj] = [
        _condition(old, "PodReadyToStartContainers", rec.sandbox_ready and not terminal, clock),
    ]
    if pod_phase == "Succeeded" or not pending_inits:
        conditions.append(_condition(old, "Initialized", True, clock))
    else:
        conditions.append(_condition(
            old, "Initialized", False, clock, "ContainersNotInitialized",
            f"containers with incomplete status: [{' '.join(pending_inits)}]"))
    if terminal:
        conditions.append(_condition(old, "Ready", False, clock, "PodCompleted"))
        conditions.append(_condition(old, "ContainersReady", False, clock, "PodCompleted"))
    else:
        message = f"containers with unready status: [{' '.join(unready)}]"
        conditions.append(_condition(old, "Ready", not unready, clock, "ContainersNotReady",
                                     message))
        conditions.append(_condition(old, "ContainersReady", not unready, clock,
                                     "ContainersNotReady", message))
    scheduled = next((dict(c) for c in old if c.get("type") == "PodScheduled"), None)
    conditions.append(scheduled or _condition(old, "PodScheduled", True, clock))
    status: Obj = {
        "phase": pod_phase,
        "conditions": conditions,
        "hostIP": node_ip,
        "hostIPs": [{"ip": node_ip}],
        "startTime": rfc3339(rec.accepted_at),
        "containerStatuses": statuses,
        "qosClass": qos_class(pod),
    }
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    if ephemeral_statuses:
        status["ephemeralContainerStatuses"] = ephemeral_statuses
    if rec.ip:
        status["podIP"] = rec.ip
        status["podIPs"] = [{"ip": rec.ip}]
    for key in ("nominatedNodeName", "resize"):
        if key in current:
            status[key] = current[key]
    return status
