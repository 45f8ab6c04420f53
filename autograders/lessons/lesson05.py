"""Lesson 05 — health checks: liveness and readiness probes, and a broken release held back."""

from __future__ import annotations

from autograders import checks as k
from autograders.engine import Check
from autograders.lessons import exercise

NAME = "probes-demo"
IMAGE = "quay.io/apprenda/k8s-workshop-probes"
C0 = "spec.template.spec.containers[0]"


@exercise("05.healthy", "Exercise 1: deploy version 1.0 with liveness and readiness probes")
def healthy() -> list[Check]:
    return [
        k.exists("deployment", NAME, hint="Apply the probes-demo manifest from the lesson."),
        k.field("deployment", NAME, f"{C0}.image", f"{IMAGE}:1.0",
                hint=f"Use the image {IMAGE}:1.0."),
        k.field("deployment", NAME, f"{C0}.livenessProbe.httpGet.path", "/",
                hint="A livenessProbe with httpGet on path / port 80."),
        k.field("deployment", NAME, f"{C0}.readinessProbe.httpGet.path", "/",
                hint="A readinessProbe with httpGet on path / port 80."),
        k.ready_replicas(NAME, 3, hint="Pods turn ready only after initialDelaySeconds."),
    ]


@exercise("05.broken", "Exercise 2: roll out the broken version 1.1")
def broken() -> list[Check]:
    return [
        k.field("deployment", NAME, f"{C0}.image", f"{IMAGE}:1.1",
                hint=f"Apply the same Deployment with image {IMAGE}:1.1."),
        k.field("deployment", NAME, f"{C0}.livenessProbe.httpGet.path", "/healthz",
                hint="Version 1.1 probes /healthz."),
    ]


@exercise("05.undo", "Exercise 3: undo the broken rollout")
def undo() -> list[Check]:
    return [
        k.field("deployment", NAME, f"{C0}.image", f"{IMAGE}:1.0",
                hint="kubectl rollout undo deployment/probes-demo"),
        k.ready_replicas(NAME, 3, hint="Wait for kubectl rollout status to finish."),
    ]
