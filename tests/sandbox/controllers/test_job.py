"""The Job and TTL-after-finished controllers on the real registry with a manual clock.

Upstream: ``pkg/controller/job/job_controller.go`` (pods with the tracking finalizer,
counting finished pods once, ``SuccessCriteriaMet`` then ``Complete``, ``FailureTarget``
then ``Failed`` for ``BackoffLimitExceeded`` / ``DeadlineExceeded`` / a ``FailJob`` rule,
suspension, indexed completions) and ``pkg/controller/ttlafterfinished``. Pods finish here
as their kubelet would report it (``phase`` and a terminated container).
"""

from __future__ import annotations

import copy
from typing import Any

from sandbox.controllers.controller_fakes import Cluster

from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock, rfc3339
from kubelab.sandbox.controllers.garbage_collector import GarbageCollector
from kubelab.sandbox.controllers.job import (
    JobController,
    format_indexes,
    parse_indexes,
)
from kubelab.sandbox.controllers.ttl_after_finished import TTLAfterFinishedController
from kubelab.sandbox.reconcile.types import Key, Obj

JOBS = kinds.resource("jobs.batch")
PODS = kinds.core("pods")


def job(name: str = "pi", restart: str = "Never", **spec: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": "default"},
            "spec": {**spec, "template": {"spec": {
                "restartPolicy": restart,
                "containers": [{"name": "pi", "image": "perl:5.34.0"}]}}}}


def key(name: str = "pi") -> Key:
    return Key("jobs.batch", "default", name)


def pods_of(cluster: Cluster, name: str = "pi") -> list[Obj]:
    return [p for p in cluster.list(PODS, "default")
            if p["metadata"].get("labels", {}).get("batch.kubernetes.io/job-name") == name]


def unfinished(cluster: Cluster) -> list[Obj]:
    return [p for p in pods_of(cluster)
            if p.get("status", {}).get("phase") not in ("Succeeded", "Failed")]


def finish(cluster: Cluster, pod: Obj, clock: ManualClock, code: int = 0,
           restarts: int = 0) -> None:
    pod = copy.deepcopy(pod)
    now = rfc3339(clock.now())
    if code == 0 or pod["spec"].get("restartPolicy") == "Never":
        pod["status"] = {"phase": "Succeeded" if code == 0 else "Failed",
                         "containerStatuses": [{"name": "pi", "restartCount": restarts,
                                                "state": {"terminated": {
                                                    "exitCode": code, "finishedAt": now}}}]}
    else:
        pod["status"] = {"phase": "Running", "containerStatuses": [{
            "name": "pi", "restartCount": restarts, "state": {"running": {"startedAt": now}}}]}
    cluster.update_status(PODS, pod)


def status(cluster: Cluster, name: str = "pi") -> Obj:
    found = cluster.get(JOBS, "default", name)
    assert found is not None
    return dict(found.get("status") or {})


def condition_types(cluster: Cluster, name: str = "pi") -> list[tuple[str, str, str]]:
    return [(c["type"], c["status"], c.get("reason", ""))
            for c in status(cluster, name).get("conditions", [])]


