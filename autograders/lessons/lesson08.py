"""Lesson 08 — a web API: the workshop's .NET Core sample behind a LoadBalancer."""

from __future__ import annotations

from autograders import checks as k
from autograders.engine import Check
from autograders.lessons import exercise

NAME = "dotnetcorek8s-v1"
SERVICE = "dotnetcorek8s-lb"
C0 = "spec.template.spec.containers[0]"


@exercise("08.deploy", "Exercise 1: deploy the web API")
def deploy() -> list[Check]:
    return [
        k.exists("deployment", NAME, hint="Apply the dotnetcorek8s-v1 manifest."),
        k.field("deployment", NAME, f"{C0}.image",
                test=lambda v: isinstance(v, str) and v.endswith("mattamm/dotnetcorek8s:v1"),
                description="it runs mattamm/dotnetcorek8s:v1",
                hint="image: mattamm/dotnetcorek8s:v1"),
        k.labels_include("deployment", NAME, {"app": "dotnetcorek8s", "tier": "frontend"},
                         path="spec.template.metadata.labels",
                         hint="Pod labels app: dotnetcorek8s and tier: frontend."),
        k.ready_replicas(NAME, 3, hint="replicas: 3; wait for the rollout."),
    ]


@exercise("08.service", "Exercise 2: put a LoadBalancer in front of it")
def service() -> list[Check]:
    return [
        k.exists("service", SERVICE, hint="Apply a Service named dotnetcorek8s-lb."),
        k.field("service", SERVICE, "spec.type", "LoadBalancer", hint="type: LoadBalancer"),
        k.field("service", SERVICE, "spec.ports[0].port", 80, hint="port: 80"),
        k.field("service", SERVICE, "spec.ports[0].targetPort", 8080, hint="targetPort: 8080"),
    ]


@exercise("08.call", "Exercise 3: call the API with your name")
def call() -> list[Check]:
    return [k.variable(
        "ahoy", test=lambda v: isinstance(v, str) and v.startswith("Ahoy there, "),
        description="ahoy holds the API's answer to your name",
        hint="GET .../services/dotnetcorek8s-lb:80/proxy/api/hello?myname=<your name>.")]
