"""Lesson 02 — pods, deployments and scaling: the workshop's hello-world, five replicas."""

from __future__ import annotations

from typing import Any

from autograders import checks as k
from autograders.engine import Check, Context, ladder
from autograders.kube import dig
from autograders.lessons import exercise

IMAGE = "gcr.io/google-samples/node-hello:1.0"
LABEL = "run=load-balancer-example"


def _is_names(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(x, str) for x in value)


def _is_sorted_names(value: Any) -> bool:
    return _is_names(value) and value == sorted(value)


def labelled_pods(ctx: Context) -> list[str]:
    """The live (not terminating) run=load-balancer-example pods, sorted by name."""
    return sorted(str(p["metadata"]["name"]) for p in ctx.snapshot.list("pod", "default", LABEL)
                  if not dig(p, "metadata.deletionTimestamp"))


@exercise("02.deploy", "Exercise 1: deploy hello-world with 5 replicas")
def deploy() -> list[Check]:
    return [
        k.exists("deployment", "hello-world",
                 hint=ladder("kubectl get deployments: is hello-world there?",
                             "A Deployment is created from an apps/v1 manifest; "
                             "metadata.name names it.",
                             "%%kubectl apply -f - with kind: Deployment, "
                             "metadata.name: <name>")),
        k.field("deployment", "hello-world", "spec.template.spec.containers[0].image", IMAGE,
                hint=ladder("Look at the container's image in your manifest.",
                            "The pod template's containers[].image says what each pod runs.",
                            "spec.template.spec.containers: - image: <the image the lesson "
                            "names>")),
        k.labels_include("deployment", "hello-world", {"run": "load-balancer-example"},
                         path="spec.template.metadata.labels",
                         hint=ladder("Look at the pod template's labels.",
                                     "The selector finds pods by the labels the template "
                                     "gives them; both must hold the lesson's label.",
                                     "spec.selector.matchLabels and "
                                     "spec.template.metadata.labels: <key>: <value>")),
        k.field("deployment", "hello-world",
                "spec.template.spec.containers[0].ports[0].containerPort", 8080,
                description="the container declares port 8080",
                hint=ladder("Does your container list the port the app listens on?",
                            "containers[].ports documents the ports a container serves; "
                            "Services and readers of the manifest rely on it.",
                            "ports: - containerPort: <the app's port>")),
        k.ready_replicas("hello-world", 5,
                         hint=ladder("kubectl get deployment hello-world: READY shows x/y.",
                                     "spec.replicas is how many pods the Deployment keeps; "
                                     "they count once they are Ready.",
                                     "replicas: <count> in the spec, then kubectl rollout "
                                     "status deployment/<name>")),
        k.pods(LABEL, count=5, ready=True,
               description="5 ready pods carry the label run=load-balancer-example",
               hint=ladder("kubectl get pods -l run=load-balancer-example",
                           "Pods get their labels from the Deployment's pod template.",
                           "kubectl rollout status deployment/<name>")),
    ]


@exercise("02.scale", "Exercise 2: scale hello-world down to 2")
def scale() -> list[Check]:
    return [
        k.field("deployment", "hello-world", "spec.replicas", 2,
                hint=ladder("Look at spec.replicas of hello-world: how many does it ask for?",
                            "Scaling changes only spec.replicas; the ReplicaSet then adds "
                            "or removes pods.",
                            "kubectl scale deployment <name> --replicas=<count>")),
        k.ready_replicas("hello-world", 2,
                         hint=ladder("kubectl get deployment hello-world",
                                     "Removed pods terminate first; READY follows.",
                                     "kubectl rollout status deployment/<name>")),
        k.pods(LABEL, count=2,
               description="exactly 2 pods carry the label run=load-balancer-example",
               hint=ladder("kubectl get pods -l run=load-balancer-example",
                           "Terminating pods disappear once their grace period ends.",
                           "kubectl rollout status deployment/<name>")),
    ]


@exercise("02.client", "Exercise 3: list the pods with the Python client")
def client() -> list[Check]:
    return [
        k.variable("pod_names", test=_is_sorted_names,
                   description="pod_names is a sorted, non-empty list of pod names",
                   hint=ladder("pod_names must be a list of strings, sorted.",
                               "Python's sorted() returns a new sorted list.",
                               "pod_names = sorted(<names>)")),
        k.variable("pod_names", compute=labelled_pods, converging=True,
                   description="pod_names lists exactly the labelled pods, sorted",
                   hint=ladder("Compare your list with kubectl get pods -l "
                               "run=load-balancer-example.",
                               "list_namespaced_pod takes a label_selector; pods being "
                               "deleted carry metadata.deletion_timestamp.",
                               "sorted(p.metadata.name for p in core.list_namespaced_pod("
                               "<namespace>, label_selector=<selector>).items "
                               "if p.metadata.deletion_timestamp is None)")),
    ]
