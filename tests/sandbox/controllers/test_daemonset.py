"""DaemonSet: one pod per eligible node, pinned by node affinity; status counts."""

from __future__ import annotations

from sandbox.controllers.controller_fakes import Cluster, events_of, make_ready

from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.controllers import all_controllers
from kubelab.sandbox.controllers.daemonset import DaemonSetController, target_node
from kubelab.sandbox.reconcile.types import Create, Delete, Key

DS = kinds.apps("daemonsets")
NODES = kinds.core("nodes")
PODS = kinds.core("pods")
KEY = Key("daemonsets.apps", "kube-system", "kube-proxy")


def setup() -> Cluster:
    cluster = Cluster(ManualClock())
    cluster.add(NODES, {"metadata": {"name": "control-plane"}, "spec": {"taints": [
        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}})
    for i in (1, 2):
        cluster.add(NODES, {"metadata": {"name": f"worker-{i}"}, "spec": {}})
    cluster.add(DS, {"metadata": {"name": "kube-proxy", "namespace": "kube-system"},
                     "spec": {"selector": {"matchLabels": {"k8s-app": "kube-proxy"}},
                              "template": {"metadata": {"labels": {"k8s-app": "kube-proxy"}},
                                           "spec": {"containers": [{"name": "kube-proxy",
                                                                    "image": "kp"}]}}}})
    return cluster


def test_one_pod_per_tolerated_node() -> None:
    cluster = setup()
    result = cluster.run(DaemonSetController(), KEY)
    pods = [a.obj for a in result.actions if isinstance(a, Create)]
    assert sorted(target_node(p) for p in pods) == ["worker-1", "worker-2"]
    assert all(p["metadata"]["generateName"] == "kube-proxy-" for p in pods)
    assert [r for r, _ in events_of(result)] == ["SuccessfulCreate", "SuccessfulCreate"]
    status = cluster.get(DS, "kube-system", "kube-proxy")["status"]  # type: ignore[index]
    assert status["desiredNumberScheduled"] == 2 and status["numberReady"] == 0
    for key in [k for k in cluster.objects if k[0] == "pods"]:
        pod = cluster.objects[key]
        cluster.objects[key] = make_ready(pod, cluster.clock, node=target_node(pod))
    result = cluster.run(DaemonSetController(), KEY)
    assert not [a for a in result.actions if isinstance(a, Create | Delete)]
    status = cluster.get(DS, "kube-system", "kube-proxy")["status"]  # type: ignore[index]
    assert (status["currentNumberScheduled"], status["numberReady"],
            status["numberAvailable"], status["updatedNumberScheduled"]) == (2, 2, 2, 2)


def test_tolerating_the_control_plane_adds_a_pod() -> None:
    cluster = setup()
    ds = cluster.objects[("daemonsets.apps", "kube-system", "kube-proxy")]
    ds["spec"]["template"]["spec"]["tolerations"] = [{"operator": "Exists"}]
    result = DaemonSetController().reconcile(cluster, KEY, cluster.clock)
    assert len([a for a in result.actions if isinstance(a, Create)]) == 3


def test_all_controllers_have_unique_names() -> None:
    names = [c.name for c in all_controllers()]
    assert len(names) == len(set(names))
    assert {"statefulset-controller", "persistentvolume-binder-controller",
            "local-path-provisioner", "volume-protection-controller",
            "daemonset-controller", "job-controller"} <= set(names)
