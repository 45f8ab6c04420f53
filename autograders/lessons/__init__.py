"""Per-lesson exercises: the public checks each self-check cell runs.

Each lesson module registers its exercises with :func:`exercise`; ids are
``"<lesson number>.<short name>"`` (``"02.deploy"``). Hidden checks are not here: they live
in the instructor's notebooks, inside nbgrader's hidden-test markers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from autograders.engine import Check, Exercise

LESSON_MODULES = ("lesson01", "lesson02", "lesson03", "lesson04", "lesson05", "lesson05b",
                  "lesson06", "lesson07", "lesson08", "lesson09", "lesson10", "lesson11",
                  "lesson12", "lesson13", "lesson14", "lesson15")


@dataclass(frozen=True)
class Spec:
    id: str
    title: str
    build: Callable[[], list[Check]]
    timeout: float | None = None


REGISTRY: dict[str, Spec] = {}


def exercise(id: str, title: str, *, timeout: float | None = None
             ) -> Callable[[Callable[[], list[Check]]], Callable[[], list[Check]]]:
    """Decorator registering a function that builds an exercise's public checks."""

    def register(build: Callable[[], list[Check]]) -> Callable[[], list[Check]]:
        REGISTRY[id] = Spec(id, title, build, timeout)
        return build

    return register


def _load_all() -> None:
    for name in LESSON_MODULES:
        try:
            importlib.import_module(f"autograders.lessons.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"autograders.lessons.{name}":
                raise


def lookup(exercise_id: str) -> Exercise:
    if exercise_id not in REGISTRY:
        _load_all()
    if exercise_id not in REGISTRY:
        raise KeyError(f"no exercise {exercise_id!r}")
    spec = REGISTRY[exercise_id]
    ex = Exercise(spec.id, spec.title, spec.build())
    if spec.timeout is not None:
        ex.default_timeout = spec.timeout
    return ex
