"""Lesson 09 and 10 probes against a fake cluster: lost nodes, drains, labels, quotas."""

from __future__ import annotations

from typing import Any

from autograders.engine import Check, Context, Outcome
from autograders.lessons import lesson09, lesson10
from autograders.lessons import lookup as exercise

from .fakes import context, deployment, pod


def run(check: Check, ctx: Context) -> Outcome:
    return check.probe(ctx)


def node(name: str, *, ready: str = "True", taints: list[dict[str, str]] | None = None,
         unschedulable: bool = False, control_plane: bool = False) -> dict[str, Any]:
    labels = {"kubernetes.io/hostname": name}
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
    spec: dict[str, Any] = {"taints": taints or []}
    if unschedulable:
        spec["unschedulable"] = True
    return {"metadata": {"name": name, "labels": labels}, "spec": spec,
            "status": {"conditions": [{"type": "Ready", "status": ready}]}}


def web_pod(name: str, on: str, *, terminating: bool = False) -> dict[str, Any]:
    obj = pod(name, {"app": "hello-web"})
    obj["spec"]["nodeName"] = on
    if terminating:
        obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return obj


UNREACHABLE = [{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"},
               {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]


def cluster(**extra: dict[str, Any]) -> dict[tuple[str, Any, str], Any]:
    objects: dict[tuple[str, Any, str], Any] = {
        ("node", None, "cp"): node("cp", control_plane=True),
        ("node", None, "w1"): node("w1", ready="Unknown", taints=UNREACHABLE),
        ("node", None, "w2"): node("w2", unschedulable=True),
        ("node", None, "w3"): node("w3"),
        ("deployment", "default", "hello-web"): deployment(
            "hello-web", replicas=6, ready=6, labels={"app": "hello-web"}),
        ("pod", "default", "a"): web_pod("a", "w1", terminating=True),
        ("pod", "default", "b"): web_pod("b", "w3"),
        ("pod", "default", "c"): web_pod("c", "w3"),
    }
    for key, obj in extra.items():
        objects[("pod", "default", key)] = obj
    return objects


def test_a_lost_node_is_unknown_tainted_and_emptied_of_live_pods() -> None:
    ctx = context(cluster(), {"failed_node": "w1"})
    assert run(lesson09.worker_variable("failed_node"), ctx).passed
    assert run(lesson09.node_ready("failed_node", "Unknown"), ctx).passed
    assert run(lesson09.tainted("failed_node", lesson09.UNREACHABLE, "NoExecute"), ctx).passed
    # Its pod is Terminating (the kubelet is gone), which does not count as running there.
    assert run(lesson09.no_pods_on("failed_node"), ctx).passed
    healthy = context(cluster(), {"failed_node": "w3"})
    out = run(lesson09.node_ready("failed_node", "Unknown"), healthy)
    assert not out.passed and out.found == "its Ready condition is True"
    out = run(lesson09.tainted("failed_node", lesson09.UNREACHABLE, "NoExecute"), healthy)
    assert not out.passed and out.found == "it has no taints"
    out = run(lesson09.no_pods_on("failed_node"), healthy)
    assert not out.passed and out.found == "2 hello-web pods still run on w3"


def test_node_variables_must_name_a_worker() -> None:
    out = run(lesson09.worker_variable("failed_node"), context(cluster(), {"failed_node": "cp"}))
    assert not out.passed and out.settled and "not a worker" in out.found
    out = run(lesson09.worker_variable("failed_node"), context(cluster(), {"failed_node": "x"}))
    assert not out.passed and out.found == "there is no node x"
    out = run(lesson09.worker_variable("failed_node"), context(cluster(), {}))
    assert not out.passed and out.missing


def test_drained_node_is_cordoned_and_terminating_pods_are_reported() -> None:
    ctx = context(cluster(), {"drained_node": "w2"})
    assert run(lesson09.unschedulable("drained_node"), ctx).passed
    out = run(lesson09.unschedulable("drained_node"), context(cluster(), {"drained_node": "w3"}))
    assert not out.passed and out.settled
    out = run(lesson09.none_terminating(), ctx)
    assert not out.passed and out.found == "1 pod(s) still Terminating: a"
    del ctx.snapshot.objects[("pod", "default", "a")]  # type: ignore[attr-defined]
    assert run(lesson09.none_terminating(), ctx).passed
    out = run(lesson09.none_terminating(), context({}))
    assert not out.passed and out.missing


def test_spread_counts_nodes_of_live_pods() -> None:
    ctx = context(cluster())
    out = run(lesson09.spread(2), ctx)   # "a" on w1 is terminating: only w3 counts
    assert not out.passed and out.found == "pods run on 1 node(s): w3"
    ctx = context(cluster(d=web_pod("d", "w2")))
    assert run(lesson09.spread(2), ctx).passed


def event(reason: str, name: str, message: str = "", namespace: str = "default",
          count: int = 1) -> dict[str, Any]:
    return {"metadata": {"name": f"{name}.1", "namespace": namespace}, "reason": reason,
            "message": message, "count": count,
            "involvedObject": {"name": name, "namespace": namespace}}


def test_deleted_pod_needs_a_killing_event_and_replacements_are_counted() -> None:
    objects = cluster()
    objects[("event", "default", "e1")] = event("Killing", "old-pod", "Stopping container x")
    objects[("event", "default", "e2")] = event("SuccessfulCreate", "hello-web-abc", count=6)
    gone, killed = lesson09.pod_gone_and_seen("deleted_pod")
    ctx = context(objects, {"deleted_pod": "old-pod"})
    assert run(gone, ctx).passed and run(killed, ctx).passed
    made_up = context(objects, {"deleted_pod": "never-was"})
    assert run(gone, made_up).passed
    out = run(killed, made_up)
    assert not out.passed and "no Killing event for pod never-was" in out.found
    still = context(objects, {"deleted_pod": "b"})
    assert run(gone, still).found == "pod b is still running"
    assert not run(lesson09.created_at_least(7), ctx).passed
    objects[("event", "default", "e3")] = event("SuccessfulCreate", "hello-web-abc")
    assert run(lesson09.created_at_least(7), context(objects)).passed


def team_b_pod(name: str, **labels: str) -> dict[str, Any]:
    return pod(name, labels)


def test_not_prod_and_selector_labelling() -> None:
    objects = {
        ("pod", "team-b", "web-prod"): team_b_pod("web-prod", app="web", env="prod",
                                                  tier="frontend"),
        ("pod", "team-b", "web-staging"): team_b_pod("web-staging", app="web", env="staging",
                                                     tier="frontend"),
        ("pod", "team-b", "db-prod"): team_b_pod("db-prod", app="db", env="prod"),
        ("pod", "team-b", "cache-dev"): team_b_pod("cache-dev", app="cache", env="dev"),
    }
    ctx = context(objects)
    assert lesson10.not_prod(ctx) == ["cache-dev", "web-staging"]
    assert run(lesson10.only_web_labelled(), ctx).passed
    objects[("pod", "team-b", "db-prod")]["metadata"]["labels"]["tier"] = "frontend"
    out = run(lesson10.only_web_labelled(), context(objects))
    assert not out.passed and out.found == "db-prod also got a tier label"
    assert lesson10.not_prod(context({})) is None


def reader(volumes: list[dict[str, Any]], mounts: list[str]) -> dict[str, Any]:
    return {"metadata": {"name": "config-reader"},
            "spec": {"volumes": volumes, "containers": [
                {"name": "c", "volumeMounts": [{"name": m, "mountPath": "/x"} for m in mounts]}]}}


def test_config_map_volume_must_be_mounted() -> None:
    check = lesson10.mounts_config_map("config-reader", "app-config", namespace="team-b")
    volume = {"name": "config", "configMap": {"name": "app-config"}}
    assert run(check, context({("pod", "team-b", "config-reader"):
                               reader([volume], ["config"])})).passed
    out = run(check, context({("pod", "team-b", "config-reader"): reader([volume], [])}))
    assert not out.passed and out.found == "volume config is never mounted in a container"
    out = run(check, context({("pod", "team-b", "config-reader"): reader([], [])}))
    assert not out.passed and "no volume of the pod comes from configMap" in out.found
    assert run(check, context({})).missing


def test_quota_usage_reads_dotted_resource_names() -> None:
    quota = {"metadata": {"name": "team-quota"},
             "spec": {"hard": {"pods": "4", "requests.cpu": "500m"}},
             "status": {"used": {"pods": "4", "requests.cpu": "400m"}}}
    ctx = context({("resourcequota", "team-a", "team-quota"): quota}, {"used_cpu": "400m"})
    assert run(lesson10.quota_used("requests.cpu", "400m"), ctx).passed
    out = run(lesson10.quota_used("pods", "3"), ctx)
    assert not out.passed and out.found == "status.used.pods is '4'"
    assert lesson10.used_cpu(ctx) == "400m"
    report = exercise("10.used")
    report.context_factory = lambda: ctx
    assert report.run(timeout=0).passed


def test_every_lesson_09_and_10_exercise_is_registered() -> None:
    for name in ("09.deploy", "09.replace", "09.failure", "09.maintenance", "10.namespaces",
                 "10.labels", "10.config", "10.quota", "10.used"):
        assert exercise(name).checks, name
