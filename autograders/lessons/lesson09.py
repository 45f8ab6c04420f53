"""Lesson 09 — self-healing: a deleted pod is replaced, a lost node's pods are evicted and
rescheduled, and a drained node is emptied for maintenance.

The node checks read what the node lifecycle controller writes (the ``Ready`` condition
turning ``Unknown``, the ``node.kubernetes.io/unreachable`` taints) and what its taint-based
eviction leaves behind (``TaintManagerEviction`` events), so they hold on kind as well as on
the sandbox.
"""

from __future__ import annotations

from autograders import checks as k
from autograders.engine import Check, Context, Outcome, ladder, ok, unanswered, wrong
from autograders.kube import Obj, dig
from autograders.lessons import exercise

NAME = "hello-web"
LABEL = "app=hello-web"
IMAGE = "gcr.io/google-samples/node-hello:1.0"
REPLICAS = 6
UNREACHABLE = "node.kubernetes.io/unreachable"


def live_pods(ctx: Context) -> list[Obj]:
    return [p for p in ctx.snapshot.list("pod", "default", LABEL)
            if not dig(p, "metadata.deletionTimestamp")]


def _is_worker(node: Obj | None) -> bool:
    labels = dig(node, "metadata.labels") or {}
    return node is not None and "node-role.kubernetes.io/control-plane" not in labels


def _node_of(ctx: Context, variable: str) -> tuple[Obj | None, Outcome | None]:
    """The node a notebook variable names, or the outcome explaining why there is none."""
    blank = unanswered(ctx.variables, variable)
    if blank is not None:
        return None, blank
    name = ctx.variables[variable]
    if not isinstance(name, str):
        return None, wrong(f"{variable} is {name!r}, not a node name", settled=True)
    node = ctx.snapshot.get("node", name, None)
    if node is None:
        return None, wrong(f"there is no node {name}", settled=True)
    return node, None


def _ready_status(node: Obj) -> str:
    return str((dig(node, "status.conditions[Ready]") or {}).get("status") or "nothing")


def spread(at_least: int) -> Check:
    def probe(ctx: Context) -> Outcome:
        if ctx.snapshot.get("deployment", NAME) is None:
            return wrong(f"there is no deployment {NAME}", missing=True)
        nodes = sorted({str(dig(p, "spec.nodeName")) for p in live_pods(ctx)
                        if dig(p, "spec.nodeName")})
        if len(nodes) >= at_least:
            return ok(", ".join(nodes))
        return wrong(f"pods run on {len(nodes)} node(s): {', '.join(nodes) or 'none yet'}")

    return Check(f"the pods are spread over at least {at_least} workers", probe)


def pod_gone_and_seen(variable: str) -> list[Check]:
    """The pod a variable names no longer runs, and the kubelet recorded stopping it."""

    def name_of(ctx: Context) -> tuple[str, Outcome | None]:
        blank = unanswered(ctx.variables, variable)
        if blank is not None:
            return "", blank
        value = ctx.variables[variable]
        if not isinstance(value, str) or not value:
            return "", wrong(f"{variable} is {value!r}, not a pod name", settled=True)
        return value, None

    def gone(ctx: Context) -> Outcome:
        name, problem = name_of(ctx)
        if problem:
            return problem
        pod = ctx.snapshot.get("pod", name)
        if pod is None or dig(pod, "metadata.deletionTimestamp"):
            return ok()
        return wrong(f"pod {name} is still running")

    def killed(ctx: Context) -> Outcome:
        name, problem = name_of(ctx)
        if problem:
            return problem
        events = [e for e in ctx.snapshot.list("event", "default")
                  if dig(e, "involvedObject.name") == name and e.get("reason") == "Killing"]
        if events:
            return ok()
        return wrong(f"no Killing event for pod {name}: it never existed or was never deleted")

    return [Check(f"the pod named by {variable} is gone", gone,
                  hint="kubectl delete pod <name>, with a name from kubectl get pods."),
            Check(f"the kubelet stopped the pod named by {variable}", killed,
                  hint=f"Set {variable} to the name of the pod you deleted.")]


def created_at_least(count: int) -> Check:
    def probe(ctx: Context) -> Outcome:
        made = [e for e in ctx.snapshot.list("event", "default")
                if e.get("reason") == "SuccessfulCreate"
                and str(dig(e, "involvedObject.name") or "").startswith(f"{NAME}-")]
        total = sum(int(e.get("count") or 1) for e in made)
        if total >= count:
            return ok(f"{total} pods created")
        return wrong(f"the ReplicaSet created {total} pods")

    return Check(f"the ReplicaSet created at least {count} pods (a replacement)", probe,
                 hint=ladder("kubectl get events: how many SuccessfulCreate?",
                             "A ReplicaSet replaces a deleted pod by creating a new one.",
                             "kubectl delete pod <one of the Deployment's pods>"))


def worker_variable(variable: str) -> Check:
    def probe(ctx: Context) -> Outcome:
        node, problem = _node_of(ctx, variable)
        if problem:
            return problem
        if _is_worker(node):
            return ok()
        return wrong(f"{ctx.variables[variable]} is not a worker node", settled=True)

    return Check(f"{variable} names a worker node", probe,
                 hint="Pick the node of one of the hello-web pods (spec.nodeName).")


def node_ready(variable: str, status: str, *, hint: str = "") -> Check:
    """The named node's Ready condition has this status (True, or Unknown when lost)."""

    def probe(ctx: Context) -> Outcome:
        node, problem = _node_of(ctx, variable)
        if problem or node is None:
            return problem or wrong("no node")
        have = _ready_status(node)
        return ok() if have == status else wrong(f"its Ready condition is {have}")

    words = "Ready" if status == "True" else f"Ready={status} (NotReady)"
    return Check(f"the node named by {variable} is {words}", probe, hint=hint)


