"""Lesson 04 — rolling update and rollback: kdemo blue → green → blue."""

from __future__ import annotations

from autograders import checks as k
from autograders.engine import Check, ladder
from autograders.lessons import exercise

NAME = "kdemo-dep"


def _image(tag: str, hint: str | tuple[str, ...]) -> Check:
    return k.field("deployment", NAME, "spec.template.spec.containers[kdemo].image",
                   test=lambda v: isinstance(v, str) and v.endswith(f"apprenda/kdemo:{tag}"),
                   description=f"container kdemo runs apprenda/kdemo:{tag}", hint=hint)


def revision(number: int, hint: str | tuple[str, ...]) -> Check:
    return k.field("deployment", NAME,
                   "metadata.annotations.deployment\\.kubernetes\\.io/revision", str(number),
                   description=f"{NAME} is at rollout revision {number}", hint=hint)


@exercise("04.deploy", "Exercise 1: deploy kdemo v1 with a careful rolling-update strategy")
def deploy() -> list[Check]:
    return [
        k.exists("deployment", NAME,
                 hint=ladder("kubectl get deployments: is kdemo-dep there?",
                             "The lesson describes the Deployment; write it as a manifest.",
                             "%%kubectl apply -f - with kind: Deployment, metadata.name")),
        _image("v1", ladder("Look at the kdemo container's image.",
                            "Version 1 is the blue page.", "image: <repository>:<tag>")),
        k.field("deployment", NAME, "spec.strategy.rollingUpdate.maxSurge", 1,
                hint=ladder("Look at spec.strategy.rollingUpdate.",
                            "maxSurge is how many extra pods an update may add.",
                            "strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: <n>, "
                            "maxUnavailable: <n>}}")),
        k.field("deployment", NAME, "spec.strategy.rollingUpdate.maxUnavailable", 1,
                hint=ladder("Look at spec.strategy.rollingUpdate.",
                            "maxUnavailable is how many pods may be missing during an "
                            "update.",
                            "rollingUpdate: {maxUnavailable: <n>}")),
        k.field("deployment", NAME, "spec.minReadySeconds", 30,
                hint=ladder("Does the spec say how long a new pod must stay ready?",
                            "minReadySeconds: a new pod counts as available only after "
                            "being ready that long.",
                            "spec: minReadySeconds: <seconds>")),
        k.ready_replicas(NAME, 3, hint=ladder("kubectl get deployment kdemo-dep",
                                              "Pods count once ready for minReadySeconds.",
                                              "kubectl rollout status deployment/<name>")),
        k.field("deployment", NAME, "spec.template.spec.containers[kdemo].resources.requests.cpu",
                "100m", description="kdemo requests cpu 100m",
                hint=ladder("Look at the container's resources.",
                            "requests tell the scheduler how much a pod needs.",
                            "resources: {requests: {cpu: <millicores>, memory: <size>}}")),
        k.field("deployment", NAME,
                "spec.template.spec.containers[kdemo].resources.requests.memory",
                "100Mi", description="kdemo requests memory 100Mi",
                hint=ladder("Look at the container's resources.",
                            "requests tell the scheduler how much a pod needs.",
                            "resources: {requests: {cpu: <millicores>, memory: <size>}}")),
    ]


@exercise("04.upgrade", "Exercise 2: roll out version 2 (green)")
def upgrade() -> list[Check]:
    return [
        _image("v2", ladder("Look at the kdemo container's image.",
                            "Changing the pod template starts a rolling update.",
                            "kubectl set image deployment/<name> <container>=<image>")),
        k.ready_replicas(NAME, 3, hint=ladder("kubectl rollout status deployment/kdemo-dep",
                                              "The update replaces pods a few at a time.",
                                              "kubectl rollout status deployment/<name>")),
        revision(2, ladder("kubectl rollout history deployment/kdemo-dep",
                           "One template change makes one new revision.",
                           "Change the image once, with kubectl set image.")),
        k.serves("kdemo-svc", 80, contains="background-color: green",
                 description="the page is green now",
                 hint=ladder("Open the app: which colour is it?",
                             "Version 2 serves the green page.",
                             "kubectl set image deployment/<name> <container>=<image>")),
    ]


@exercise("04.rollback", "Exercise 3: roll back to version 1 (blue)")
def rollback() -> list[Check]:
    return [
        _image("v1", ladder("Look at the kdemo container's image.",
                            "A rollback brings back the previous revision's template.",
                            "kubectl rollout undo deployment/<name>")),
        k.ready_replicas(NAME, 3, hint=ladder("kubectl rollout status deployment/kdemo-dep",
                                              "The rollback is a rolling update too.",
                                              "kubectl rollout status deployment/<name>")),
        revision(3, ladder("kubectl rollout history deployment/kdemo-dep",
                           "An undo re-applies the old template as a new revision; undoing "
                           "twice goes forward again.",
                           "kubectl rollout undo deployment/<name>, once")),
        k.serves("kdemo-svc", 80, contains="background-color: blue",
                 description="the page is blue again",
                 hint=ladder("Open the app: which colour is it?",
                             "Version 1 serves the blue page.",
                             "kubectl rollout undo deployment/<name>")),
    ]