def test_the_api_generates_the_selector_and_pod_labels_from_the_uid(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    stored = cluster.add(JOBS, job())
    uid = stored["metadata"]["uid"]
    assert stored["spec"]["selector"] == {"matchLabels": {
        "batch.kubernetes.io/controller-uid": uid}}
    assert stored["spec"]["template"]["metadata"]["labels"] == {
        "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "pi",
        "controller-uid": uid, "job-name": "pi"}
    assert (stored["spec"]["backoffLimit"], stored["spec"]["completions"],
            stored["spec"]["parallelism"], stored["spec"]["completionMode"]) == \
        (6, 1, 1, "NonIndexed")


def test_a_job_runs_one_pod_to_completion(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(JOBS, job())
    cluster.run(JobController(), key())
    [pod] = pods_of(cluster)
    assert pod["metadata"]["finalizers"] == ["batch.kubernetes.io/job-tracking"]
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "Job"
    assert pod["metadata"]["name"].startswith("pi-")
    first = status(cluster)
    assert first["active"] == 1 and first["ready"] == 0 and first["startTime"]
    assert first["uncountedTerminatedPods"] == {}
    assert cluster.events("SuccessfulCreate") == [f"Created pod: {pod['metadata']['name']}"]

    clock.advance(7)
    finish(cluster, pod, clock)
    cluster.run(JobController(), key())
    done = status(cluster)
    assert done["succeeded"] == 1 and "active" not in done
    assert condition_types(cluster) == [("SuccessCriteriaMet", "True", "CompletionsReached"),
                                        ("Complete", "True", "CompletionsReached")]
    assert done["completionTime"] == rfc3339(clock.now())
    assert "finalizers" not in pods_of(cluster)[0]["metadata"]
    assert cluster.events("Completed") == ["Job completed"]
    # Counted once: another sync changes nothing.
    result = cluster.run(JobController(), key())
    assert result.actions == [] and status(cluster)["succeeded"] == 1


def test_completions_and_parallelism(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(JOBS, job(completions=5, parallelism=2))
    cluster.run(JobController(), key())
    assert len(pods_of(cluster)) == 2
    for _ in range(10):
        running = unfinished(cluster)
        if not running:
            break
        finish(cluster, running[0], clock)
        cluster.run(JobController(), key())
    assert status(cluster)["succeeded"] == 5
    assert len(pods_of(cluster)) == 5
    assert ("Complete", "True", "CompletionsReached") in condition_types(cluster)


def test_failed_pods_beyond_backoff_limit_fail_the_job(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(JOBS, job(backoffLimit=1))
    controller = JobController()
    cluster.run(controller, key())
    finish(cluster, pods_of(cluster)[0], clock, code=1)
    result = cluster.run(controller, key())
    assert status(cluster)["failed"] == 1
    # The replacement waits the pod backoff (10 s after the failure).
    assert len(pods_of(cluster)) == 1 and result.requeue_after is not None
    assert 9 < result.requeue_after <= 10
    clock.advance(10)
    cluster.run(controller, key())
    second = unfinished(cluster)
    assert len(second) == 1
    finish(cluster, second[0], clock, code=2)
    cluster.run(controller, key())
    assert status(cluster)["failed"] == 2
    assert condition_types(cluster) == [("FailureTarget", "True", "BackoffLimitExceeded"),
                                        ("Failed", "True", "BackoffLimitExceeded")]
    assert cluster.events("BackoffLimitExceeded") == [
        "Job has reached the specified backoff limit"]
    assert "completionTime" not in status(cluster)


def test_on_failure_restarts_count_against_the_backoff_limit(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(JOBS, job(restart="OnFailure", backoffLimit=2))
    cluster.run(JobController(), key())
    [pod] = pods_of(cluster)
    finish(cluster, pod, clock, code=1, restarts=1)
    cluster.run(JobController(), key())
    assert condition_types(cluster) == []
    # pastBackoffLimitOnFailure: restarts >= backoffLimit
    finish(cluster, pods_of(cluster)[0], clock, code=1, restarts=2)
    cluster.run(JobController(), key())
    assert ("FailureTarget", "True", "BackoffLimitExceeded") in condition_types(cluster)
    assert pods_of(cluster)[0]["metadata"].get("deletionTimestamp")


def test_active_deadline_fails_the_job_and_deletes_its_pods(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(JOBS, job(activeDeadlineSeconds=30))
    result = cluster.run(JobController(), key())
    assert result.requeue_after is not None and 29 < result.requeue_after <= 30.01
    clock.advance(30)
    cluster.run(JobController(), key())
    assert condition_types(cluster) == [("FailureTarget", "True", "DeadlineExceeded")]
    assert status(cluster)["terminating"] == 1
    cluster.finish_terminating_pods()
    cluster.run(JobController(), key())
    cluster.run(JobController(), key())
    assert ("Failed", "True", "DeadlineExceeded") in condition_types(cluster)
    assert cluster.events("DeadlineExceeded") == ["Job was active longer than specified deadline"]
    assert pods_of(cluster) == []


def test_indexed_jobs_run_each_index_once(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(JOBS, job(completions=3, parallelism=3, completionMode="Indexed"))
    cluster.run(JobController(), key())
    pods = pods_of(cluster)
    indexes = sorted(p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
                     for p in pods)
    assert indexes == ["0", "1", "2"]
    for pod in pods:
        index = pod["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
        assert pod["metadata"]["name"].startswith(f"pi-{index}-")
        assert pod["spec"]["hostname"] == f"pi-{index}"
        env = pod["spec"]["containers"][0]["env"][0]
        assert env["name"] == "JOB_COMPLETION_INDEX"
        assert env["valueFrom"]["fieldRef"]["fieldPath"] == \
            "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    by_index = {p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]: p
                for p in pods}
    finish(cluster, by_index["2"], clock)
    finish(cluster, by_index["0"], clock)
    cluster.run(JobController(), key())
    assert status(cluster)["completedIndexes"] == "0,2"
    finish(cluster, by_index["1"], clock)
    cluster.run(JobController(), key())
    assert status(cluster)["completedIndexes"] == "0-2"
    assert ("Complete", "True", "CompletionsReached") in condition_types(cluster)


def test_index_text_round_trips() -> None:
    assert format_indexes([7, 1, 3, 4, 5]) == "1,3-5,7"
    assert format_indexes([0, 1]) == "0,1"
    assert parse_indexes("1,3-5,7") == {1, 3, 4, 5, 7}


def test_suspend_deletes_active_pods_and_resume_starts_again(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(JOBS, job())
    cluster.run(JobController(), key())
    stored = cluster.get(JOBS, "default", "pi")
    assert stored is not None
    stored["spec"]["suspend"] = True
    cluster.update(JOBS, stored)
    cluster.run(JobController(), key())
    assert ("Suspended", "True", "JobSuspended") in condition_types(cluster)
    assert "startTime" not in status(cluster)
    cluster.finish_terminating_pods()
    cluster.run(JobController(), key())
    assert pods_of(cluster) == [] and "failed" not in status(cluster)
    stored = cluster.get(JOBS, "default", "pi")
    assert stored is not None
    stored["spec"]["suspend"] = False
    cluster.update(JOBS, stored)
    cluster.run(JobController(), key())
    assert ("Suspended", "False", "JobResumed") in condition_types(cluster)
    assert len(pods_of(cluster)) == 1 and status(cluster)["startTime"]
    assert cluster.events("Suspended") == ["Job suspended"]
    assert cluster.events("Resumed") == ["Job resumed"]


def test_pod_failure_policy_fail_job_and_ignore(clock: ManualClock) -> None:
    policy = {"rules": [{"action": "FailJob", "onExitCodes": {"operator": "In",
                                                              "values": [42]}},
                        {"action": "Ignore", "onExitCodes": {"operator": "In",
                                                             "values": [3]}}]}
    cluster = Cluster(clock)
    cluster.add(JOBS, job(podFailurePolicy=policy))
    cluster.run(JobController(), key())
    finish(cluster, pods_of(cluster)[0], clock, code=3)
    cluster.run(JobController(), key())
    assert "failed" not in status(cluster)  # ignored: not counted
    clock.advance(1)
    cluster.run(JobController(), key())
    fresh = unfinished(cluster)
    assert len(fresh) == 1
    finish(cluster, fresh[0], clock, code=42)
    cluster.run(JobController(), key())
    [target, final] = status(cluster)["conditions"]
    assert (target["type"], target["reason"]) == ("FailureTarget", "PodFailurePolicy")
    assert target["message"] == (f"Container pi for pod default/{fresh[0]['metadata']['name']} "
                                 "failed with exit code 42 matching FailJob rule at index 0")
    assert final["type"] == "Failed"


def test_ttl_after_finished_deletes_the_job_later(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(JOBS, job(ttlSecondsAfterFinished=100))
    cluster.run(JobController(), key())
    ttl = TTLAfterFinishedController()
    assert cluster.run(ttl, key()).requeue_after is None  # not finished yet
    finish(cluster, pods_of(cluster)[0], clock)
    cluster.run(JobController(), key())
    clock.advance(40)
    result = cluster.run(ttl, key())
    assert result.requeue_after is not None and 59 < result.requeue_after <= 60.01
    clock.advance(60)
    cluster.run(ttl, key())
    gone = cluster.get(JOBS, "default", "pi")
    assert gone is None or gone["metadata"].get("deletionTimestamp")


def test_pods_of_a_deleted_job_lose_the_tracking_finalizer(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(JOBS, job())
    cluster.run(JobController(), key())
    cluster.delete(JOBS, "default", "pi")
    cluster.run(JobController(), key())
    assert all("finalizers" not in p["metadata"] for p in pods_of(cluster))


def test_the_garbage_collector_deletes_the_pods_of_a_deleted_job(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(JOBS, job())
    cluster.run(JobController(), key())
    finish(cluster, pods_of(cluster)[0], clock)
    cluster.run(JobController(), key())
    cluster.delete(JOBS, "default", "pi", propagation="Background")
    gc = GarbageCollector()
    assert JOBS in gc.watches
    for pod in pods_of(cluster):
        cluster.run(gc, Key.of(PODS, pod))
    cluster.finish_terminating_pods()
    assert pods_of(cluster) == []


def test_a_job_of_two_billion_creates_and_deletes_500_pods_a_sync(clock: ManualClock) -> None:
    """``MaxPodCreateDeletePerSync``: completions and parallelism of 2147483647 (valid int32s)
    start 500 pods a sync, in either mode, and lowering parallelism deletes 500 a sync."""
    cluster = Cluster(clock)
    # (deleted unfinished pods count as failed: a backoff limit they cannot reach)
    cluster.add(JOBS, job(completions=2**31 - 1, parallelism=2**31 - 1,
                          backoffLimit=2**31 - 1))
    cluster.run(JobController(), key())
    assert len(pods_of(cluster)) == 500
    cluster.run(JobController(), key())
    assert len(pods_of(cluster)) == 1000
    stored = cluster.get(JOBS, "default", "pi")
    assert stored is not None
    stored["spec"]["parallelism"] = 100
    cluster.update(JOBS, stored)
    cluster.run(JobController(), key())
    live = [p for p in pods_of(cluster) if not p["metadata"].get("deletionTimestamp")]
    assert len(live) == 500
    clock.advance(361)   # the deleted pods counted as failures: past their back-off
    cluster.run(JobController(), key())
    live = [p for p in pods_of(cluster) if not p["metadata"].get("deletionTimestamp")]
    assert len(live) == 100

    indexed = Cluster(clock)
    indexed.add(JOBS, job(completions=2**31 - 1, parallelism=100_000,
                          completionMode="Indexed"))
    indexed.run(JobController(), key())
    names = sorted(p["metadata"]["name"].rsplit("-", 1)[0] for p in pods_of(indexed))
    assert len(names) == 500 and "pi-0" in names and "pi-499" in names
