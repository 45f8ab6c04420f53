"""kubelab.why on objects captured from the sandbox (fixtures/sandbox, made by
fixtures/capture.py), on the diagram's kind/GKE-shaped snapshots (tests/viz/fixtures, built
by build_fixtures.py with the fields those clusters fill in), and on hand-written objects
carrying upstream's messages for what the sandbox does not make (real_shapes.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubelab.why import Diagnosis, Objects, diagnose, parse_target
from why import real_shapes
from why.expect import assert_diagnosis

HERE = Path(__file__).parent
SANDBOX = HERE / "fixtures" / "sandbox"
VIZ = HERE.parent / "viz" / "fixtures"


def sandbox_case(name: str) -> Diagnosis:
    record = json.loads((SANDBOX / f"{name}.json").read_text())
    return diagnose(record["target"], Objects.from_dict(record["objects"]), record["namespace"])


# scenario -> (reason, words the problem sentence must contain, words the fix must contain,
#              a fragment one evidence line must contain, a command that must be offered)
SANDBOX_CASES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], str, str]] = {
    "bad-tag": ("UnknownTag", ("nginx:1.99-typo", "does not exist", "no tag '1.99-typo'",
                               "nginx:1.29"), ("tag that exists",),
                'Failed to pull image "nginx:1.99-typo"', "kubectl describe pod typo"),
    "bad-repo": ("UnknownImage", ("nginxx:1.27", "no repository called nginxx"),
                 ("nginx:1.27",), "not simulated", "kubectl describe pod nginxx"),
    "too-much-cpu": ("InsufficientResources", ("cannot be scheduled", "enough free CPU",
                                               "64 CPUs", "0.94 CPU (940m)"),
                     ("lower resources.requests.cpu",), "Insufficient cpu",
                     "kubectl describe pod big"),
    "too-much-memory": ("InsufficientResources", ("enough free memory", "64Gi"),
                        ("resources.requests.memory",), "Insufficient memory",
                        "kubectl describe nodes"),
    "node-selector": ("NodeSelector", ("nodeSelector disktype=ssd",),
                      ("--show-labels",), "didn't match Pod's node affinity/selector",
                      "kubectl describe pod ssd"),
    "taint": ("Taint", ("taint dedicated=gpu", "does not tolerate"),
              ("toleration", "kubectl taint nodes <node> dedicated-"), "untolerated taint",
              "kubectl describe pod gpu-only"),
    "missing-key": ("MissingKey", ("key greting", "ConfigMap app-config", "no such key"),
                    ("key name",), "couldn't find key greting in ConfigMap",
                    "kubectl describe configmap app-config -n why-missing-key"),
    "missing-configmap": ("MissingConfigMap", ("ConfigMap settings", "does not exist"),
                          ("kubectl create configmap settings",), 'configmap "settings" not found',
                          "kubectl get configmaps -n why-missing-configmap"),
    "missing-secret": ("MissingSecret", ("Secret db-pass", "does not exist"),
                       ("kubectl create secret generic db-pass",), 'secret "db-pass" not found',
                       "kubectl describe pod nosecret -n why-missing-secret"),
    "crash-exit-3": ("CrashLoopBackOff", ("keeps crashing", "exits with code 3",
                                          "cannot open /data/db"), ("log",),
                     "Exit Code: 3", "kubectl logs crasher -n why-crash-exit-3 --previous"),
    "crash-false": ("CrashLoopBackOff", ("Deployment falsy", "(false)", "exits with code 1"),
                    ("log",), "Back-off restarting failed container", "--previous"),
    "command-not-found": ("CommandNotFound", ("'slep'", "does not exist in the image",
                                              "127"), ("command",), "Exit Code: 127",
                          "--previous"),
    "not-ready": ("ReadinessProbe", ("running but not ready", "GET /healthz on port 80",
                                     "statuscode: 404"), ("probe",),
                  "Readiness probe failed", "kubectl describe pod probed"),
    "liveness": ("LivenessProbe", ("liveness probe fails", "statuscode: 404"),
                 ("livenessProbe",), "failed liveness probe", "--previous"),
    "terminating": ("StuckTerminating", ("finalizer example.com/keep", "cannot go away"),
                    ("finalizers", "kubectl patch pod keeper"), "finalizers: example.com/keep",
                    "jsonpath='{.metadata.finalizers}'"),
    "svc-selects-nothing": ("SelectorMatchesNothing", ("selector app=wbe matches no pod",
                                                       "app=web"), ("selector",),
                            "No resources found", "kubectl get pods -l app=wbe"),
    "svc-not-ready": ("ReadinessProbe", ("Service api", "none is ready",
                                         "readiness probe", "/ready"), ("probe",),
                      "Readiness probe failed", "kubectl get pods -l app=api"),
    "svc-target-port": ("TargetPortMismatch", ("targetPort 8080", "listen on 80"),
                        ("targetPort",), "TargetPort: 8080", "kubectl describe service shop"),
    "deploy-paused": ("Paused", ("is paused",), ("kubectl rollout resume deployment/frozen",),
                      "spec.paused: true", "kubectl describe deployment frozen"),
    "deploy-deadline": ("UnknownTag", ("stopped progressing", "gave up after 20s",
                                       "nginx:1.99-typo"), ("tag",),
                        "ProgressDeadlineExceeded", "kubectl describe deployment stalled"),
    "deploy-quota": ("QuotaExceeded", ("ResourceQuota compute", "requests.cpu=200m",
                                       "requests.cpu=500m"), ("quota",),
                     "exceeded quota: compute", "kubectl describe resourcequota compute"),
    "node-not-ready": ("NodeNotReady", ("kubelab-worker2 is NotReady", "stopped reporting"),
                       ("Restart",), "Kubelet stopped posting node status",
                       "kubectl describe node kubelab-worker2"),
}


@pytest.mark.parametrize("name", sorted(SANDBOX_CASES))
def test_sandbox_situation(name: str) -> None:
    reason, words, fix_words, evidence, command = SANDBOX_CASES[name]
    found = sandbox_case(name)
    assert_diagnosis(found, reason, words, fix_words, evidence, command)


def test_every_captured_fixture_is_covered() -> None:
    captured = {p.stem for p in SANDBOX.glob("*.json")}
    assert captured == set(SANDBOX_CASES) | {"healthy"}


def test_healthy_deployment_is_fine() -> None:
    found = sandbox_case("healthy")
    assert found.ok and found.reason == "Available"
    assert "2 of 2 pods ready" in found.problem


REAL_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "no-nodes": ("pod/web", real_shapes.NO_NODES),
    "unbound-claim": ("pod/db", real_shapes.UNBOUND_CLAIM),
    "kind-insufficient-cpu": ("pod/big", real_shapes.KIND_INSUFFICIENT_CPU),
    "oom": ("pod/hog", real_shapes.OOM_KILLED),
    "exec-not-found": ("pod/runner", real_shapes.EXEC_NOT_FOUND),
    "docker-127": ("pod/old-runtime", real_shapes.DOCKER_127),
    "pull-access-denied": ("pod/site", real_shapes.PULL_ACCESS_DENIED),
    "tag-not-found": ("pod/typo", real_shapes.REAL_TAG_NOT_FOUND),
    "node-network": ("node/kind-worker", real_shapes.NODE_NETWORK_NOT_READY),
    "quota-event": ("deploy/web", real_shapes.QUOTA_EVENT_ONLY),
}

REAL_EXPECT = {
    "no-nodes": ("NoNodes", "has no nodes"),
    "unbound-claim": ("UnboundClaim", "claim data is Pending (storage class fast-ssd)"),
    "kind-insufficient-cpu": ("InsufficientResources", "2 nodes do not have enough free CPU"),
    "oom": ("OOMKilled", "more memory than its limit (64Mi)"),
    "exec-not-found": ("CommandNotFound", "'pyhton' does not exist in the image"),
    "docker-127": ("CommandNotFound", "'slep' does not exist"),
    "pull-access-denied": ("UnknownImage", "no repository called ngnix"),
    "tag-not-found": ("UnknownTag", "nginx has no tag '1.99-typo'"),
    "node-network": ("NodeNotReady", "cni plugin not initialized"),
    "quota-event": ("QuotaExceeded", "ResourceQuota compute-quota forbids it"),
}


@pytest.mark.parametrize("name", sorted(REAL_CASES))
def test_real_cluster_messages(name: str) -> None:
    target, data = REAL_CASES[name]
    found = diagnose(target, Objects.from_dict(data))
    reason, words = REAL_EXPECT[name]
    assert found.reason == reason, found.text()
    assert words in found.problem, found.problem


def test_control_plane_taint_is_not_the_fix_when_cpu_is_short() -> None:
    found = diagnose("pod/big", Objects.from_dict(real_shapes.KIND_INSUFFICIENT_CPU))
    assert found.problem.index("enough free CPU") < found.problem.index("control plane")
    assert "control plane" not in found.fix
    assert "below 2 CPUs" in found.fix


def _viz(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((VIZ / f"{name}.yaml").read_text())
    return data


@pytest.mark.parametrize("name", ["kind", "gke"])
def test_recorded_healthy_clusters_have_nothing_wrong(name: str) -> None:
    data = _viz(name)
    objects = Objects.from_dict(data)
    assert data["nodes"] and data["pods"]
    for node in data["nodes"]:
        found = diagnose(f"node/{node['metadata']['name']}", objects)
        assert found.ok and found.reason == "Ready", found.text()
    for pod in data["pods"]:
        ns = pod["metadata"].get("namespace", "default")
        same_ns = Objects.from_dict({**data, "pods": [
            p for p in data["pods"] if p["metadata"].get("namespace", "default") == ns]})
        found = diagnose(f"pod/{pod['metadata']['name']}", same_ns, ns)
        assert found.ok, found.text()


def test_recorded_node_failure() -> None:
    data = _viz("node_not_ready")
    objects = Objects.from_dict(data)
    node = diagnose("node/worker-2", objects)
    assert node.reason == "NodeNotReady" and "stopped reporting" in node.problem
    assert "Kubelet stopped posting node status." in node.evidence[0]
    big = diagnose("pod/big-1", objects)
    assert big.reason == "InsufficientResources"
    assert "3 nodes do not have enough free CPU (it asks for 4 CPUs" in big.problem
    crashy = diagnose("pod/crashy-1", objects)
    assert crashy.reason == "CrashLoopBackOff" and "restarted 4 times" in crashy.problem
    stuck = diagnose("pod/old-web-1", objects)
    assert stuck.reason == "StuckTerminating" and "worker-2 is not ready" in stuck.problem
    assert "--force --grace-period=0" in stuck.fix
    on_dead_node = diagnose("pod/hello-world-7d9c4-fghij", objects)
    assert on_dead_node.reason == "NodeNotReady"
    assert diagnose("pod/job-done-1", objects).ok
    assert diagnose("pod/web-6b8-creating", objects).reason == "ContainerCreating"


def test_not_found_and_targets() -> None:
    found = diagnose("svc/nope", Objects(), "team-b")
    assert found.reason == "NotFound" and "in namespace team-b" in found.problem
    assert found.commands == ("kubectl get services -n team-b",)
    assert parse_target("deploy/web") == ("deployment", "web")
    assert parse_target("web-1") == ("pod", "web-1")
    assert parse_target("no/kind-worker") == ("node", "kind-worker")
    with pytest.raises(ValueError, match="pod/NAME"):
        parse_target("cm/settings")


def test_renderings() -> None:
    found = sandbox_case("missing-key")
    text = found.text()
    assert text.startswith("✗ Container app of pod greeter")
    assert "See it yourself:" in text and "Fix:" in text
    html = found._repr_html_()
    assert "greting" in html and "<code>" in html and "<script" not in html
    assert found.as_dict()["reason"] == "MissingKey"
    assert found.sentence().startswith(found.problem) and "Fix: " in found.sentence()


def _all_sandbox() -> list[Diagnosis]:
    return [sandbox_case(p.stem) for p in sorted(SANDBOX.glob("*.json"))]


def _all_real() -> list[Diagnosis]:
    return [diagnose(t, Objects.from_dict(data)) for t, data in REAL_CASES.values()]


@pytest.mark.parametrize("found", _all_sandbox() + _all_real(), ids=lambda d: d.subject)
def test_worded_for_a_beginner(found: Diagnosis) -> None:
    """One sentence, naming the object, free of runtime jargon; raw messages stay evidence."""
    problem = found.problem
    assert problem.endswith("."), problem
    assert found.subject.split("/", 1)[1] in problem
    for jargon in ("rpc error", "desc =", "FitError", "preemption", "0/", "Back-off"):
        assert jargon not in problem, (jargon, problem)
    assert len(problem) < 420, problem
    if not found.ok:
        assert found.fix and found.commands and found.evidence
