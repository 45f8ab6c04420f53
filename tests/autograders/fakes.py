"""Test doubles: a cluster held in dictionaries, and a stepping clock built on ManualClock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autograders.engine import Context
from autograders.kube import Response, Snapshot
from kubelab.sandbox.clock import ManualClock


class SteppingClock:
    """The graders' Clock over the sandbox's ManualClock: pausing advances time."""

    def __init__(self) -> None:
        self.manual = ManualClock()
        self.pauses: list[float] = []
        self.on_pause: Callable[[float], None] | None = None

    def monotonic(self) -> float:
        return self.manual.monotonic()

    def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.manual.advance(seconds)
        if self.on_pause is not None:
            self.on_pause(self.manual.monotonic())


class FakeSnapshot(Snapshot):
    """A Snapshot answering from a dict: {(kind, namespace, name): object}."""

    def __init__(self, objects: dict[tuple[str, Any, str], Any],
                 logs: dict[str, str] | None = None,
                 pages: dict[tuple[str, str], Response] | None = None) -> None:
        super().__init__(reader=None)  # type: ignore[arg-type]
        self.objects = objects
        self.logs = logs or {}
        self.pages = pages or {}

    def get(self, kind: str, name: str, namespace: str | None = "default") -> Any:
        return self.objects.get((kind, namespace, name))

    def list(self, kind: str, namespace: str | None = "default", selector: str = "") -> Any:
        wanted = dict(p.split("=", 1) for p in selector.split(",") if p)
        out = []
        for (k, ns, _), obj in self.objects.items():
            labels = (obj.get("metadata") or {}).get("labels") or {}
            if k == kind and (namespace is None or ns == namespace) and \
                    all(labels.get(a) == b for a, b in wanted.items()):
                out.append(obj)
        return out

    def log(self, pod: str, namespace: str = "default", container: str | None = None) -> Any:
        return self.logs.get(pod)

    def proxy(self, service: str, port: int | str, path: str = "/",
              namespace: str = "default") -> Response:
        return self.pages.get((service, path), Response(503, "no endpoints available"))


def context(objects: dict[tuple[str, Any, str], Any],
            variables: dict[str, Any] | None = None, **kw: Any) -> Context:
    return Context(FakeSnapshot(objects, **kw), variables or {})


def deployment(name: str, *, replicas: int = 3, ready: int = 3, image: str = "nginx:1.27",
               labels: dict[str, str] | None = None) -> dict[str, Any]:
    labels = labels or {"app": name}
    return {"metadata": {"name": name, "annotations": {"deployment.kubernetes.io/revision": "2"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}},
            "status": {"replicas": ready, "readyReplicas": ready, "updatedReplicas": ready,
                       "conditions": [{"type": "Available", "status": "True"}]}}


def pod(name: str, labels: dict[str, str], *, ready: bool = True, phase: str = "Running",
        waiting: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}
    if waiting:
        status["containerStatuses"] = [{"image": "bad:tag", "state": {"waiting": {"reason": waiting}}}]
    return {"metadata": {"name": name, "labels": labels}, "spec": {"nodeName": "w1"},
            "status": status}
