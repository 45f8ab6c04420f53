"""Lesson 05 — health checks: liveness and readiness probes, and a broken release held back."""

from __future__ import annotations

from autograders import checks as k
from autograders.engine import Check, ladder
from autograders.lessons import exercise

NAME = "probes-demo"
IMAGE = "quay.io/apprenda/k8s-workshop-probes"
C0 = "spec.template.spec.containers[0]"


@exercise("05.healthy", "Exercise 1: deploy version 1.0 with liveness and readiness probes")
def healthy() -> list[Check]:
    return [
        k.exists("deployment", NAME,
                 hint=ladder("kubectl get deployments: is probes-demo there?",
                             "The lesson describes the Deployment; write it as a manifest.",
                             "%%kubectl apply -f - with kind: Deployment, metadata.name")),
        k.field("deployment", NAME, f"{C0}.image", f"{IMAGE}:1.0",
                hint=ladder("Look at the container's image tag.",
                            "Version 1.0 is the healthy release.",
                            "image: <repository>:<tag>")),
        k.field("deployment", NAME, f"{C0}.livenessProbe.httpGet.path", "/",
                hint=ladder("Does the container have a livenessProbe?",
                            "The kubelet restarts a container whose liveness probe fails.",
                            "livenessProbe: {httpGet: {path: <path>, port: <port>}, "
                            "initialDelaySeconds: <s>}")),
        k.field("deployment", NAME, f"{C0}.readinessProbe.httpGet.path", "/",
                hint=ladder("Does the container have a readinessProbe?",
                            "A pod that is not ready gets no traffic and holds a rollout "
                            "back.",
                            "readinessProbe: {httpGet: {path: <path>, port: <port>}}")),
        k.ready_replicas(NAME, 3, hint=ladder("kubectl get deployment probes-demo",
                                              "Pods turn ready only after "
                                              "initialDelaySeconds.",
                                              "kubectl rollout status deployment/<name>")),
        k.field("deployment", NAME, f"{C0}.livenessProbe.initialDelaySeconds", 30,
                description="the liveness probe waits 30 s",
                hint=ladder("How long does the liveness probe wait before the first try?",
                            "initialDelaySeconds gives the app time to start.",
                            "livenessProbe: {initialDelaySeconds: <seconds>}")),
        k.labels_include("deployment", NAME, {"version": "1.0", "tier": "frontend"},
                         path="spec.template.metadata.labels",
                         hint=ladder("Look at the pod template's labels.",
                                     "Labels say which version and tier a pod belongs to.",
                                     "spec.template.metadata.labels: {<key>: <value>, …}")),
    ]


@exercise("05.broken", "Exercise 2: roll out the broken version 1.1")
def broken() -> list[Check]:
    return [
        k.field("deployment", NAME, f"{C0}.image", f"{IMAGE}:1.1",
                hint=ladder("Look at the container's image tag.",
                            "Version 1.1 is the release under test.",
                            "image: <repository>:<tag>, applied to the same Deployment")),
        k.field("deployment", NAME, f"{C0}.livenessProbe.httpGet.path", "/healthz",
                hint=ladder("Which path do the probes of version 1.1 ask for?",
                            "The new release is probed on a new path.",
                            "livenessProbe/readinessProbe: httpGet: {path: <path>}")),
        k.event("Unhealthy", message_contains="HTTP probe failed with statuscode: 404",
                name_prefix="probes-demo",
                description="the kubelet reported failing probes (404)",
                hint=ladder("kubectl get events: do the new pods' probes fail?",
                            "The kubelet records an Unhealthy event for each failed probe.",
                            "kubectl describe pod <a new pod> (Events)")),
        k.pods("app=probes-demo", at_least=2, ready=True,
               description="at least 2 pods stay ready",
               hint=ladder("kubectl get pods -l app=probes-demo",
                           "maxUnavailable bounds how many old pods a rollout may take away "
                           "while new ones are not ready.",
                           "strategy: rollingUpdate: {maxUnavailable: <n>}")),
        k.serves("probes-demo", 80, contains="version 1.0",
                 description="the Service keeps serving version 1.0",
                 hint=ladder("Open the app: which version answers?",
                             "Pods that are not ready get no traffic.",
                             "kubectl describe service <service> (Endpoints)")),
    ]


@exercise("05.undo", "Exercise 3: undo the broken rollout")
def undo() -> list[Check]:
    return [
        k.field("deployment", NAME, f"{C0}.image", f"{IMAGE}:1.0",
                hint=ladder("Look at the container's image tag.",
                            "A rollback brings back the previous revision's template.",
                            "kubectl rollout undo deployment/<name>")),
        k.ready_replicas(NAME, 3, hint=ladder("kubectl get deployment probes-demo",
                                              "The rollback is a rolling update too.",
                                              "kubectl rollout status deployment/<name>")),
        k.pods("app=probes-demo", count=3, ready=True,
               description="exactly 3 pods, all ready",
               hint=ladder("kubectl get pods -l app=probes-demo",
                           "The broken pods go once the rollback finishes.",
                           "kubectl rollout status deployment/<name>")),
    ]
