"""Lesson 01 — the cluster and its architecture: reading nodes and system pods."""

from __future__ import annotations

from autograders import checks as k
from autograders.engine import Check, Context
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
    return [k.variable("worker_count", compute=lambda ctx: len(worker_names(ctx)),
                       description="worker_count is the number of worker nodes",
                       hint="Count the nodes that do not carry the "
                            f"{CONTROL_PLANE_LABEL} label.")]


@exercise("01.proxies", "Exercise 2: find the nodes running kube-proxy")
def proxies() -> list[Check]:
    return [k.variable("proxy_nodes",
                       test=lambda v: isinstance(v, list) and bool(v)
                       and all(isinstance(x, str) for x in v) and v == sorted(v),
                       description="proxy_nodes is a sorted list of node names",
                       hint="Collect spec.node_name of the kube-proxy-… pods in kube-system.")]


@exercise("01.namespace", "Exercise 3: create your own namespace")
def namespace() -> list[Check]:
    return [k.exists("namespace", "workshop",
                     hint="kubectl create namespace workshop (or apply a Namespace manifest).")]
