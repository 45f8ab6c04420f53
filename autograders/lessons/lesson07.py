"""Lesson 07 — resources and scheduling: requests, capacity, and pods that cannot fit."""

from __future__ import annotations

from autograders import checks as k
from autograders.engine import Check, Context, Outcome, ok, wrong
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
                 "while pods wait for room", probe)


@exercise("07.deploy", "Exercise 1: deploy the site with resource requests")
def deploy() -> list[Check]:
    return [
        k.exists("deployment", NAME, hint="Apply the resource-quota-demo manifest."),
        k.field("deployment", NAME, f"{C0}.resources.requests.cpu", "100m",
                hint="Request cpu: 100m."),
        k.field("deployment", NAME, f"{C0}.resources.requests.memory", "100Mi",
                hint="Request memory: 100Mi."),
        k.ready_replicas(NAME, 3, hint="replicas: 3; wait for the rollout."),
    ]


@exercise("07.scale", "Exercise 2: scale to 100 and watch the scheduler give up")
def scale() -> list[Check]:
    return [
        k.field("deployment", NAME, "spec.replicas", 100,
                hint="kubectl scale deployment resource-quota-demo --replicas=100"),
        # Pending *and* unscheduled: a pod whose image is still being pulled is Pending too.
        k.pods(LABEL, at_least=1, phase="Pending", field_path="spec.nodeName", value=None,
               description="some pods stay Pending, unscheduled",
               hint="Give the scheduler a moment."),
    ]


@exercise("07.count", "Exercise 3: count the Pending pods with the Python client")
def count() -> list[Check]:
    return [k.variable("pending", compute=pending_count,
                       description="pending is the number of Pending pods",
                       hint="Count pods whose status.phase is 'Pending'.")]


@exercise("07.back", "Exercise 4: scale back to 3")
def back() -> list[Check]:
    return [
        k.field("deployment", NAME, "spec.replicas", 3,
                hint="kubectl scale deployment resource-quota-demo --replicas=3"),
        k.pods(LABEL, count=0, phase="Pending", owner=NAME,
               description="no pod is Pending any more",
               hint="Pending pods are removed first when scaling down."),
    ]
