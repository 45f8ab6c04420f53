"""The CronJob controller: a Job at each scheduled time, history kept to its limits.

Mirrors kube-controller-manager's ``pkg/controller/cronjob/cronjob_controllerv2.go``
(``syncCronJob``, ``cleanupFinishedJobs``, ``getJobFromTemplate2``) and ``utils.go``
(``mostRecentScheduleTime``, ``nextScheduleTime``), on the sandbox clock, so scheduled
minutes pass at the sandbox's speed:

* The most recent scheduled time after ``status.lastScheduleTime`` (or the CronJob's
  creation) that is not in the future starts a Job named ``<cronjob>-<minutes since the
  epoch>``, owned by the CronJob and annotated with
  ``batch.kubernetes.io/cronjob-scheduled-timestamp``; a time older than
  ``startingDeadlineSeconds`` is missed instead (``MissSchedule``).
* ``concurrencyPolicy``: ``Allow`` runs Jobs side by side, ``Forbid`` skips a time while one
  is active (``JobAlreadyActive``), ``Replace`` deletes the active ones first.
* ``suspend`` stops new Jobs, not running ones.
* ``status.active`` lists the unfinished Jobs it owns; a finished one leaves it
  (``SawCompletedJob``) and a successful one sets ``lastSuccessfulTime``; finished Jobs
  beyond ``successfulJobsHistoryLimit`` / ``failedJobsHistoryLimit`` are deleted, oldest
  first. A Job it did not schedule (``kubectl create job --from=cronjob/x`` owns it to the
  CronJob) is adopted into ``active`` with upstream's ``UnexpectedJob`` warning.

Schedules are parsed with croniter in the CronJob's ``timeZone`` (UTC, the controller
manager's zone here, when unset). :meth:`CronJobController.reconcile` is pure and asks to be
called again at the next scheduled time.

Simulated minutes: the sandbox's timestamps run at wall-clock pace while its durations run
``clock.speed`` times faster (a 10-minute progress deadline passes in 2 minutes at speed 5).
The schedule is read on the same compressed timeline: from midnight (UTC) of the CronJob's
creation day, ``t`` seconds of timestamps are ``t * speed`` seconds of schedule, so
``*/1 * * * *`` starts a Job every ``60 / speed`` seconds. Job names count scheduled
minutes on that timeline; ``lastScheduleTime`` and the scheduled-timestamp annotation are
the timestamps at which the times fell, so AGE-style columns stay true. At speed 1 this is
upstream's behaviour exactly. (Timestamps have whole seconds, so above speed 60 a schedule
time can be recovered a minute early; the Job name check still prevents a second Job.)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter

from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies.cronjob import (
    schedule_error,
    standard_schedule,
    time_zone_error,
)
from kubelab.sandbox.clock import Clock, parse_time, rfc3339
from kubelab.sandbox.controllers import common
from kubelab.sandbox.controllers.job import JOBS, condition_true, finished_at, is_finished
from kubelab.sandbox.reconcile.types import Key, Obj, RecordEvent, Result, Snapshot

CRONJOBS = kinds.resource("cronjobs.batch")
COMPONENT = "cronjob-controller"
SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
MAX_MISSED = 100


def _zone(cronjob: Obj) -> tzinfo | None:
    name = (cronjob.get("spec") or {}).get("timeZone")
    if name is None:
        return UTC
    if time_zone_error(name) is not None:
        return None
    return ZoneInfo(name)


def most_recent_schedule(schedule: str, zone: tzinfo, earliest: datetime,
                         now: datetime) -> tuple[datetime | None, int, datetime]:
    """``mostRecentScheduleTime``: the latest time in (earliest, now], how many such times
    were missed (capped), and the next time after ``now``."""
    expr = standard_schedule(schedule)
    it = croniter(expr, earliest.astimezone(zone))
    latest: datetime | None = None
    missed = 0
    while True:
        t: datetime = it.get_next(datetime)
        if t > now:
            return latest, missed, t
        latest = t
        missed += 1
        if missed > MAX_MISSED:
            # Too many to walk: jump to the last one before now (upstream estimates too).
            back = croniter(expr, now.astimezone(zone))
            latest = back.get_prev(datetime)
            return latest, missed, croniter(expr, now.astimezone(zone)).get_next(datetime)


def _origin(cronjob: Obj) -> datetime:
    created = common.created_at(cronjob).astimezone(UTC)
    return created.replace(hour=0, minute=0, second=0, microsecond=0)


def to_schedule_time(t: datetime, origin: datetime, speed: float) -> datetime:
    """A timestamp on the schedule's (compressed) timeline."""
    return origin + (t - origin) * speed


