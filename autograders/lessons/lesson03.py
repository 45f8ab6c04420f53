"""Lesson 03 — services: a stable address for hello-world, reached through the API server."""

from __future__ import annotations

from autograders import checks as k
from autograders.engine import Check
from autograders.lessons import exercise


@exercise("03.expose", "Exercise 1: expose hello-world as a LoadBalancer Service")
def expose() -> list[Check]:
    return [
        k.exists("service", "hello-world",
                 hint="kubectl expose deployment hello-world --type=LoadBalancer ..."),
        k.field("service", "hello-world", "spec.type", "LoadBalancer",
                hint="Use --type=LoadBalancer."),
        k.field("service", "hello-world", "spec.ports[0].port", 80,
                hint="The Service listens on port 80 (--port=80)."),
        k.field("service", "hello-world", "spec.ports[0].targetPort", 8080,
                hint="The pods listen on 8080 (--target-port=8080)."),
    ]


@exercise("03.browse", "Exercise 2: browse the app through the service proxy")
def browse() -> list[Check]:
    return [k.variable("greeting", test=lambda v: isinstance(v, str) and "Hello" in v,
                       description="greeting holds the page the app served",
                       hint="GET /api/v1/namespaces/default/services/hello-world:80/proxy/ "
                            "and keep the text.")]


@exercise("03.nodeport", "Exercise 3: find the Service's NodePort")
def nodeport() -> list[Check]:
    return [k.variable("node_port", test=lambda v: isinstance(v, int) and 30000 <= v <= 32767,
                       description="node_port is a port number in the NodePort range",
                       hint="Read spec.ports[0].nodePort of the Service.")]
