"""``printPod``'s READY, STATUS and RESTARTS (the table printer's tests cover every STATUS
branch through ``kubectl get pods``; these pin what the diagram now shares with it)."""

from __future__ import annotations

from typing import Any

from kubelab.apimachinery.podstatus import pod_status_column, summarize_pod


def _pod(init_statuses: list[dict[str, Any]], statuses: list[dict[str, Any]],
         conditions: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "metadata": {"name": "p"},
        "spec": {"initContainers": [{"name": "proxy", "restartPolicy": "Always"},
                                    {"name": "migrate"}],
                 "containers": [{"name": "app"}]},
        "status": {"phase": "Pending", "initContainerStatuses": init_statuses,
                   "containerStatuses": statuses,
                   "conditions": [{"type": c, "status": "True"} for c in conditions]},
    }


RUNNING = {"running": {"startedAt": "2026-01-01T00:00:00Z"}}


def test_a_started_sidecar_counts_as_ready_and_does_not_hold_init() -> None:
    pod = _pod([{"name": "proxy", "started": True, "ready": True, "state": RUNNING,
                 "restartCount": 2},
                {"name": "migrate", "state": {"running": {}}}], [])
    summary = summarize_pod(pod)
    # kubectl: 1/2 ready (app + sidecar), the second init container is the one running.
    assert (summary.ready, summary.total, summary.status) == (1, 2, "Init:1/2")
    assert summary.restarts == 2


def test_after_init_only_sidecar_restarts_stay_counted() -> None:
    done = {"terminated": {"exitCode": 0, "reason": "Completed"}}
    pod = _pod([{"name": "proxy", "started": True, "ready": True, "state": RUNNING,
                 "restartCount": 1},
                {"name": "migrate", "state": done, "restartCount": 3}],
               [{"name": "app", "ready": True, "state": RUNNING, "restartCount": 4}],
               conditions=("Initialized", "Ready"))
    pod["status"]["phase"] = "Running"
    summary = summarize_pod(pod)
    assert (summary.ready, summary.total, summary.status) == (2, 2, "Running")
    assert summary.restarts == 5  # sidecar 1 + app 4; the finished init container's 3 drop


def test_deleting_pods_read_terminating_or_unknown() -> None:
    pod = _pod([], [], conditions=())
    pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert pod_status_column(pod) == "Terminating"
    pod["status"]["reason"] = "NodeLost"
    assert pod_status_column(pod) == "Unknown"