def from_schedule_time(t: datetime, origin: datetime, speed: float) -> datetime:
    """The timestamp at which a time of the schedule's timeline falls."""
    return origin + (t - origin) / speed


def job_name(cronjob: Obj, scheduled: datetime) -> str:
    """``getJobName``: ``<cronjob>-<scheduled time in minutes since the epoch>``."""
    return f"{common.name_of(cronjob)}-{int(scheduled.timestamp()) // 60}"


def job_from_template(cronjob: Obj, scheduled: datetime, at: datetime) -> Obj:
    """``getJobFromTemplate2``: the template's labels, annotations and spec, owned by the
    CronJob, with the scheduled time (``at``: its timestamp) as an annotation."""
    template = (cronjob.get("spec") or {}).get("jobTemplate") or {}
    tmeta = template.get("metadata") or {}
    metadata: Obj = {"name": job_name(cronjob, scheduled),
                     "namespace": common.namespace_of(cronjob)}
    if tmeta.get("labels"):
        metadata["labels"] = deep_copy_json(tmeta["labels"])
    metadata["annotations"] = {**deep_copy_json(tmeta.get("annotations") or {}),
                               SCHEDULED_TIMESTAMP: rfc3339(at)}
    metadata["ownerReferences"] = [common.new_controller_ref(cronjob, CRONJOBS)]
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata,
            "spec": deep_copy_json(template.get("spec") or {})}


def _job_ref(job: Obj) -> dict[str, Any]:
    meta = job.get("metadata", {})
    return {"kind": "Job", "namespace": meta.get("namespace", ""),
            "name": meta.get("name", ""), "uid": meta.get("uid", ""),
            "apiVersion": "batch/v1", "resourceVersion": meta.get("resourceVersion", "")}


def _start_key(job: Obj) -> tuple[int, datetime, str]:
    """``byJobStartTime``: by ``status.startTime`` (jobs without one last), then name."""
    start = parse_time((job.get("status") or {}).get("startTime"))
    return (0 if start else 1, start or common.created_at(job), common.name_of(job))


