"""Lesson 08 — a web API: the workshop's .NET Core sample behind a LoadBalancer."""

from __future__ import annotations

from urllib.parse import quote

from autograders import checks as k
from autograders.engine import Check, Context, Outcome, answer, ladder, ok, wrong
from autograders.lessons import exercise

NAME = "dotnetcorek8s-v1"
SERVICE = "dotnetcorek8s-lb"
C0 = "spec.template.spec.containers[0]"


def greets_my_name() -> Check:
    """ahoy is what the API answers for my_name, asked again by the grader."""

    def probe(ctx: Context) -> Outcome:
        name = answer(ctx, "my_name")
        value = answer(ctx, "ahoy")
        if not isinstance(name, str) or not name:
            return wrong(f"my_name is {name!r}, not a name", settled=True)
        resp = ctx.snapshot.proxy(SERVICE, 80, f"/api/hello?myname={quote(name)}")
        if resp.status != 200:
            return wrong(f"the API does not answer for my_name (HTTP {resp.status})",
                         settled=True)
        if isinstance(value, str) and value.strip() == resp.text.strip():
            return ok()
        return wrong(f"ahoy is {value!r}", settled=True)

    return Check("ahoy greets my_name", probe,
                 hint=ladder("Ask the API with the name you put in my_name.",
                             "The query string's myname parameter is what the API greets.",
                             "…/services/<service>:<port>/proxy/api/hello?myname={my_name}"))


@exercise("08.deploy", "Exercise 1: deploy the web API")
def deploy() -> list[Check]:
    return [
        k.exists("deployment", NAME,
                 hint=ladder("kubectl get deployments: is dotnetcorek8s-v1 there?",
                             "The lesson describes the Deployment; write it as a manifest.",
                             "%%kubectl apply -f - with kind: Deployment, metadata.name")),
        k.field("deployment", NAME, f"{C0}.image",
                test=lambda v: isinstance(v, str) and v.endswith("mattamm/dotnetcorek8s:v1"),
                description="it runs mattamm/dotnetcorek8s:v1",
                hint=ladder("Look at the container's image.",
                            "The image names the web API's release.",
                            "image: <repository>:<tag>")),
        k.labels_include("deployment", NAME, {"app": "dotnetcorek8s", "tier": "frontend"},
                         path="spec.template.metadata.labels",
                         hint=ladder("Look at the pod template's labels.",
                                     "The Service will select pods by these labels.",
                                     "spec.template.metadata.labels: {<key>: <value>, …}")),
        k.ready_replicas(NAME, 3, hint=ladder("kubectl get deployment dotnetcorek8s-v1",
                                              "Pods count once ready for minReadySeconds.",
                                              "kubectl rollout status deployment/<name>")),
        k.field("deployment", NAME, "spec.minReadySeconds", 30,
                description="minReadySeconds is 30",
                hint=ladder("Does the spec say how long a new pod must stay ready?",
                            "minReadySeconds slows a rollout down to catch early crashes.",
                            "spec: minReadySeconds: <seconds>")),
        k.field("deployment", NAME, f"{C0}.ports[0].containerPort", 8080,
                description="the container declares port 8080",
                hint=ladder("Does your container list the port the API listens on?",
                            "containers[].ports documents the ports a container serves.",
                            "ports: - containerPort: <the API's port>")),
    ]


@exercise("08.service", "Exercise 2: put a LoadBalancer in front of it")
def service() -> list[Check]:
    return [
        k.exists("service", SERVICE,
                 hint=ladder("kubectl get services: is dotnetcorek8s-lb there?",
                             "A Service manifest: kind Service, a selector and ports.",
                             "%%kubectl apply -f - with kind: Service, metadata.name")),
        k.field("service", SERVICE, "spec.type", "LoadBalancer",
                hint=ladder("Look at the TYPE column.",
                            "A LoadBalancer gets an external address.",
                            "spec: type: <type>")),
        k.field("service", SERVICE, "spec.ports[0].port", 80,
                hint=ladder("Look at the PORT(S) column.", "port is where the Service listens.",
                            "ports: - port: <port>")),
        k.field("service", SERVICE, "spec.ports[0].targetPort", 8080,
                hint=ladder("Which port does the API in the pods listen on?",
                            "targetPort is the pods' port the Service forwards to.",
                            "ports: - targetPort: <the container's port>")),
        k.serves(SERVICE, 80, path="/api/hello", contains="Hello!",
                 description="GET /api/hello through the Service answers Hello!",
                 hint=ladder("kubectl get endpoints dotnetcorek8s-lb: any addresses?",
                             "The selector must match the pods' labels, and targetPort their "
                             "port.",
                             "kubectl get --raw /api/v1/namespaces/default/services/"
                             "<name>:<port>/proxy/api/hello")),
    ]


@exercise("08.call", "Exercise 3: call the API with your name")
def call() -> list[Check]:
    return [
        k.variable("ahoy", test=lambda v: isinstance(v, str) and v.startswith("Ahoy there, "),
                   description="ahoy holds the API's answer to your name",
                   hint=ladder("ahoy must be the text the API answers.",
                               "The API answers GET /api/hello?myname=<name>.",
                               "cluster.kubectl('get', '--raw', <proxy URL>).stdout")),
        greets_my_name(),
    ]
