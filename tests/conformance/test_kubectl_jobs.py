"""Jobs and CronJobs with the real kubectl, following kubernetes.io's "Running an example
Job" and "Running Automated Tasks with a CronJob" steps.

Upstream: the Job controller (``pkg/controller/job``) runs pods to completion and sets
``SuccessCriteriaMet`` then ``Complete`` (or ``FailureTarget`` then ``Failed`` with
``BackoffLimitExceeded``); the CronJob controller (``pkg/controller/cronjob``) creates a Job
per scheduled minute and prunes finished ones beyond the history limits; kubectl's printers
come from the API server (``printJob``: NAME STATUS COMPLETIONS DURATION AGE,
``printCronJob``: NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE). The sandbox runs
at its test speed, so simulated minutes pass in about a second.
"""

from __future__ import annotations

import itertools
import json

import pytest
from conformance.support import manifest, wait_for
from sandbox_support import SandboxHandle

pytestmark = pytest.mark.slow

PI_DIGITS = "3.14159265358979323846264338327950288419716939937510"


def _json(sb: SandboxHandle, *args: str) -> dict:  # type: ignore[type-arg]
    return json.loads(sb.kubectl(*args, "-o", "json").stdout)


def test_the_pi_job_tutorial(cluster_sandbox: SandboxHandle) -> None:
    sb = cluster_sandbox
    assert sb.kubectl("apply", "-f", manifest("job-pi.yaml")).stdout.strip() == \
        "job.batch/pi created"
    sb.kubectl("wait", "--for=condition=complete", "job/pi", "--timeout=120s", timeout=150)

    lines = sb.kubectl("get", "job", "pi").stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert lines[1].split()[:3] == ["pi", "Complete", "1/1"]

    describe = sb.kubectl("describe", "job", "pi").stdout
    assert "batch.kubernetes.io/job-name=pi" in describe
    assert "Pods Statuses:    0 Active (0 Ready) / 1 Succeeded / 0 Failed" in describe
    assert "SuccessfulCreate" in describe and "Created pod: pi-" in describe
    assert "Completed" in describe and "Job completed" in describe

    pods = sb.kubectl("get", "pods", "--selector=batch.kubernetes.io/job-name=pi",
                      "--output=jsonpath={.items[*].metadata.name}").stdout.split()
    assert len(pods) == 1 and pods[0].startswith("pi-")
    pod = _json(sb, "get", "pod", pods[0])
    assert pod["status"]["phase"] == "Succeeded"
    assert "finalizers" not in pod["metadata"]
    assert pod["metadata"]["labels"]["job-name"] == "pi"
    logs = sb.kubectl("logs", "job/pi").stdout
    assert logs.startswith(PI_DIGITS), logs[:80]

    job = _json(sb, "get", "job", "pi")
    status = job["status"]
    assert [c["type"] for c in status["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    assert status["succeeded"] == 1 and status["ready"] == 0
    assert status["uncountedTerminatedPods"] == {}
    assert status["startTime"] <= status["completionTime"]


def test_create_job_and_wait(cluster_sandbox: SandboxHandle) -> None:
    sb = cluster_sandbox
    out = sb.kubectl("create", "job", "hello", "--image=busybox", "--", "sh", "-c",
                     "echo done").stdout
    assert out.strip() == "job.batch/hello created"
    waited = sb.kubectl("wait", "--for=condition=complete", "job/hello", "--timeout=120s",
                        timeout=150).stdout
    assert waited.strip() == "job.batch/hello condition met"
    assert sb.kubectl("logs", "job/hello").stdout == "done\n"


def test_a_failing_job_reaches_backoff_limit_exceeded(cluster_sandbox: SandboxHandle) -> None:
    sb = cluster_sandbox
    body = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "fails"},
            "spec": {"backoffLimit": 1, "template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "c", "image": "busybox",
                                "command": ["sh", "-c", "exit 3"]}]}}}}
    sb.kubectl("apply", "-f", "-", input=json.dumps(body))
    sb.kubectl("wait", "--for=condition=failed", "job/fails", "--timeout=180s", timeout=200)
    status = _json(sb, "get", "job", "fails")["status"]
    failed = {c["type"]: c for c in status["conditions"]}["Failed"]
    assert (failed["reason"], failed["message"]) == (
        "BackoffLimitExceeded", "Job has reached the specified backoff limit")
    assert status["failed"] == 2
    assert sb.kubectl("get", "job", "fails", "--no-headers").stdout.split()[1] == "Failed"
    events = sb.kubectl("get", "events", "--field-selector=involvedObject.name=fails").stdout
    assert "BackoffLimitExceeded" in events