def tainted(variable: str, key: str, effect: str, *, hint: str = "") -> Check:
    def probe(ctx: Context) -> Outcome:
        node, problem = _node_of(ctx, variable)
        if problem or node is None:
            return problem or wrong("no node")
        taints = dig(node, "spec.taints") or []
        if any(t.get("key") == key and t.get("effect") == effect for t in taints):
            return ok()
        shown = ", ".join(f"{t.get('key')}:{t.get('effect')}" for t in taints) or "no taints"
        return wrong(f"it has {shown}")

    return Check(f"the node named by {variable} has the taint {key}:{effect}", probe, hint=hint)


def no_pods_on(variable: str, *, hint: str = "") -> Check:
    def probe(ctx: Context) -> Outcome:
        node, problem = _node_of(ctx, variable)
        if problem or node is None:
            return problem or wrong("no node")
        name = dig(node, "metadata.name")
        there = [p for p in live_pods(ctx) if dig(p, "spec.nodeName") == name]
        if not there:
            return ok()
        return wrong(f"{len(there)} hello-web pods still run on {name}")

    return Check(f"no hello-web pod runs on the node named by {variable}", probe, hint=hint)


def unschedulable(variable: str) -> Check:
    def probe(ctx: Context) -> Outcome:
        node, problem = _node_of(ctx, variable)
        if problem or node is None:
            return problem or wrong("no node")
        if dig(node, "spec.unschedulable") is True:
            return ok()
        return wrong("spec.unschedulable is not set", settled=True)

    return Check(f"the node named by {variable} is cordoned (unschedulable)", probe,
                 hint="kubectl drain cordons the node first.")


def none_terminating() -> Check:
    def probe(ctx: Context) -> Outcome:
        if ctx.snapshot.get("deployment", NAME) is None:
            return wrong(f"there is no deployment {NAME}", missing=True)
        stuck = [dig(p, "metadata.name") for p in ctx.snapshot.list("pod", "default", LABEL)
                 if dig(p, "metadata.deletionTimestamp")]
        if not stuck:
            return ok()
        return wrong(f"{len(stuck)} pod(s) still Terminating: {', '.join(map(str, stuck))}")

    return Check("no hello-web pod is left Terminating", probe,
                 hint=ladder("kubectl get pods -l app=hello-web: any Terminating?",
                             "A pod evicted from a lost node is removed once its kubelet is "
                             "back and confirms it stopped.",
                             "Start the kubelet of the lost node again, then kubectl wait "
                             "--for=condition=Ready node/<node>"))


@exercise("09.deploy", "Exercise 1: six hello-web pods spread over the workers")
def deploy() -> list[Check]:
    return [
        k.exists("deployment", NAME,
                 hint=ladder("kubectl get deployments: is hello-web there?",
                             "kubectl create deployment makes a Deployment from an image.",
                             "kubectl create deployment <name> --image=<image> "
                             "--replicas=<n> --port=<port>")),
        k.field("deployment", NAME, "spec.template.spec.containers[0].image", IMAGE,
                hint=f"The image is {IMAGE}."),
        k.ready_replicas(NAME, REPLICAS, hint="Ask for 6 replicas and wait for the rollout."),
        spread(2),
        k.labels_include("deployment", NAME, {"app": "hello-web"},
                         path="spec.template.metadata.labels",
                         hint=ladder("Look at the pod template's labels.",
                                     "kubectl create deployment labels its pods app=<name>.",
                                     "kubectl create deployment <name> …")),
    ]


@exercise("09.replace", "Exercise 2: delete a pod and watch it replaced")
def replace() -> list[Check]:
    return [*pod_gone_and_seen("deleted_pod"),
            k.ready_replicas(NAME, REPLICAS, hint="The ReplicaSet starts a replacement."),
            created_at_least(REPLICAS + 1)]


@exercise("09.failure", "Exercise 3: lose a worker and watch its pods move")
def failure() -> list[Check]:
    return [
        worker_variable("failed_node"),
        node_ready("failed_node", "Unknown",
                   hint="Stop that node's kubelet; the node controller notices within "
                        "about 50 (simulated) seconds (its grace period)."),
        tainted("failed_node", UNREACHABLE, "NoExecute",
                hint="The node controller taints a node whose kubelet stopped reporting."),
        no_pods_on("failed_node", hint="Pods tolerate the unreachable taint for 300 simulated "
                                       "seconds, then they are evicted; wait for it."),
        k.ready_replicas(NAME, REPLICAS, hint="Evicted pods are replaced on the other workers."),
        k.event("TaintManagerEviction", name_prefix=f"{NAME}-",
                description="the taint manager evicted hello-web pods",
                hint=ladder("kubectl get events: any TaintManagerEviction?",
                            "Pods tolerate the unreachable taint for 300 (simulated) seconds, "
                            "then the taint manager evicts them.",
                            "Stop the kubelet of a node that runs hello-web pods and wait.")),
    ]


@exercise("09.maintenance", "Exercise 4: bring the node back, drain another")
def maintenance() -> list[Check]:
    return [
        node_ready("failed_node", "True", hint="Start the kubelet again (start-kubelet)."),
        unschedulable("drained_node"),
        no_pods_on("drained_node", hint="kubectl drain <node> --ignore-daemonsets"),
        k.ready_replicas(NAME, REPLICAS, hint="Drained pods are recreated elsewhere."),
        none_terminating(),
    ]
