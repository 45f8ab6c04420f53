"""Lesson 03 — services: a stable address for hello-world, reached through the API server."""

from __future__ import annotations

from typing import Any

from autograders import checks as k
from autograders.engine import Check, Context, Outcome, answer, ladder, ok, wrong
from autograders.kube import dig
from autograders.lessons import exercise


def served_page(ctx: Context) -> str | None:
    """What the Service answers right now through the API server's service proxy."""
    if ctx.snapshot.get("service", "hello-world") is None:
        return None
    resp = ctx.snapshot.proxy("hello-world", 80, "/")
    return resp.text.strip() if resp.status == 200 else None


def exact_greeting() -> Check:
    """greeting is what the app serves now, read by the grader through the same proxy."""

    def probe(ctx: Context) -> Outcome:
        value = answer(ctx, "greeting")
        page = served_page(ctx)
        if page is None:
            return wrong("the Service does not answer yet, so there is nothing to compare with")
        if isinstance(value, str) and value.strip() == page:
            return ok()
        return wrong(f"greeting is {value!r}", settled=True)

    return Check("greeting is exactly what the app serves", probe,
                 hint=ladder("Keep the whole answer, not your own text.",
                             "Assign the proxy call's return value itself.",
                             "greeting = <the proxy call>"))


def _node_port(ctx: Context) -> Any:
    return dig(ctx.snapshot.get("service", "hello-world"), "spec.ports[0].nodePort")


@exercise("03.expose", "Exercise 1: expose hello-world as a LoadBalancer Service")
def expose() -> list[Check]:
    return [
        k.exists("service", "hello-world",
                 hint=ladder("kubectl get services: is hello-world there?",
                             "kubectl expose makes a Service whose selector is the "
                             "Deployment's.",
                             "kubectl expose deployment <name> --type=<type> --port=<port> "
                             "--target-port=<port>")),
        k.field("service", "hello-world", "spec.type", "LoadBalancer",
                hint=ladder("Look at the TYPE column of kubectl get service hello-world.",
                            "ClusterIP is reachable only inside the cluster; a LoadBalancer "
                            "gets an external address (and a NodePort).",
                            "kubectl expose … --type=<type>")),
        k.field("service", "hello-world", "spec.ports[0].port", 80,
                hint=ladder("Look at the PORT(S) column.",
                            "port is where the Service listens.",
                            "kubectl expose … --port=<port>")),
        k.field("service", "hello-world", "spec.ports[0].targetPort", 8080,
                hint=ladder("Which port does the app in the pods listen on?",
                            "targetPort is the pods' port the Service forwards to.",
                            "kubectl expose … --target-port=<the container's port>")),
        k.endpoints("hello-world", 5,
                    hint=ladder("kubectl get endpointslices -l kubernetes.io/service-name=hello-world",
                                "A Service sends traffic to the ready pods its selector "
                                "matches.",
                                "kubectl describe service <name> (Selector, Endpoints)")),
        k.serves("hello-world", 80, contains="Hello Kubernetes!",
                 description="the Service answers HTTP requests on port 80",
                 hint=ladder("Open the app through the service proxy.",
                             "The proxy forwards to targetPort on a ready pod.",
                             "kubectl get --raw /api/v1/namespaces/default/services/"
                             "<name>:<port>/proxy/")),
    ]


@exercise("03.browse", "Exercise 2: browse the app through the service proxy")
def browse() -> list[Check]:
    return [
        k.variable("greeting", test=lambda v: isinstance(v, str) and "Hello" in v,
                   description="greeting holds the page the app served",
                   hint=ladder("greeting must be the text the app answers.",
                               "The API server's service proxy forwards a GET to the app.",
                               "connect_get_namespaced_service_proxy_with_path("
                               "'<name>:<port>', '<namespace>', '')")),
        exact_greeting(),
    ]


@exercise("03.nodeport", "Exercise 3: find the Service's NodePort")
def nodeport() -> list[Check]:
    return [
        k.variable("node_port", test=lambda v: isinstance(v, int) and 30000 <= v <= 32767,
                   description="node_port is a port number in the NodePort range",
                   hint=ladder("node_port must be an int between 30000 and 32767.",
                               "A LoadBalancer Service also gets a nodePort from that range.",
                               "read_namespaced_service(<name>, <namespace>)"
                               ".spec.ports[0].node_port")),
        k.variable("node_port", compute=_node_port,
                   description="node_port is the Service's node port",
                   hint=ladder("Compare with the PORT(S) column: 80:<nodePort>/TCP.",
                               "Read it from the Service, not a guess.",
                               "read_namespaced_service(<name>, <namespace>)"
                               ".spec.ports[0].node_port")),
    ]
