"""The CronJob controller on the real registry with a manual clock.

Upstream: ``pkg/controller/cronjob/cronjob_controllerv2.go`` (a Job per scheduled time,
named by the scheduled minute, ``concurrencyPolicy``, ``suspend``,
``startingDeadlineSeconds``, ``status.active`` / ``lastScheduleTime`` /
``lastSuccessfulTime``, the history limits) and the API's validation of schedules and time
zones (``ValidateCronJobCreate``).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sandbox.controllers.controller_fakes import Cluster

from kubelab.sandbox.api import errors, kinds
from kubelab.sandbox.clock import ManualClock, rfc3339
from kubelab.sandbox.controllers.cronjob import CronJobController, most_recent_schedule
from kubelab.sandbox.reconcile.types import Key, Obj

CRONJOBS = kinds.resource("cronjobs.batch")
JOBS = kinds.resource("jobs.batch")
KEY = Key("cronjobs.batch", "default", "hello")


def cronjob(schedule: str = "*/1 * * * *", **spec: Any) -> Obj:
    return {"metadata": {"name": "hello", "namespace": "default"},
            "spec": {"schedule": schedule, **spec, "jobTemplate": {"spec": {"template": {
                "spec": {"restartPolicy": "OnFailure",
                         "containers": [{"name": "hello", "image": "busybox",
                                         "command": ["sh", "-c", "date; echo Hello"]}]}}}}}}


def jobs(cluster: Cluster) -> list[Obj]:
    return sorted(cluster.list(JOBS, "default"), key=lambda j: j["metadata"]["name"])


def finish_job(cluster: Cluster, job: Obj, clock: ManualClock, ctype: str = "Complete") -> None:
    job = copy.deepcopy(job)
    now = rfc3339(clock.now())
    job["status"] = {"startTime": now, "conditions": [
        {"type": ctype, "status": "True", "lastTransitionTime": now, "reason": "x"}]}
    if ctype == "Complete":
        job["status"]["completionTime"] = now
    cluster.update_status(JOBS, job)


def cj_status(cluster: Cluster) -> Obj:
    found = cluster.get(CRONJOBS, "default", "hello")
    assert found is not None
    return dict(found.get("status") or {})


@pytest.fixture
def cluster(clock: ManualClock) -> Cluster:
    # Start a few seconds past a minute, as a learner's cluster would be.
    clock.advance(12)
    return Cluster(clock)


def test_a_job_every_minute_named_by_the_scheduled_minute(cluster: Cluster,
                                                          clock: ManualClock) -> None:
    cluster.add(CRONJOBS, cronjob())
    controller = CronJobController()
    result = cluster.run(controller, KEY)
    assert jobs(cluster) == []
    assert result.requeue_after is not None and 0 < result.requeue_after <= 60
    clock.advance(result.requeue_after)
    cluster.run(controller, KEY)
    [job] = jobs(cluster)
    minute = clock.now().replace(second=0, microsecond=0)
    assert job["metadata"]["name"] == f"hello-{int(minute.timestamp()) // 60}"
    assert job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] \
        == rfc3339(minute)
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][-1] == \
        "date; echo Hello"
    assert cj_status(cluster)["lastScheduleTime"] == rfc3339(minute)
    cluster.run(controller, KEY)  # the Job's ADDED event: it joins status.active
    [ref] = cj_status(cluster)["active"]
    assert (ref["name"], ref["uid"]) == (job["metadata"]["name"], job["metadata"]["uid"])
    assert cluster.events("SuccessfulCreate") == [f"Created job {job['metadata']['name']}"]
    assert cluster.events("UnexpectedJob") == []

    finish_job(cluster, job, clock)
    cluster.run(controller, KEY)
    assert "active" not in cj_status(cluster)
    assert cj_status(cluster)["lastSuccessfulTime"] == rfc3339(clock.now())
    assert cluster.events("SawCompletedJob") == [
        f"Saw completed job: {job['metadata']['name']}, condition: Complete"]
    clock.advance(60)
    cluster.run(controller, KEY)
    assert len(jobs(cluster)) == 2


def test_history_limits_prune_the_oldest_finished_jobs(cluster: Cluster,
                                                      clock: ManualClock) -> None:
    cluster.add(CRONJOBS, cronjob(successfulJobsHistoryLimit=2, failedJobsHistoryLimit=1))
    controller = CronJobController()
    for minute in range(5):
        clock.advance(60)
        cluster.run(controller, KEY)
        newest = jobs(cluster)[-1]
        finish_job(cluster, newest, clock, "Failed" if minute in (0, 1) else "Complete")
        clock.advance(1)
        cluster.run(controller, KEY)
    names = [j["metadata"]["name"] for j in jobs(cluster)
             if not j["metadata"].get("deletionTimestamp")]
    assert len(names) == 3  # 2 succeeded + 1 failed
    assert len(cluster.events("SuccessfulDelete")) == 2


def test_forbid_skips_while_a_job_runs_and_replace_replaces_it(cluster: Cluster,
                                                              clock: ManualClock) -> None:
    cluster.add(CRONJOBS, cronjob(concurrencyPolicy="Forbid"))
    controller = CronJobController()
    clock.advance(60)
    cluster.run(controller, KEY)
    cluster.run(controller, KEY)
    clock.advance(60)
    cluster.run(controller, KEY)
    [first] = jobs(cluster)
    assert cluster.events("JobAlreadyActive") == [
        "Not starting job because prior execution is running and concurrency policy is Forbid"]

    stored = cluster.get(CRONJOBS, "default", "hello")
    assert stored is not None
    stored["spec"]["concurrencyPolicy"] = "Replace"
    cluster.update(CRONJOBS, stored)
    clock.advance(60)
    cluster.run(controller, KEY)
    assert len(cluster.events("SuccessfulDelete")) == 1
    live = [j for j in jobs(cluster) if not j["metadata"].get("deletionTimestamp")]
    assert len(live) == 1 and live[0]["metadata"]["name"] != first["metadata"]["name"]


def test_suspend_stops_new_jobs(cluster: Cluster, clock: ManualClock) -> None:
    cluster.add(CRONJOBS, cronjob(suspend=True))
    clock.advance(180)
    result = cluster.run(CronJobController(), KEY)
    assert jobs(cluster) == [] and result.requeue_after is None


def test_starting_deadline_skips_times_too_long_ago(cluster: Cluster,
                                                   clock: ManualClock) -> None:
    cluster.add(CRONJOBS, cronjob("0 * * * *", startingDeadlineSeconds=30))
    clock.advance(3600 + 45)  # the hour passed 45 s ago: outside the 30 s window
    cluster.run(CronJobController(), KEY)
    assert jobs(cluster) == []


def test_a_manual_job_from_the_cronjob_is_adopted_with_a_warning(cluster: Cluster,
                                                                 clock: ManualClock) -> None:
    stored = cluster.add(CRONJOBS, cronjob("0 0 1 1 *"))
    manual = {"metadata": {"name": "manual", "namespace": "default",
                           "annotations": {"cronjob.kubernetes.io/instantiate": "manual"},
                           "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob",
                                                "name": "hello",
                                                "uid": stored["metadata"]["uid"],
                                                "controller": True}]},
              "spec": copy.deepcopy(stored["spec"]["jobTemplate"]["spec"])}
    cluster.add(JOBS, manual)
    cluster.run(CronJobController(), KEY)
    assert [r["name"] for r in cj_status(cluster)["active"]] == ["manual"]
    assert cluster.events("UnexpectedJob") == [
        "Saw a job that the controller did not create or forgot: manual"]


def test_schedules_in_a_time_zone_and_descriptors() -> None:
    start = datetime(2026, 3, 1, 7, 30, tzinfo=UTC)
    latest, missed, upcoming = most_recent_schedule(
        "0 9 * * *", ZoneInfo("Europe/Berlin"), start,
        start + timedelta(hours=1))
    # 09:00 in Berlin (UTC+1 in March before DST) is 08:00 UTC.
    assert latest is not None and latest.astimezone(UTC) == datetime(2026, 3, 1, 8, 0,
                                                                     tzinfo=UTC)
    assert missed == 1
    assert upcoming.astimezone(UTC) == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    latest, _, _ = most_recent_schedule("@hourly", UTC, start, start + timedelta(hours=2))
    assert latest == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("spec", "message"), [
    ({"schedule": "* * *"},
     'spec.schedule: Invalid value: "* * *": expected exactly 5 fields, found 3: [* * *]'),
    ({"schedule": "61 * * * *"},
     'spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61'),
    ({"timeZone": "Mars/Olympus"},
     'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus'),
    ({"concurrencyPolicy": "Sometimes"},
     'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", '
     '"Forbid", "Replace"'),
])
def test_the_api_refuses_bad_cronjobs_with_upstream_wording(
        cluster: Cluster, spec: dict[str, Any], message: str) -> None:
    body = cronjob()
    body["spec"].update(spec)
    with pytest.raises(errors.ApiError) as raised:
        cluster.add(CRONJOBS, body)
    assert message in raised.value.message


def test_a_job_without_restart_policy_is_refused(cluster: Cluster) -> None:
    body = {"metadata": {"name": "pi", "namespace": "default"},
            "spec": {"template": {"spec": {"containers": [{"name": "pi", "image": "perl"}]}}}}
    with pytest.raises(errors.ApiError) as raised:
        cluster.add(JOBS, body)
    assert 'spec.template.spec.restartPolicy: Unsupported value: "Always": supported ' \
        'values: "OnFailure", "Never"' in raised.value.message


def test_scheduled_minutes_pass_at_the_sandbox_speed(cluster: Cluster,
                                                    clock: ManualClock) -> None:
    clock.speed = 5.0  # a simulated minute is 12 seconds of timestamps
    cluster.add(CRONJOBS, cronjob())
    controller = CronJobController()
    result = cluster.run(controller, KEY)
    assert result.requeue_after is not None and result.requeue_after <= 60.01
    names = []
    for _ in range(3):
        clock.advance(12)
        cluster.run(controller, KEY)
        names = [j["metadata"]["name"] for j in jobs(cluster)]
    minutes = sorted(int(n.rsplit("-", 1)[1]) for n in names)
    assert len(minutes) == 3 and minutes[2] - minutes[0] == 2
    last = cj_status(cluster)["lastScheduleTime"]
    assert last <= rfc3339(clock.now())
