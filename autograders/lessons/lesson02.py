"""Lesson 02 — pods, deployments and scaling: the workshop's hello-world, five replicas."""

from __future__ import annotations

from typing import Any

from autograders import checks as k
from autograders.engine import Check
from autograders.lessons import exercise

IMAGE = "gcr.io/google-samples/node-hello:1.0"
LABEL = "run=load-balancer-example"


def _is_names(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(x, str) for x in value)


@exercise("02.deploy", "Exercise 1: deploy hello-world with 5 replicas")
def deploy() -> list[Check]:
    return [
        k.exists("deployment", "hello-world",
                 hint="Apply an apps/v1 Deployment named hello-world."),
        k.field("deployment", "hello-world", "spec.template.spec.containers[0].image", IMAGE,
                hint=f"The container image is {IMAGE}."),
        k.labels_include("deployment", "hello-world", {"run": "load-balancer-example"},
                         path="spec.template.metadata.labels",
                         hint="Label the pod template (and the selector) "
                              "run: load-balancer-example."),
        k.ready_replicas("hello-world", 5, hint="Ask for replicas: 5 and give the pods a "
                                                "moment to start."),
    ]


@exercise("02.scale", "Exercise 2: scale hello-world down to 2")
def scale() -> list[Check]:
    return [k.field("deployment", "hello-world", "spec.replicas", 2,
                    hint="kubectl scale deployment hello-world --replicas=2")]


@exercise("02.client", "Exercise 3: list the pods with the Python client")
def client() -> list[Check]:
    return [k.variable("pod_names", test=_is_names,
                       description="pod_names is a non-empty list of pod names",
                       hint="Build a list of metadata.name from list_namespaced_pod(...).items.")]
