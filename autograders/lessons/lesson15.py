"""Lesson 15 — Metrics and autoscaling: ``kubectl top`` and the HorizontalPodAutoscaler.

The checks read what upstream's HPA controller (``pkg/controller/podautoscaler``) writes
into an ``autoscaling/v2`` HorizontalPodAutoscaler: its ``ScalingActive`` condition (False
with reason ``FailedGetResourceMetric`` while a target pod's container has no CPU request,
since utilisation is usage divided by request), ``status.currentReplicas`` and
``status.desiredReplicas``, and the spec a learner writes (``minReplicas``,
``maxReplicas``, the CPU ``averageUtilization`` target, ``behavior.scaleDown``). The
predictions are notebook variables stored before the step they predict; their answers
follow from the controller's rule ``desired = ceil(current * usage / target)``.
"""

from __future__ import annotations

from typing import Any

from autograders import checks as k
from autograders.engine import Check, Context, Outcome, ladder, ok, wrong
from autograders.kube import dig
from autograders.lessons import exercise

APP = "php-apache"
HPA = "horizontalpodautoscaler"
REQUEST_CPU = "200m"
LIMIT_CPU = "500m"
TARGET = 50
MAX = 10
# One pod at its 500m limit is 250 % of its 200m request: ceil(1 * 250 / 50) = 5 replicas,
# within the default scale-up limit (double, or 4 more pods, per 15 s: 5).
UTILISATION = 250
FIRST_STEP = 5
WINDOW = 30
POLICY = [{"type": "Percent", "value": 50, "periodSeconds": 15}]


def targets_unknown(value: object) -> bool:
    """TARGETS as ``kubectl get hpa`` prints it for a pod without a CPU request."""
    if not isinstance(value, str):
        return False
    text = "".join(value.split()).lower().removeprefix("cpu:")
    return text in ("<unknown>/50%", "<unknown>")


def percent(expected: int) -> Any:
    def test(value: object) -> bool:
        if isinstance(value, str):
            value = value.strip().removesuffix("%").strip()
            return value.isdigit() and int(value) == expected
        return isinstance(value, int | float) and not isinstance(value, bool) \
            and value == expected

    return test


def cpu_target(obj: object) -> Any:
    metrics = dig(obj, "spec.metrics") or []
    for m in metrics:
        if m.get("type") == "Resource" and dig(m, "resource.name") == "cpu":
            return dig(m, "resource.target.averageUtilization")
    return None


def autoscaler(name: str, *, minimum: int, maximum: int, target: int,
               points: float = 1) -> Check:
    """HPA ``name`` scales Deployment ``name`` between ``minimum`` and ``maximum`` replicas
    on average CPU utilisation ``target`` %."""

    def probe(ctx: Context) -> Outcome:
        obj = ctx.snapshot.get(HPA, name)
        if obj is None:
            return wrong(f"there is no horizontalpodautoscaler {name}", missing=True)
        ref = dig(obj, "spec.scaleTargetRef") or {}
        if (ref.get("kind"), ref.get("name")) != ("Deployment", APP):
            return wrong(f"it scales {ref.get('kind')}/{ref.get('name')}", settled=True)
        have = (dig(obj, "spec.minReplicas") or 1, dig(obj, "spec.maxReplicas"),
                cpu_target(obj))
        if have == (minimum, maximum, target):
            return ok()
        return wrong(f"it keeps {have[0]} to {have[1]} replicas at "
                     + (f"{have[2]}% CPU" if have[2] is not None else "no CPU utilisation target"),
                     settled=True)

    return Check(f"hpa {name} keeps deployment {APP} between {minimum} and {maximum} replicas "
                 f"at {target}% CPU", probe, points,
                 hint=ladder(f"kubectl get hpa {name}: TARGETS, MINPODS, MAXPODS.",
                             "An HPA names its target (scaleTargetRef), the replica range and "
                             "the average utilisation to aim for.",
                             "kubectl autoscale deployment <name> --cpu=<percent>% "
                             "--min=<n> --max=<n> --dry-run=client -o yaml | kubectl apply -f -"))


def scaling_active(name: str) -> Check:
    """The HPA controller could compute a replica count from the CPU metric."""

    def probe(ctx: Context) -> Outcome:
        obj = ctx.snapshot.get(HPA, name)
        if obj is None:
            return wrong(f"there is no horizontalpodautoscaler {name}", missing=True)
        status = dig(obj, "status.conditions[ScalingActive].status")
        if status == "True":
            return ok(str(dig(obj, "status.conditions[ScalingActive].reason")))
        if status is None:
            return wrong("it has no ScalingActive condition yet")
        reason = dig(obj, "status.conditions[ScalingActive].reason")
        message = str(dig(obj, "status.conditions[ScalingActive].message") or "")
        return wrong(f"ScalingActive is False ({reason}): {message[:200]}")

    return Check(f"hpa {name} reads its pods' CPU utilisation (ScalingActive)", probe,
                 hint=ladder(f"kubectl describe hpa {name}: Conditions and Events.",
                             "Utilisation is usage divided by the container's CPU request: "
                             "without a request there is nothing to divide by.",
                             "kubectl set resources deployment <name> --requests=cpu=<m> "
                             "--limits=cpu=<m>"))


