"""The Job controller: run pods to completion, count them, finish the Job.

Mirrors kube-controller-manager's ``pkg/controller/job/job_controller.go`` (``syncJob``,
``manageJob``, ``trackJobStatusAndRemoveFinalizers``, ``getNewFinishedPods``), the indexed
mode of ``indexed_job_utils.go``, ``pod_failure_policy.go`` and the pod backoff of
``backoff_utils.go``, as the 1.37 controller behaves:

* Pods are made from the template with the ``batch.kubernetes.io/job-tracking`` finalizer,
  ``generateName: <job>-`` (``<job>-<index>-`` in Indexed mode, where the index is also an
  annotation, a label, the hostname and the ``JOB_COMPLETION_INDEX`` variable).
* A finished pod is counted once: its finalizer is removed and ``status.succeeded`` or
  ``status.failed`` grows in the same pass (upstream records the pod in
  ``uncountedTerminatedPods`` between two writes; one pass here makes both, so the field
  stays empty, as a real cluster shows it between syncs). A pod deleted before it finished
  counts as failed, unless the Job's own suspension deleted it.
* Success: ``completions`` pods succeeded (every index, in Indexed mode; any pod, with
  ``completions`` unset). Failure: more failed pods than ``backoffLimit`` (with
  ``restartPolicy: OnFailure``, as many container restarts as the limit), ``activeDeadlineSeconds``
  passed, or a ``podFailurePolicy`` rule with ``FailJob`` matched. Either way the interim
  condition comes first (``SuccessCriteriaMet`` / ``FailureTarget``), active pods are
  deleted, and the final one (``Complete`` / ``Failed``) follows once no pod is terminating.
* After a failure the next pod waits 10 s, doubling per failure up to 6 minutes.
* ``suspend: true`` deletes the active pods, clears ``startTime`` and sets ``Suspended``;
  resuming sets ``startTime`` again.

:meth:`JobController.reconcile` is pure; it asks to be called again when a deadline or a
backoff ends.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import Clock, parse_time
from kubelab.sandbox.controllers import common
from kubelab.sandbox.reconcile.types import Key, Obj, RecordEvent, Result, Snapshot

JOBS = kinds.resource("jobs.batch")
PODS = kinds.core("pods")
COMPONENT = "job-controller"

TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"

DEFAULT_BACKOFF = 10.0
MAX_BACKOFF = 360.0
#: ``MaxPodCreateDeletePerSync``: pods created or deleted in one sync at most; the pods'
#: own events bring the Job back for the rest (a Job of 2147483647 completions and
#: parallelism starts 500 pods, not a list of two billion).
MAX_POD_CREATE_DELETE_PER_SYNC = 500

MSG_COMPLETED = "Reached expected number of succeeded pods"
MSG_BACKOFF = "Job has reached the specified backoff limit"
MSG_DEADLINE = "Job was active longer than specified deadline"


# ----------------------------------------------------------------------------- helpers


def condition_true(job: Obj, ctype: str) -> bool:
    return any(c.get("type") == ctype and c.get("status") == "True"
               for c in (job.get("status") or {}).get("conditions") or [])


def is_finished(job: Obj) -> bool:
    """``IsJobFinished``: a ``Complete`` or ``Failed`` condition holds."""
    return condition_true(job, "Complete") or condition_true(job, "Failed")


def finished_at(job: Obj) -> datetime | None:
    """When the Job finished (the final condition's transition time)."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return parse_time(cond.get("lastTransitionTime"))
    return None


def _set_condition(conditions: list[dict[str, Any]], ctype: str, status: str, reason: str,
                   message: str, now: str) -> bool:
    """Add or change one condition (``lastProbeTime`` and ``lastTransitionTime`` now)."""
    for cond in conditions:
        if cond.get("type") == ctype:
            if cond.get("status") == status and cond.get("reason") == reason:
                return False
            cond.update({"status": status, "reason": reason, "message": message,
                         "lastProbeTime": now, "lastTransitionTime": now})
            return True
    conditions.append({"type": ctype, "status": status, "lastProbeTime": now,
                       "lastTransitionTime": now, "reason": reason, "message": message})
    return True


def format_indexes(indexes: Iterable[int]) -> str:
    """``1,3-5,7``: the ``completedIndexes`` text (three or more in a row as a range)."""
    ordered = sorted(set(indexes))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{ordered[i]}-{ordered[j]}")
        else:
            parts.extend(str(n) for n in ordered[i:j + 1])
        i = j + 1
    return ",".join(parts)


def parse_indexes(text: str | None) -> set[int]:
    found: set[int] = set()
    for part in (text or "").split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        try:
            found.update(range(int(low), int(high or low) + 1))
        except ValueError:
            continue
    return found


def pod_index(pod: Obj) -> int | None:
    try:
        return int(common.annotations_of(pod).get(COMPLETION_INDEX, ""))
    except ValueError:
        return None


def _has_finalizer(pod: Obj) -> bool:
    return TRACKING_FINALIZER in (pod.get("metadata", {}).get("finalizers") or [])


def _without_finalizer(pod: Obj) -> Obj:
    released = deep_copy_json(pod)
    released["metadata"]["finalizers"] = [
        f for f in released["metadata"].get("finalizers") or [] if f != TRACKING_FINALIZER]
    if not released["metadata"]["finalizers"]:
        del released["metadata"]["finalizers"]
    return released


def _terminated_at(pod: Obj) -> datetime | None:
    latest: datetime | None = None
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        when = parse_time(((status.get("state") or {}).get("terminated") or {})
                          .get("finishedAt"))
        if when is not None and (latest is None or when > latest):
            latest = when
    return latest or parse_time(pod.get("metadata", {}).get("deletionTimestamp"))


def _exit_codes(pod: Obj) -> list[tuple[str, int]]:
    codes = []
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        terminated = (status.get("state") or {}).get("terminated")
        if terminated is not None:
            codes.append((str(status.get("name", "")), int(terminated.get("exitCode", 0))))
    return codes


def match_pod_failure_policy(job: Obj, pod: Obj) -> tuple[str, str] | None:
    """``matchPodFailurePolicy``: the action of the first rule a failed pod matches, and
    the message a ``FailJob`` rule puts on the Job."""
    policy = (job.get("spec") or {}).get("podFailurePolicy") or {}
    for i, rule in enumerate(policy.get("rules") or []):
        action = str(rule.get("action", ""))
        codes = rule.get("onExitCodes")
        if codes is not None:
            values = set(codes.get("values") or [])
            only = codes.get("containerName")
            for name, code in _exit_codes(pod):
                if only and name != only:
                    continue
                if code == 0:
                    continue
                matched = code in values if codes.get("operator") == "In" \
                    else code not in values
                if matched:
                    return action, (f"Container {name} for pod {common.namespace_of(pod)}/"
                                    f"{common.name_of(pod)} failed with exit code {code} "
                                    f"matching {action} rule at index {i}")
        for pattern in rule.get("onPodConditions") or []:
            cond = common.pod_condition(pod, str(pattern.get("type", "")))
            if cond is not None and cond.get("status") == pattern.get("status", "True"):
                return action, (f"Pod {common.namespace_of(pod)}/{common.name_of(pod)} has "
                                f"condition {pattern.get('type')} matching {action} rule at "
                                f"index {i}")
    return None


def pod_from_template(job: Obj, name: str, index: int | None) -> Obj:
    """``GetPodFromTemplate`` plus the tracking finalizer and, when indexed, the index."""
    template = (job.get("spec") or {}).get("template") or {}
    tmeta = template.get("metadata") or {}
    base = f"{common.name_of(job)}-" if index is None else f"{common.name_of(job)}-{index}-"
    metadata: Obj = {"generateName": base, "name": name,
                     "namespace": common.namespace_of(job)}
    for field in ("labels", "annotations"):
        if tmeta.get(field):
            metadata[field] = deep_copy_json(tmeta[field])
    metadata["finalizers"] = [*(tmeta.get("finalizers") or []), TRACKING_FINALIZER]
    metadata["ownerReferences"] = [common.new_controller_ref(job, JOBS)]
    spec = deep_copy_json(template.get("spec") or {})
    if index is not None:
        metadata.setdefault("annotations", {})[COMPLETION_INDEX] = str(index)
        metadata.setdefault("labels", {})[COMPLETION_INDEX] = str(index)
        spec["hostname"] = f"{common.name_of(job)}-{index}"
        for container in [*spec.get("initContainers", []), *spec.get("containers", [])]:
            env = container.setdefault("env", [])
            if not any(e.get("name") == COMPLETION_INDEX_ENV for e in env):
                env.insert(0, {"name": COMPLETION_INDEX_ENV, "valueFrom": {"fieldRef": {
                    "apiVersion": "v1",
                    "fieldPath": f"metadata.annotations['{COMPLETION_INDEX}']"}}})
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def _past_backoff_limit_on_failure(spec: Obj, pods: list[Obj], limit: int) -> bool:
    """``pastBackoffLimitOnFailure``: with ``restartPolicy: OnFailure`` the restarts of the
    containers of pending and running pods count (any restart when the limit is 0)."""
    if ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy") != "OnFailure":
        return False
    restarts = 0
    for pod in pods:
        status = pod.get("status") or {}
        if status.get("phase") not in ("Pending", "Running"):
            continue
        for c in [*(status.get("initContainerStatuses") or []),
                  *(status.get("containerStatuses") or [])]:
            restarts += int(c.get("restartCount") or 0)
    return restarts > 0 if limit == 0 else restarts >= limit


# ----------------------------------------------------------------------------- controller


class JobController:
    """``job-controller``: Jobs → Pods, counted to completion or failure."""

    name = COMPONENT
    watches: tuple[KindInfo, ...] = (JOBS, PODS)

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        if info == JOBS:
            yield Key.of(info, obj)
            return
        ref = common.controller_ref(obj)
        if ref is not None and ref.get("kind") == "Job" \
                and str(ref.get("apiVersion", "")).startswith("batch/"):
            yield Key(JOBS.group_resource, common.namespace_of(obj), str(ref.get("name", "")))

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        job = snapshot.get(JOBS, key.namespace, key.name)
        writes = common.Writes()
        owned = self._pods(snapshot, key, job)
        if job is None or common.is_deleting(job):
            # Pods of a deleted Job: only the finalizers to remove (upstream's orphan pod
            # handling), so the garbage collector's deletes can finish.
            for pod in owned:
                if _has_finalizer(pod):
                    writes.update(PODS, _without_finalizer(pod))
            return Result(writes.actions())
        return self._sync(job, owned, writes, clock)

    @staticmethod
    def _pods(snapshot: Snapshot, key: Key, job: Obj | None) -> list[Obj]:
        uid = common.uid_of(job) if job is not None else None
        found = []
        for pod in snapshot.list(PODS, key.namespace):
            ref = common.controller_ref(pod)
            if ref is None or ref.get("kind") != "Job" or ref.get("name") != key.name:
                continue
            if uid is not None and ref.get("uid") != uid:
                continue
            found.append(pod)
        return found

    def _sync(self, job: Obj, pods: list[Obj], writes: common.Writes, clock: Clock) -> Result:
        spec = job.get("spec") or {}
        old_status = job.get("status") or {}
        status: Obj = deep_copy_json(old_status)
        conditions: list[dict[str, Any]] = status.get("conditions") or []
        now = common.now_str(clock)
        requeue: float | None = None
        indexed = spec.get("completionMode") == "Indexed"
        completions = spec.get("completions")
        parallelism = int(spec.get("parallelism") or 0)
        backoff_limit = int(spec.get("backoffLimit", 6))
        suspended = bool(spec.get("suspend"))
        # ``podReplacementPolicy: Failed`` waits for a deleted pod to reach Failed; the
        # default counts a deleted, unfinished pod as failed at once (``isPodFailed``).
        replace_failed_only = spec.get("podReplacementPolicy") == "Failed"
        finished = is_finished(job)

        # Count newly finished pods once: remove the finalizer and add to the counters.
        succeeded = int(status.get("succeeded") or 0)
        failed = int(status.get("failed") or 0)
        done_indexes = parse_indexes(status.get("completedIndexes"))
        fail_job: str | None = None
        last_failure: datetime | None = None
        for pod in pods:
            phase = (pod.get("status") or {}).get("phase")
            if phase == "Failed" or (common.is_deleting(pod) and phase != "Succeeded"):
                when = _terminated_at(pod)
                if when is not None and (last_failure is None or when > last_failure):
                    last_failure = when
            if not _has_finalizer(pod):
                continue
            if phase == "Succeeded":
                index = pod_index(pod)
                if finished:
                    pass  # a finished Job's stragglers lose the finalizer uncounted
                elif not indexed or (index is not None and index not in done_indexes
                                   and (completions is None or index < int(completions))):
                    succeeded += 1
                    if index is not None:
                        done_indexes.add(index)
                writes.update(PODS, _without_finalizer(pod))
            elif phase == "Failed" or (common.is_deleting(pod) and not replace_failed_only):
                match = match_pod_failure_policy(job, pod) if phase == "Failed" else None
                if match is not None and match[0] == "Ignore":
                    pass
                elif match is not None and match[0] == "FailJob":
                    failed += 1
                    fail_job = fail_job or match[1]
                elif not (suspended or finished):
                    failed += 1
                writes.update(PODS, _without_finalizer(pod))
        active = [p for p in pods if common.is_pod_active(p)]
        terminating = [p for p in pods if common.is_deleting(p)
                       and not common.is_pod_terminal(p)]

        def delete_active() -> None:
            for pod in active:
                writes.delete(PODS, pod)
                writes.event(job, "Normal", "SuccessfulDelete",
                             f"Deleted pod: {common.name_of(pod)}", COMPONENT)

        if not finished:
            if not suspended and not status.get("startTime"):
                status["startTime"] = now
            on_failure_exceeded = _past_backoff_limit_on_failure(spec, pods, backoff_limit)
            complete = (len(done_indexes) >= int(completions) if indexed and completions
                        else succeeded >= int(completions) if completions is not None
                        else succeeded > 0 and not active)
            interim = condition_true(job, "FailureTarget") or \
                condition_true(job, "SuccessCriteriaMet")
            if not interim:
                if fail_job is not None:
                    _set_condition(conditions, "FailureTarget", "True", "PodFailurePolicy",
                                   fail_job, now)
                    writes.event(job, "Warning", "PodFailurePolicy", fail_job, COMPONENT)
                elif failed > backoff_limit or on_failure_exceeded:
                    _set_condition(conditions, "FailureTarget", "True",
                                   "BackoffLimitExceeded", MSG_BACKOFF, now)
                    writes.event(job, "Warning", "BackoffLimitExceeded", MSG_BACKOFF,
                                 COMPONENT)
                elif self._past_deadline(spec, status, clock):
                    _set_condition(conditions, "FailureTarget", "True", "DeadlineExceeded",
                                   MSG_DEADLINE, now)
                    writes.event(job, "Warning", "DeadlineExceeded", MSG_DEADLINE, COMPONENT)
                elif complete:
                    _set_condition(conditions, "SuccessCriteriaMet", "True",
                                   "CompletionsReached", MSG_COMPLETED, now)
            target = next((c for c in conditions if c.get("status") == "True"
                           and c.get("type") in ("FailureTarget", "SuccessCriteriaMet")), None)
            if target is not None:
                # Active pods go first; the final condition waits until none is left
                # terminating (``enactJobFinished``).
                if not terminating and not active:
                    final = "Failed" if target["type"] == "FailureTarget" else "Complete"
                    _set_condition(conditions, final, "True", target["reason"],
                                   target["message"], now)
                    if final == "Complete":
                        status["completionTime"] = now
                        writes.event(job, "Normal", "Completed", "Job completed", COMPONENT)
                delete_active()
                terminating += active
                active = []
            elif suspended:
                delete_active()
                terminating += active
                active = []
                if _set_condition(conditions, "Suspended", "True", "JobSuspended",
                                  "Job suspended", now):
                    writes.event(job, "Normal", "Suspended", "Job suspended", COMPONENT)
                status.pop("startTime", None)
            else:
                if condition_true(job, "Suspended"):
                    _set_condition(conditions, "Suspended", "False", "JobResumed",
                                   "Job resumed", now)
                    writes.event(job, "Normal", "Resumed", "Job resumed", COMPONENT)
                requeue = self._deadline_in(spec, status, clock)
                wait = self._backoff_left(failed, last_failure, clock)
                if wait > 0:
                    requeue = wait if requeue is None else min(requeue, wait)
                else:
                    active = self._manage(job, spec, active, succeeded, done_indexes, indexed,
                                          parallelism, writes, clock, pods)

        status["active"] = len(active)
        status["ready"] = sum(1 for p in active if common.is_pod_ready(p))
        status["terminating"] = len(terminating)
        status["succeeded"], status["failed"] = succeeded, failed
        if indexed:
            status["completedIndexes"] = format_indexes(done_indexes)
        status["uncountedTerminatedPods"] = {}
        if conditions:
            status["conditions"] = conditions
        for field in ("active", "succeeded", "failed"):
            if not status[field]:
                del status[field]
        if indexed and not status["completedIndexes"]:
            del status["completedIndexes"]
        if status != old_status:
            updated = deep_copy_json(job)
            updated["status"] = status
            writes.update_status(JOBS, updated)
        return Result(writes.actions(), requeue)

    @staticmethod
    def _past_deadline(spec: Obj, status: Obj, clock: Clock) -> bool:
        deadline = spec.get("activeDeadlineSeconds")
        start = parse_time(status.get("startTime"))
        if deadline is None or start is None or spec.get("suspend"):
            return False
        return clock.sim_elapsed(start) >= int(deadline)

    @staticmethod
    def _deadline_in(spec: Obj, status: Obj, clock: Clock) -> float | None:
        deadline = spec.get("activeDeadlineSeconds")
        start = parse_time(status.get("startTime"))
        if deadline is None or start is None:
            return None
        return max(int(deadline) - clock.sim_elapsed(start), 0.0) + 0.001

    @staticmethod
    def _backoff_left(failed: int, last_failure: datetime | None, clock: Clock) -> float:
        """Seconds until a pod may replace a failed one (10 s, doubling, at most 6 min)."""
        if failed <= 0 or last_failure is None:
            return 0.0
        delay = min(DEFAULT_BACKOFF * 2 ** (failed - 1), MAX_BACKOFF)
        return max(delay - clock.sim_elapsed(last_failure), 0.0)

    @staticmethod
    def _manage(job: Obj, spec: Obj, active: list[Obj], succeeded: int,
                done_indexes: set[int], indexed: bool, parallelism: int,
                writes: common.Writes, clock: Clock, pods: list[Obj]) -> list[Obj]:
        """``manageJob``: create pods up to the wanted number (or delete the excess)."""
        completions = spec.get("completions")
        if indexed:
            total = int(completions or 0)
            running = {pod_index(p) for p in active}
            want_new = max(min(parallelism - len(active), MAX_POD_CREATE_DELETE_PER_SYNC), 0)
            missing = (i for i in range(total) if i not in done_indexes and i not in running)
            plan: list[int | None] = list(itertools.islice(missing, want_new))
        else:
            if completions is None:
                wanted = 0 if succeeded > 0 else parallelism
            else:
                wanted = min(parallelism, int(completions) - succeeded)
            wanted = max(wanted, 0)
            if len(active) > wanted:
                excess = active[wanted:]
                for pod in excess[:MAX_POD_CREATE_DELETE_PER_SYNC]:
                    writes.delete(PODS, pod)
                    writes.event(job, "Normal", "SuccessfulDelete",
                                 f"Deleted pod: {common.name_of(pod)}", COMPONENT)
                return active[:wanted] + excess[MAX_POD_CREATE_DELETE_PER_SYNC:]
            plan = [None] * min(wanted - len(active), MAX_POD_CREATE_DELETE_PER_SYNC)
        taken = {common.name_of(p) for p in pods}
        created = list(active)
        for n, index in enumerate(plan):
            base = f"{common.name_of(job)}-" if index is None \
                else f"{common.name_of(job)}-{index}-"
            seed = f"{common.uid_of(job)}/{common.now_str(clock)}/{len(pods)}/{n}"
            name = common.generated_name(base, seed, taken)
            taken.add(name)
            pod = pod_from_template(job, name, index)
            writes.create(PODS, pod, on_error=RecordEvent(job, "Warning", "FailedCreate",
                                                          "Error creating: ", COMPONENT))
            writes.event(job, "Normal", "SuccessfulCreate", f"Created pod: {name}", COMPONENT)
            created.append(pod)
        return created