class CronJobController:
    """``cronjob-controller``: CronJobs → Jobs on schedule."""

    name = COMPONENT
    watches: tuple[KindInfo, ...] = (CRONJOBS, JOBS)

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        if info == CRONJOBS:
            yield Key.of(info, obj)
            return
        ref = common.controller_ref(obj)
        if ref is not None and ref.get("kind") == "CronJob":
            yield Key(CRONJOBS.group_resource, common.namespace_of(obj), str(ref.get("name")))

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        cronjob = snapshot.get(CRONJOBS, key.namespace, key.name)
        if cronjob is None:
            return Result()
        writes = common.Writes()
        uid = common.uid_of(cronjob)
        owned = [j for j in snapshot.list(JOBS, key.namespace)
                 if (common.controller_ref(j) or {}).get("uid") == uid]
        spec = cronjob.get("spec") or {}
        old_status = cronjob.get("status") or {}
        status: Obj = deep_copy_json(old_status)
        last_schedule = parse_time(status.get("lastScheduleTime"))

        # The active list: owned, unfinished Jobs; finished ones leave it.
        active_uids = {ref.get("uid") for ref in status.get("active") or []}
        active: list[dict[str, Any]] = []
        for job in common.by_creation(owned):
            if is_finished(job):
                if common.uid_of(job) in active_uids:
                    ctype = "Complete" if condition_true(job, "Complete") else "Failed"
                    writes.event(cronjob, "Normal", "SawCompletedJob",
                                 f"Saw completed job: {common.name_of(job)}, condition: "
                                 f"{ctype}", COMPONENT)
                if condition_true(job, "Complete"):
                    done = finished_at(job)
                    prior = parse_time(status.get("lastSuccessfulTime"))
                    if done is not None and (prior is None or done > prior):
                        status["lastSuccessfulTime"] = rfc3339(done)
                continue
            if common.is_deleting(job):
                continue
            if common.uid_of(job) not in active_uids \
                    and SCHEDULED_TIMESTAMP not in common.annotations_of(job):
                writes.event(cronjob, "Warning", "UnexpectedJob",
                             "Saw a job that the controller did not create or forgot: "
                             f"{common.name_of(job)}", COMPONENT)
            active.append(_job_ref(job))

        self._cleanup(cronjob, owned, writes)

        requeue: float | None = None
        now = clock.now()
        zone = _zone(cronjob)
        schedule = str(spec.get("schedule") or "")
        if common.is_deleting(cronjob) or spec.get("suspend"):
            pass
        elif zone is None:
            writes.event(cronjob, "Warning", "UnknownTimeZone",
                         f"invalid timeZone: {spec.get('timeZone')!r}: unknown time zone "
                         f"{spec.get('timeZone')}", COMPONENT)
        elif schedule_error(schedule) is not None:
            writes.event(cronjob, "Warning", "InvalidSchedule",
                         f"invalid schedule: {schedule} : {schedule_error(schedule)}",
                         COMPONENT)
        else:
            speed = float(getattr(clock, "speed", 1.0) or 1.0)
            origin = _origin(cronjob)
            now_s = to_schedule_time(now, origin, speed)
            if last_schedule is not None:
                earliest = to_schedule_time(last_schedule, origin, speed)
                if speed != 1.0 and (earliest.second or earliest.microsecond):
                    # The stored timestamp lost its fraction: back to the minute it was.
                    earliest = earliest.replace(second=0, microsecond=0) + timedelta(minutes=1)
            else:
                earliest = to_schedule_time(common.created_at(cronjob), origin, speed)
            deadline = spec.get("startingDeadlineSeconds")
            if deadline is not None:
                earliest = max(earliest, now_s - timedelta(seconds=int(deadline)))
            scheduled, missed, upcoming = most_recent_schedule(schedule, zone, earliest, now_s)
            requeue = (upcoming - now_s).total_seconds() + 0.001
            if missed > MAX_MISSED:
                writes.event(cronjob, "Warning", "TooManyMissedTimes",
                             "too many missed start times. Set or decrease "
                             ".spec.startingDeadlineSeconds or check clock skew", COMPONENT)
            if scheduled is not None:
                at = from_schedule_time(scheduled.astimezone(UTC), origin, speed)
                self._start(cronjob, scheduled, at, active, owned, status, writes)

        if active:
            status["active"] = active
        else:
            status.pop("active", None)
        if status != old_status:
            updated = deep_copy_json(cronjob)
            updated["status"] = status
            writes.update_status(CRONJOBS, updated)
        return Result(writes.actions(), requeue)

    @staticmethod
    def _start(cronjob: Obj, scheduled: datetime, at: datetime, active: list[dict[str, Any]],
               owned: list[Obj], status: Obj, writes: common.Writes) -> None:
        policy = (cronjob.get("spec") or {}).get("concurrencyPolicy") or "Allow"
        if policy == "Forbid" and active:
            writes.event(cronjob, "Normal", "JobAlreadyActive",
                         "Not starting job because prior execution is running and "
                         "concurrency policy is Forbid", COMPONENT)
            return
        if policy == "Replace":
            for ref in list(active):
                job = next((j for j in owned if common.uid_of(j) == ref.get("uid")), None)
                if job is None:
                    continue
                writes.delete(JOBS, job)
                writes.event(cronjob, "Normal", "SuccessfulDelete",
                             f"Deleted job {common.name_of(job)}", COMPONENT)
                active.remove(ref)
        job = job_from_template(cronjob, scheduled, at)
        name = job["metadata"]["name"]
        if not any(common.name_of(j) == name for j in owned):
            writes.create(JOBS, job, on_error=RecordEvent(
                cronjob, "Warning", "FailedCreate", "Error creating job: ", COMPONENT))
            writes.event(cronjob, "Normal", "SuccessfulCreate", f"Created job {name}",
                         COMPONENT)
        status["lastScheduleTime"] = rfc3339(at)

    @staticmethod
    def _cleanup(cronjob: Obj, owned: list[Obj], writes: common.Writes) -> None:
        """``cleanupFinishedJobs``: keep the newest finished Jobs up to each limit."""
        spec = cronjob.get("spec") or {}
        for ctype, field in (("Complete", "successfulJobsHistoryLimit"),
                             ("Failed", "failedJobsHistoryLimit")):
            limit = spec.get(field)
            if limit is None:
                continue
            finished = sorted((j for j in owned if condition_true(j, ctype)
                               and not common.is_deleting(j)), key=_start_key)
            for job in finished[:max(len(finished) - int(limit), 0)]:
                writes.delete(JOBS, job)
                writes.event(cronjob, "Normal", "SuccessfulDelete",
                             f"Deleted job {common.name_of(job)}", COMPONENT)
