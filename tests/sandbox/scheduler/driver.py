"""A synchronous driver: the real registry, a manual clock and one component's runner.

Events reach the component as they do in the sandbox (the registry notifies its subscribers
inside each commit, and the runner notes them); :meth:`Driver.drain` then runs the handlers
and processes the queued keys one by one on the test's own stack, so a test decides when
handlers and reconciles happen.
"""

from __future__ import annotations

import copy
from typing import Any

from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.reconcile.events import EventRecorder
from kubelab.sandbox.reconcile.runner import ComponentRunner
from kubelab.sandbox.reconcile.types import Reconciler
from kubelab.sandbox.storage import Registry

Obj = dict[str, Any]
NODES = kinds.core("nodes")
PODS = kinds.core("pods")
NAMESPACES = kinds.core("namespaces")


class Driver:
    def __init__(self, component: Reconciler) -> None:
        self.clock = ManualClock()
        self.registry = Registry(self.clock)
        self.registry.create(NAMESPACES, {"metadata": {"name": "default"}})
        self.component = component
        self.runner = ComponentRunner(component, self.registry, self.clock,
                                      EventRecorder(self.registry, self.clock))

    def start(self) -> None:
        """Subscribe and list (needs a running loop for the runner's task, never awaited)."""
        self.runner.start()

    async def stop(self) -> None:
        await self.runner.stop()
        self.registry.close()

    async def drain(self, limit: int = 10_000) -> int:
        """Process queued keys until none is left; return how many were processed."""
        done = 0
        while len(self.runner.queue) and done < limit:
            key = await self.runner.queue.get()  # returns at once: the queue is not empty
            try:
                self.runner.process(key)
            finally:
                self.runner.queue.done(key)
            done += 1
        return done

    def add_node(self, node: Obj) -> Obj:
        status = node.get("status")
        stored = self.registry.create(NODES, {k: v for k, v in node.items() if k != "status"})
        stored["status"] = copy.deepcopy(status)
        return self.registry.update(NODES, stored, subresource="status")

    def add_pod(self, pod: Obj) -> Obj:
        body = copy.deepcopy(pod)
        node = body.get("spec", {}).pop("nodeName", "")
        body.pop("status", None)
        stored = self.registry.create(PODS, body, namespace="default")
        if node:
            stored = self.registry.bind("default", stored["metadata"]["name"], node)
        return stored

    def pod(self, name: str) -> Obj:
        return self.registry.get(PODS, "default", name)

    def node_of(self, name: str) -> str:
        return str(self.pod(name)["spec"].get("nodeName") or "")
