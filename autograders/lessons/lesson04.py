"""Lesson 04 — rolling update and rollback: kdemo blue → green → blue."""

from __future__ import annotations

from autograders import checks as k
from autograders.engine import Check
from autograders.lessons import exercise

NAME = "kdemo-dep"


def _image(tag: str, hint: str) -> Check:
    return k.field("deployment", NAME, "spec.template.spec.containers[kdemo].image",
                   test=lambda v: isinstance(v, str) and v.endswith(f"apprenda/kdemo:{tag}"),
                   description=f"container kdemo runs apprenda/kdemo:{tag}", hint=hint)


def revision(number: int, hint: str) -> Check:
    return k.field("deployment", NAME,
                   "metadata.annotations.deployment\\.kubernetes\\.io/revision", str(number),
                   description=f"{NAME} is at rollout revision {number}", hint=hint)


@exercise("04.deploy", "Exercise 1: deploy kdemo v1 with a careful rolling-update strategy")
def deploy() -> list[Check]:
    return [
        k.exists("deployment", NAME, hint="Apply the kdemo-dep manifest from the lesson."),
        _image("v1", "Start from apprenda/kdemo:v1."),
        k.field("deployment", NAME, "spec.strategy.rollingUpdate.maxSurge", 1,
                hint="maxSurge: 1 — at most one extra pod during an update."),
        k.field("deployment", NAME, "spec.strategy.rollingUpdate.maxUnavailable", 1,
                hint="maxUnavailable: 1 — at most one pod missing during an update."),
        k.field("deployment", NAME, "spec.minReadySeconds", 30,
                hint="minReadySeconds: 30 — a new pod must stay ready 30 s to count."),
        k.ready_replicas(NAME, 3, hint="replicas: 3; wait for the rollout to finish."),
    ]


@exercise("04.upgrade", "Exercise 2: roll out version 2 (green)")
def upgrade() -> list[Check]:
    return [
        _image("v2", "kubectl set image deployment/kdemo-dep kdemo=apprenda/kdemo:v2"),
        k.ready_replicas(NAME, 3, hint="Wait with kubectl rollout status deployment/kdemo-dep."),
    ]


@exercise("04.rollback", "Exercise 3: roll back to version 1 (blue)")
def rollback() -> list[Check]:
    return [
        _image("v1", "kubectl rollout undo deployment/kdemo-dep"),
        k.ready_replicas(NAME, 3, hint="Wait with kubectl rollout status deployment/kdemo-dep."),
    ]