def test_a_cronjob_makes_a_job_every_minute_and_keeps_its_history(
        cluster_sandbox: SandboxHandle) -> None:
    sb = cluster_sandbox
    body = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "hello-cron"},
            "spec": {"schedule": "*/1 * * * *", "successfulJobsHistoryLimit": 2,
                     "jobTemplate": {"spec": {"template": {"spec": {
                         "restartPolicy": "OnFailure",
                         "containers": [{"name": "hello", "image": "busybox",
                                         "command": ["/bin/sh", "-c",
                                                     "date; echo Hello from the Kubernetes "
                                                     "cluster"]}]}}}}}}
    sb.kubectl("create", "-f", "-", input=json.dumps(body))
    header = sb.kubectl("get", "cronjob", "hello-cron").stdout.splitlines()[0]
    assert header.split() == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE",
                              "LAST", "SCHEDULE", "AGE"]

    def completed() -> list[str]:
        items = _json(sb, "get", "jobs")["items"]
        return sorted(j["metadata"]["name"] for j in items
                      if j["metadata"]["name"].startswith("hello-cron-")
                      and any(c["type"] == "Complete" and c["status"] == "True"
                              for c in j.get("status", {}).get("conditions", [])))

    seen: set[str] = set()

    def three_seen() -> bool:
        seen.update(completed())
        return len(seen) >= 3

    wait_for(three_seen, timeout=90, what="three completed Jobs of the CronJob")
    minutes = sorted(int(n.rsplit("-", 1)[1]) for n in seen)
    assert all(b - a == 1 for a, b in itertools.pairwise(minutes)), minutes
    wait_for(lambda: len(completed()) <= 2, timeout=30, what="history pruned to two")
    cj = _json(sb, "get", "cronjob", "hello-cron")
    assert cj["status"]["lastScheduleTime"] and cj["status"]["lastSuccessfulTime"]
    newest = completed()[-1]
    assert "Hello from the Kubernetes cluster" in sb.kubectl("logs", f"job/{newest}").stdout

    out = sb.kubectl("create", "job", "manual-run", "--from=cronjob/hello-cron").stdout
    assert out.strip() == "job.batch/manual-run created"
    manual = _json(sb, "get", "job", "manual-run")
    assert manual["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert manual["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    sb.kubectl("wait", "--for=condition=complete", "job/manual-run", "--timeout=60s",
               timeout=80)
    sb.kubectl("patch", "cronjob", "hello-cron", "-p", '{"spec":{"suspend":true}}')
    row = sb.kubectl("get", "cj", "hello-cron", "--no-headers").stdout.split()
    assert row[6:8] == ["<none>", "True"]  # after the five fields of the schedule


def test_an_indexed_job_gives_each_pod_its_index(cluster_sandbox: SandboxHandle) -> None:
    sb = cluster_sandbox
    body = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "idx"},
            "spec": {"completions": 3, "parallelism": 2, "completionMode": "Indexed",
                     "template": {"spec": {"restartPolicy": "Never", "containers": [{
                         "name": "c", "image": "busybox",
                         "command": ["sh", "-c", "echo index $JOB_COMPLETION_INDEX"]}]}}}}
    sb.kubectl("apply", "-f", "-", input=json.dumps(body))
    sb.kubectl("wait", "--for=condition=complete", "job/idx", "--timeout=120s", timeout=150)
    assert _json(sb, "get", "job", "idx")["status"]["completedIndexes"] == "0-2"
    logs = sb.kubectl("logs", "-l", "batch.kubernetes.io/job-name=idx").stdout.split("\n")
    assert sorted(line for line in logs if line) == ["index 0", "index 1", "index 2"]
    assert "Completed Indexes:  0-2" in sb.kubectl("describe", "job", "idx").stdout


def test_a_suspended_job_starts_when_resumed(cluster_sandbox: SandboxHandle) -> None:
    sb = cluster_sandbox
    body = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "later"},
            "spec": {"suspend": True, "template": {"spec": {"restartPolicy": "Never",
                                                             "containers": [{
                                                                 "name": "c", "image": "busybox",
                                                                 "command": ["true"]}]}}}}
    sb.kubectl("apply", "-f", "-", input=json.dumps(body))
    wait_for(lambda: sb.kubectl("get", "job", "later", "--no-headers").stdout.split()[1]
             == "Suspended", what="the Suspended condition")
    assert sb.kubectl("get", "pods", "-l", "batch.kubernetes.io/job-name=later",
                      "-o", "name").stdout == ""
    sb.kubectl("patch", "job", "later", "-p", '{"spec":{"suspend":false}}')
    sb.kubectl("wait", "--for=condition=complete", "job/later", "--timeout=120s", timeout=150)
    reasons = {c["type"]: c["reason"] for c in
               _json(sb, "get", "job", "later")["status"]["conditions"]}
    assert reasons["Suspended"] == "JobResumed"
