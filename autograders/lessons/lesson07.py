"""Lesson 07 — resources and scheduling: requests, capacity, and pods that cannot fit."""

from __future__ import annotations

from autograders import checks as k
from autograders.engine import Check, Context, Outcome, ladder, ok, wrong
from autograders.kube import dig
from autograders.lessons import exercise

NAME = "resource-quota-demo"
LABEL = "app=resource-quota-demo"
C0 = "spec.template.spec.containers[0]"


def pending_count(ctx: Context) -> int:
    return sum(1 for p in ctx.snapshot.list("pod", "default", LABEL)
               if dig(p, "status.phase") == "Pending"
               and not dig(p, "metadata.deletionTimestamp"))


def stuck_unavailable() -> Check:
    """Available=False because pods cannot be placed (not merely because they are starting)."""

    def probe(ctx: Context) -> Outcome:
        dep = ctx.snapshot.get("deployment", NAME)
        if dep is None:
            return wrong(f"there is no deployment {NAME}", missing=True)
        cond = dig(dep, "status.conditions[Available]") or {}
        if pending_count(ctx) == 0:
            return wrong("no pod is Pending, so nothing is short of room")
        if cond.get("status") == "False" and cond.get("reason") == "MinimumReplicasUnavailable":
            return ok()
        return wrong(f"Available is {cond.get('status')} ({cond.get('reason')})")

    return Check("the Deployment reports Available=False (MinimumReplicasUnavailable) "
                 "while pods wait for room", probe,
                 hint=ladder("kubectl describe deployment resource-quota-demo: Conditions.",
                             "A Deployment is Available only while enough replicas are "
                             "ready; pods that cannot be placed never are.",
                             "kubectl get deployment <name> -o "
                             "jsonpath='{.status.conditions}'"))


def placement_settled() -> Check:
    """Every pod is either Running or refused by the scheduler, and some were refused.

    Why wait for this: right after the scale the scheduler is still working through the new
    pods and the kubelets are still starting the ones it placed, so the number of Pending
    pods falls for a while. Exercise 3 counts them; once this check passes the count holds
    still (only the pods with no room are Pending, marked ``PodScheduled=False``).
    """

    def probe(ctx: Context) -> Outcome:
        dep = ctx.snapshot.get("deployment", NAME)
        if dep is None:
            return wrong(f"there is no deployment {NAME}", missing=True)
        live = [p for p in ctx.snapshot.list("pod", "default", LABEL)
                if not dig(p, "metadata.deletionTimestamp")]
        if len(live) < (dig(dep, "spec.replicas") or 0):
            return wrong(f"{len(live)} pods so far; the ReplicaSet is still creating them")
        starting = refused = 0
        for p in live:
            if dig(p, "status.phase") != "Pending":
                continue
            cond = dig(p, "status.conditions[PodScheduled]") or {}
            if not dig(p, "spec.nodeName") and cond.get("status") == "False":
                refused += 1
            else:
                starting += 1
        if starting:
            return wrong(f"{starting} pods are still being scheduled or started")
        if not refused:
            return wrong("every pod found a node: nothing is short of room")
        return ok(f"{len(live) - refused} placed, {refused} Pending with no room")

    return Check("the scheduler placed what fits; the other pods stay Pending, unscheduled",
                 probe,
                 hint=ladder("kubectl get pods -l app=resource-quota-demo: any Pending?",
                             "The scheduler places a pod only on a node with room for its "
                             "requests.",
                             "kubectl describe pod <a Pending pod> (Events)"))


@exercise("07.deploy", "Exercise 1: deploy the site with resource requests")
def deploy() -> list[Check]:
    return [
        k.exists("deployment", NAME,
                 hint=ladder("kubectl get deployments: is resource-quota-demo there?",
                             "The lesson describes the Deployment; write it as a manifest.",
                             "%%kubectl apply -f - with kind: Deployment, metadata.name")),
        k.field("deployment", NAME, f"{C0}.resources.requests.cpu", "100m",
                hint=ladder("Look at the container's resources.",
                            "A CPU request is what the scheduler reserves on a node.",
                            "resources: {requests: {cpu: <millicores>}}")),
        k.field("deployment", NAME, f"{C0}.resources.requests.memory", "100Mi",
                hint=ladder("Look at the container's resources.",
                            "A memory request is what the scheduler reserves on a node.",
                            "resources: {requests: {memory: <size>}}")),
        k.ready_replicas(NAME, 3, hint=ladder("kubectl get deployment resource-quota-demo",
                                              "Pods count once their probes pass.",
                                              "kubectl rollout status deployment/<name>")),
        k.field("deployment", NAME, f"{C0}.readinessProbe.httpGet.path", "/",
                description="pods have a readiness probe on /",
                hint=ladder("Does the container have a readinessProbe?",
                            "Readiness decides when a pod gets traffic.",
                            "readinessProbe: {httpGet: {path: <path>, port: <port>}}")),
    ]


@exercise("07.scale", "Exercise 2: scale to 100 and watch the scheduler give up")
def scale() -> list[Check]:
    return [
        k.field("deployment", NAME, "spec.replicas", 100,
                hint=ladder("Look at spec.replicas: how many does it ask for?",
                            "Scaling changes only spec.replicas.",
                            "kubectl scale deployment <name> --replicas=<count>")),
        placement_settled(),
        k.event("FailedScheduling", message_contains="Insufficient cpu",
                name_prefix="resource-quota-demo",
                description="the scheduler reported Insufficient cpu",
                hint=ladder("kubectl get events: what does the scheduler say?",
                            "Without requests the scheduler sees no shortage.",
                            "kubectl get events --field-selector reason=FailedScheduling")),
        stuck_unavailable(),
    ]


@exercise("07.count", "Exercise 3: count the Pending pods with the Python client")
def count() -> list[Check]:
    return [
        k.variable("pending", compute=pending_count, converging=True,
                   description="pending is the number of Pending pods",
                   hint=ladder("Compare with kubectl get pods -l app=resource-quota-demo.",
                               "status.phase is 'Pending' until a pod is placed and started; "
                               "pods being deleted do not count.",
                               "sum(1 for p in <pods> if p.status.phase == 'Pending' and "
                               "p.metadata.deletion_timestamp is None)")),
        k.variable("pending", test=lambda v: isinstance(v, int) and 50 <= v < 100,
                   description="pending is plausible: most of the 100 pods cannot fit",
                   hint=ladder("How many pods fit on three workers?",
                               "Each pod requests CPU; the workers' allocatable CPU runs out.",
                               "Count only the Pending pods, as an int.")),
    ]


@exercise("07.back", "Exercise 4: scale back to 3")
def back() -> list[Check]:
    return [
        k.field("deployment", NAME, "spec.replicas", 3,
                hint=ladder("Look at spec.replicas: how many does it ask for?",
                            "Scaling down removes pods, Pending ones first.",
                            "kubectl scale deployment <name> --replicas=<count>")),
        k.pods(LABEL, count=0, phase="Pending", owner=NAME,
               description="no pod is Pending any more",
               hint=ladder("kubectl get pods -l app=resource-quota-demo",
                           "Pending pods are removed first when scaling down.",
                           "kubectl rollout status deployment/<name>")),
        k.ready_replicas(NAME, 3, hint=ladder("kubectl get deployment resource-quota-demo",
                                              "The remaining pods stay ready.",
                                              "kubectl rollout status deployment/<name>")),
    ]