def replicas(name: str, count: int, *, description: str,
             hint: tuple[str, str, str]) -> Check:
    """The HPA has brought its target to ``count`` replicas (``status.currentReplicas``)."""

    def probe(ctx: Context) -> Outcome:
        obj = ctx.snapshot.get(HPA, name)
        if obj is None:
            return wrong(f"there is no horizontalpodautoscaler {name}", missing=True)
        current = dig(obj, "status.currentReplicas")
        desired = dig(obj, "status.desiredReplicas")
        if current == count and desired == count:
            return ok(f"{current} replicas")
        return wrong(f"it has {current} replicas and wants {desired}")

    return Check(description, probe, hint=hint)


@exercise("15.requests", "Exercise 1: an autoscaler that cannot see, and its fix")
def requests() -> list[Check]:
    return [
        k.variable("predicted_targets", test=targets_unknown, points=2,
                   description="predicted_targets: what TARGETS shows for pods without a CPU "
                               "request",
                   hint=ladder("kubectl explain hpa.spec.metrics.resource.target."
                               "averageUtilization",
                               "Utilisation is a percentage of the pods' request.",
                               "a string as kubectl get hpa prints it, e.g. 'cpu: 12%/50%'")),
        autoscaler(APP, minimum=1, maximum=MAX, target=TARGET),
        k.field("deployment", APP, "spec.template.spec.containers[0].resources.requests.cpu",
                REQUEST_CPU,
                hint=ladder(f"kubectl get deployment {APP} -o yaml: resources.",
                            "The HPA divides each pod's CPU usage by its CPU request.",
                            "kubectl set resources deployment <name> --requests=cpu=<m>")),
        k.field("deployment", APP, "spec.template.spec.containers[0].resources.limits.cpu",
                LIMIT_CPU,
                hint=ladder(f"kubectl get deployment {APP} -o yaml: resources.",
                            "A limit caps what one pod may use.",
                            "kubectl set resources deployment <name> --limits=cpu=<m>")),
        scaling_active(APP),
    ]


@exercise("15.load", "Exercise 2: predict the first step, then load the app")
def scale_up() -> list[Check]:
    return [
        k.variable("predicted_utilisation", test=percent(UTILISATION),
                   description="predicted_utilisation: the CPU % TARGETS shows for one pod at "
                               "its limit",
                   hint=ladder("Usage 500m, request 200m.",
                               "Utilisation is usage divided by request, in percent.",
                               "a number: 100 * usage / request")),
        k.variable("predicted_replicas", expected=FIRST_STEP, points=2,
                   description="predicted_replicas: how many replicas the HPA asks for first",
                   hint=ladder("One replica at your predicted utilisation, target 50%.",
                               "desired = ceil(current * utilisation / target), no more than "
                               "maxReplicas (and at most double, or 4 more, per step).",
                               "an int")),
        replicas(APP, MAX, description=f"hpa {APP} scaled the deployment up to {MAX} under load",
                 hint=ladder(f"kubectl get hpa {APP}: REPLICAS; kubectl get pod load-generator",
                             "Under the load generator every pod works at its limit until "
                             "maxReplicas is reached.",
                             "kubectl describe hpa <name>: the SuccessfulRescale events")),
    ]


@exercise("15.behavior", "Exercise 3: a scale-down behaviour written from words")
def scale_down() -> list[Check]:
    return [
        autoscaler(APP, minimum=1, maximum=MAX, target=TARGET),
        k.field(HPA, APP, "spec.behavior.scaleDown.stabilizationWindowSeconds", WINDOW,
                points=2,
                hint=ladder(f"kubectl get hpa {APP} -o yaml: spec.behavior.",
                            "The stabilisation window is how far back the controller looks "
                            "for the highest recommendation before it scales down.",
                            "kubectl explain hpa.spec.behavior.scaleDown")),
        k.field(HPA, APP, "spec.behavior.scaleDown.policies", POLICY, points=2,
                hint=ladder(f"kubectl get hpa {APP} -o yaml: spec.behavior.scaleDown.",
                            "A policy limits how much one step may change: a type (Pods or "
                            "Percent), a value and a period.",
                            "kubectl explain hpa.spec.behavior.scaleDown.policies")),
        replicas(APP, 1, description=f"hpa {APP} scaled the deployment back down to 1",
                 hint=ladder(f"kubectl describe hpa {APP}: the events.",
                             "Usage falls over a minute of samples; then the window, then "
                             "the policy's steps.",
                             f"kubectl wait --for=jsonpath='{{.status.currentReplicas}}'=1 "
                             f"hpa/{APP}")),
    ]
