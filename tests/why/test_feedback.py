"""A self-check whose object is stuck names the cause and the fix (kubelab.why), read from the
same API snapshot as the check: the sandbox-made fixtures served by an in-memory snapshot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from autograders import checks
from autograders.engine import Context, Outcome
from autograders.kube import Response, Snapshot

SANDBOX = Path(__file__).parent / "fixtures" / "sandbox"
KINDS = {"pods": "pod", "events": "event", "nodes": "node", "replicasets": "replicaset",
         "deployments": "deployment", "services": "service"}


class FixtureSnapshot(Snapshot):
    """Answers get/list/log from one captured scenario (endpoints as the controller wrote
    them are not in the fixture: a Service's endpoints read as absent)."""

    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__(reader=None)  # type: ignore[arg-type]
        self.by_kind: dict[str, list[dict[str, Any]]] = {
            kind: list(record["objects"].get(field) or []) for field, kind in KINDS.items()}

    def get(self, kind: str, name: str, namespace: str | None = "default") -> Any:
        return next((o for o in self.by_kind.get(kind, [])
                     if o["metadata"]["name"] == name), None)

    def list(self, kind: str, namespace: str | None = "default", selector: str = "") -> Any:
        wanted = dict(p.split("=", 1) for p in selector.split(",") if p)
        return [o for o in self.by_kind.get(kind, [])
                if all((o["metadata"].get("labels") or {}).get(a) == b
                       for a, b in wanted.items())]

    def log(self, pod: str, namespace: str = "default", container: str | None = None) -> Any:
        return ""

    def proxy(self, service: str, port: int | str, path: str = "/",
              namespace: str = "default") -> Response:
        # What the API server's service proxy answers for a Service without endpoints.
        return Response(503, f'no endpoints available for service "{service}"')


def probe(scenario: str, check: checks.Check) -> Outcome:
    record = json.loads((SANDBOX / f"{scenario}.json").read_text())
    return check.probe(Context(FixtureSnapshot(record), {}))


def test_missing_key_names_the_key_instead_of_an_empty_log() -> None:
    out = probe("missing-key", checks.log_contains("greeter", "greeting=hello",
                                                   namespace="why-missing-key"))
    assert not out.passed
    assert "empty log" not in out.found
    assert "reads the key greting from ConfigMap app-config" in out.found
    assert "Fix: Correct the key name" in out.found


def test_bad_tag_names_the_missing_tag() -> None:
    out = probe("deploy-deadline", checks.ready_replicas("stalled", 1,
                                                         namespace="why-deploy-deadline"))
    assert not out.passed and out.settled
    assert "pods are stuck: Deployment stalled has stopped progressing" in out.found
    assert "nginx has no tag '1.99-typo'" in out.found


def test_crashing_pods_say_why() -> None:
    out = probe("crash-false", checks.ready_replicas("falsy", 1, namespace="why-crash-false"))
    assert not out.passed
    assert "0 ready" in out.found and "exits with code 1" in out.found


def test_service_without_endpoints_says_its_selector_matches_nothing() -> None:
    out = probe("svc-selects-nothing", checks.endpoints("web", 1,
                                                        namespace="why-svc-selects-nothing"))
    assert not out.passed
    assert out.found.startswith("0 ready endpoints; Service web has no endpoints because its "
                                "selector app=wbe matches no pod")


def test_pods_check_names_the_unschedulable_pod() -> None:
    out = probe("too-much-cpu", checks.pods("app=big", count=1, phase="Running",
                                            namespace="why-too-much-cpu"))
    assert not out.passed
    assert "Pod big cannot be scheduled" in out.found and "64 CPUs" in out.found


def test_a_passing_check_is_unchanged() -> None:
    out = probe("healthy", checks.ready_replicas("web", 2, namespace="why-healthy"))
    assert out.passed and out.found == "2 ready"


def test_quota_and_pause_are_named_although_no_pod_is_troubled() -> None:
    quota = probe("deploy-quota", checks.ready_replicas("crowd", 3, namespace="why-deploy-quota"))
    assert "ResourceQuota compute forbids it" in quota.found
    paused = probe("deploy-paused", checks.ready_replicas("frozen", 1,
                                                          namespace="why-deploy-paused"))
    assert "is paused" in paused.found and "kubectl rollout resume" in paused.found


def test_troubled_lets_ordinary_start_up_pass_without_a_diagnosis() -> None:
    creating = {"status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "True"}], "containerStatuses": [
        {"restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]}}
    assert not checks._troubled([creating])
    backoff = {"status": {"phase": "Pending", "containerStatuses": [
        {"restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}}
    assert checks._troubled([creating, backoff])


def test_serves_says_why_the_proxy_found_no_endpoint() -> None:
    out = probe("svc-selects-nothing", checks.serves("web", 80, contains="Welcome",
                                                     namespace="why-svc-selects-nothing"))
    assert not out.passed
    assert out.found.startswith("HTTP 503: no endpoints available for service")
    assert "selector app=wbe matches no pod" in out.found
