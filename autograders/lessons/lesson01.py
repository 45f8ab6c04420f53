"""Lesson 01 — the cluster and its architecture: reading nodes and system pods."""

from __future__ import annotations

from autograders import checks as k
from autograders.engine import Check, Context, ladder
from autograders.kube import dig
from autograders.lessons import exercise

CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"


def worker_names(ctx: Context) -> list[str]:
    return sorted(n["metadata"]["name"] for n in ctx.snapshot.list("node", None)
                  if CONTROL_PLANE_LABEL not in (dig(n, "metadata.labels") or {}))


def proxy_nodes(ctx: Context) -> list[str]:
    return sorted(str(dig(p, "spec.nodeName")) for p in ctx.snapshot.list("pod", "kube-system")
                  if p["metadata"]["name"].startswith("kube-proxy"))


def node_names(ctx: Context) -> set[str]:
    return {n["metadata"]["name"] for n in ctx.snapshot.list("node", None)}


@exercise("01.workers", "Exercise 1: count the worker nodes")
def workers() -> list[Check]:
    return [
        k.variable("worker_count", compute=lambda ctx: len(worker_names(ctx)),
                   description="worker_count is the number of worker nodes",
                   hint=ladder("Look at the nodes' labels: which node is not a worker?",
                               "The control plane node carries the "
                               f"{CONTROL_PLANE_LABEL} label; workers do not.",
                               "Count the items of core.list_node() whose metadata.labels "
                               f"lack {CONTROL_PLANE_LABEL}.")),
        k.variable("worker_names", compute=worker_names,
                   description="worker_names lists the workers, sorted",
                   hint=ladder("Compare your list with kubectl get nodes.",
                               "Only nodes without the control-plane role label are workers; "
                               "the list must be sorted.",
                               "sorted(n.metadata.name for n in <the worker nodes>)")),
    ]


@exercise("01.proxies", "Exercise 2: find the nodes running kube-proxy")
def proxies() -> list[Check]:
    return [
        k.variable("proxy_nodes",
                   test=lambda v: isinstance(v, list) and bool(v)
                   and all(isinstance(x, str) for x in v) and v == sorted(v),
                   description="proxy_nodes is a sorted list of node names",
                   hint=ladder("proxy_nodes must be a list of strings, sorted.",
                               "Python's sorted() returns a new sorted list.",
                               "proxy_nodes = sorted(<node names>)")),
        k.variable("proxy_nodes", compute=proxy_nodes,
                   description="proxy_nodes lists the nodes running kube-proxy, sorted",
                   hint=ladder("Look at the pods in the kube-system namespace: which ones are "
                               "kube-proxy?",
                               "kube-proxy runs as a DaemonSet: one pod per node, and each "
                               "pod's spec.nodeName says where it runs.",
                               "sorted(p.spec.node_name for p in <kube-system pods> "
                               "if p.metadata.name.startswith('kube-proxy'))")),
    ]


@exercise("01.namespace", "Exercise 3: create your own namespace")
def namespace() -> list[Check]:
    return [
        k.exists("namespace", "workshop",
                 hint=ladder("kubectl get namespaces: is workshop there?",
                             "A namespace is a cluster-scoped object you create like any other.",
                             "kubectl create namespace <name> (or apply a Namespace manifest)")),
        k.labels_include("namespace", "workshop", {"course": "kubelab"},
                         hint=ladder("kubectl get namespace workshop --show-labels",
                                     "Labels are key=value pairs in metadata.labels; any "
                                     "object can carry them.",
                                     "kubectl label namespace <name> <key>=<value> "
                                     "--overwrite")),
    ]
