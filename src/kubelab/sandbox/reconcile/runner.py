"""Runs reconcilers: watch → work queue → reconcile → write, like client-go controllers.

The queue follows client-go's ``workqueue`` invariants: a key is queued at most once (*dirty*
set), is never processed by two workers at once (*processing* set), and a key dirtied while it
was being processed is queued again afterwards. Failed writes (a 409 from a stale read) are
retried with a per-key back-off; ``Result.requeue_after`` schedules a later visit on the
sandbox clock (simulated seconds).

Every component gets its own queue and worker task, so a slow or stalled component (the
lessons stop a kubelet on purpose) never blocks the others: the same isolation real
components get by being separate processes.

Event handlers run off the commit path, as client-go's informers run them off the watch:
inside a commit a runner only notes the event (O(1): one dictionary entry per changed object,
a newer event replacing an older one for the same object unless the object's routing —
labels, owners, node — changed in between) and queues :data:`EVENTS`; its worker then maps
the noted events to keys with the component's ``keys_for`` (the handler) and reconciles
those. A handler that raises is logged with its traceback (once per object, then at debug
level) and never reaches the writer whose commit announced the event.

Unlike real components, these share one event loop with the API server. Clients come
first: all runners together draw on one :class:`TurnBudget` of reconcile time per slice
of real time, and wait for the next slice when it is spent, so a flood of reconcile work
(300 pods at once) slows itself down rather than the requests of ``kubectl`` and the
watches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.errors import ApiError
from kubelab.sandbox.clock import Clock, add_busy_check, call_later_background, demote
from kubelab.sandbox.reconcile.events import EventRecorder
from kubelab.sandbox.reconcile.types import (
    Action,
    Bind,
    Create,
    Delete,
    Key,
    Reconciler,
    RecordEvent,
    Result,
    Update,
    UpdateStatus,
)
from kubelab.sandbox.storage import Registry
from kubelab.sandbox.store.registry import RegistrySnapshot, WatchEvent

log = logging.getLogger("kubelab.sandbox.reconcile")

#: The queue entry meaning "events arrived": processing it runs the handlers (``keys_for``).
EVENTS = Key("", "", "")


def _routing(obj: Any) -> tuple[Any, Any, Any, Any]:
    """What handlers route an object by: its namespace, labels, owners and node."""
    if not isinstance(obj, dict):
        return (None, None, None, None)
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    spec = obj.get("spec")
    node = spec.get("nodeName") if isinstance(spec, dict) else None
    return (meta.get("namespace"), meta.get("labels"), meta.get("ownerReferences"), node)


#: How a node-bound component (a kubelet) names the node an object of one kind belongs to:
#: ``node_routes`` on the component maps a resource (``pods``) to such a function.
NodeOf = Callable[[Any], str | None]


class Dispatcher:
    """One subscription to the registry for every runner, routing each event by a table.

    An event reaches only the runners whose component watches its kind (a Lease renewal
    wakes the kubelet that renewed it and the node lifecycle controller, not the ReplicaSet
    controller), and for a node-bound component (``node`` and ``node_routes``: a kubelet,
    which upstream watches its pods with ``fieldSelector=spec.nodeName=<node>``) only the
    events of its own node: the node is computed once per event and looked up, rather than
    fifty kubelets each testing every pod.
    """

    def __init__(self, registry: Registry) -> None:
        self._by_kind: dict[str, list[ComponentRunner]] = {}
        #: resource -> [(node_of, node -> runners)]
        self._by_node: dict[str, list[tuple[NodeOf, dict[str, list[ComponentRunner]]]]] = {}
        self._runners = 0
        self._registry = registry
        self._unsubscribe: Callable[[], None] | None = None
        #: Runner notifications so far (for tests and benchmarks).
        self.delivered = 0

    def add(self, runner: ComponentRunner) -> Callable[[], None]:
        """Route ``runner``'s kinds to it; returns how to stop."""
        component = runner.component
        routes: dict[str, NodeOf] = dict(getattr(component, "node_routes", None) or {})
        node = getattr(component, "node", None)
        added: list[list[ComponentRunner]] = []
        for info in component.watches:
            resource = info.group_resource
            node_of = routes.get(resource) if isinstance(node, str) else None
            if node_of is None:
                target = self._by_kind.setdefault(resource, [])
            else:
                tables = self._by_node.setdefault(resource, [])
                table = next((t for f, t in tables if f is node_of), None)
                if table is None:
                    table = {}
                    tables.append((node_of, table))
                target = table.setdefault(str(node), [])
            if runner not in target:
                target.append(runner)
                added.append(target)
        self._runners += 1
        if self._unsubscribe is None:
            self._unsubscribe = self._registry.subscribe(self._on_event)

        def remove() -> None:
            for target in added:
                if runner in target:
                    target.remove(runner)
            self._runners -= 1
            if self._runners == 0 and self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None

        return remove

    def _on_event(self, event: WatchEvent) -> None:
        resource = event.info.group_resource
        for runner in self._by_kind.get(resource, ()):
            runner._on_event(event)
            self.delivered += 1
        for node_of, table in self._by_node.get(resource, ()):
            node = node_of(event.obj)
            if node:
                for runner in table.get(node, ()):
                    runner._on_event(event)
                    self.delivered += 1


_dispatchers: weakref.WeakKeyDictionary[Any, Dispatcher] = weakref.WeakKeyDictionary()


def dispatcher_for(registry: Registry) -> Dispatcher:
    """The one dispatcher of every runner on ``registry``."""
    found = _dispatchers.get(registry)
    if found is None:
        found = _dispatchers[registry] = Dispatcher(registry)
    return found


class WorkQueue:
    """A fair, de-duplicating queue of keys (client-go ``workqueue.Type``)."""

    def __init__(self) -> None:
        self._queue: deque[Key] = deque()
        self._dirty: set[Key] = set()
        self._processing: set[Key] = set()
        self._wakeup = asyncio.Event()

    def add(self, key: Key) -> None:
        if key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._wakeup.set()

    async def get(self) -> Key:
        while not self._queue:
            self._wakeup.clear()
            await self._wakeup.wait()
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def done(self, key: Key) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wakeup.set()

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def busy(self) -> bool:
        """Keys waiting or being processed (a virtual clock must not skip time then)."""
        return bool(self._queue or self._processing)


class TurnBudget:
    """Reconcile time the components may take: ``share`` of every ``window`` real seconds.

    Measured with the clock's monotonic reading; when a slice's share is spent, the next
    runner waits for the slice to end, leaving the rest of it to the API server's requests
    and watches. Under a manual clock nothing is ever spent, so tests never wait.
    """

    def __init__(self, clock: Clock, share: float = 0.6, window: float = 0.02) -> None:
        self.clock = clock
        self.share = share
        self.window = window
        self._start = clock.monotonic()
        self._spent = 0.0
        #: Times a runner waited for the next slice (for tests and benchmarks).
        self.waits = 0

    async def turn(self) -> None:
        """Return when a reconcile may run (at once, unless this slice is spent)."""
        now = self.clock.monotonic()
        left = self._start + self.window - now
        if left <= 1e-6:
            self._start, self._spent = now, 0.0
            return
        if self._spent < self.share * self.window:
            return
        self.waits += 1
        await self.clock.sleep(left * self.clock.speed)
        self._start, self._spent = self.clock.monotonic(), 0.0

    def charge(self, seconds: float) -> None:
        self._spent += max(0.0, seconds)


_budgets: weakref.WeakKeyDictionary[Any, TurnBudget] = weakref.WeakKeyDictionary()


def shared_budget(clock: Clock) -> TurnBudget:
    """The one budget of every runner on ``clock`` (one sandbox, one loop, one budget)."""
    budget = _budgets.get(clock)
    if budget is None:
        budget = _budgets[clock] = TurnBudget(clock)
    return budget


class ComponentRunner:
    """Drives one reconciler against the registry."""

    def __init__(self, component: Reconciler, registry: Registry, clock: Clock,
                 recorder: EventRecorder, budget: TurnBudget | None = None, *,
                 field_manager: str | None = None) -> None:
        self.component = component
        #: Who this component's writes are in ``managedFields``: its binary's name
        #: (``kube-controller-manager``, ``kube-scheduler``, ``kubelet``), as client-go's
        #: User-Agent makes it upstream; the component's own name when not given.
        self.field_manager = field_manager or component.name
        self.registry = registry
        self.clock = clock
        self.recorder = recorder
        self.budget = budget or shared_budget(clock)
        self.snapshot = RegistrySnapshot(registry)
        self.queue = WorkQueue()
        self._watched = {id(info) for info in component.watches}
        self._failures: dict[Key, int] = {}
        #: Events noted in commits and not yet handled, per object (see the module docstring).
        self._pending: dict[tuple[int, str, str], list[WatchEvent]] = {}
        #: Handler calls so far (``keys_for``), for tests and benchmarks.
        self.handled = 0
        self._bad_objects: set[Any] = set()
        self._timers: dict[Key, Any] = {}
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Any = None
        self._unregister_busy: Any = None
        self.paused = False
        self.reconciles = 0
        self.last_error: str | None = None

    @property
    def name(self) -> str:
        return self.component.name

    def start(self) -> None:
        self._unsubscribe = dispatcher_for(self.registry).add(self)
        self._unregister_busy = add_busy_check(self.clock, lambda: self.queue.busy)
        # Components with work that no object announces yet (a kubelet registering its Node,
        # the static pod manager publishing mirror pods) say so with initial_keys().
        self.resync()
        self._task = asyncio.get_running_loop().create_task(self._work(),
                                                            name=f"runner:{self.name}")

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._unregister_busy is not None:
            self._unregister_busy()
            self._unregister_busy = None
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._pending.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _on_event(self, event: WatchEvent) -> None:
        """Inside the writer's commit: note the event, queue :data:`EVENTS`; nothing else."""
        if id(event.info) not in self._watched:
            return
        meta = event.obj.get("metadata") if isinstance(event.obj, dict) else None
        meta = meta if isinstance(meta, dict) else {}
        slot = (id(event.info), str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        noted = self._pending.get(slot)
        if noted is None:
            self._pending[slot] = [event]
        elif _routing(noted[-1].obj) == _routing(event.obj):
            noted[-1] = event  # the handler would see the same routing: only the newest counts
        else:
            noted.append(event)
        self.queue.add(EVENTS)

    def handle_events(self) -> int:
        """Run the handlers for the events noted so far; return how many ran."""
        pending, self._pending = self._pending, {}
        ran = 0
        for events in pending.values():
            for event in events:
                self._enqueue_for(event.info, event.obj)
                ran += 1
        return ran

    def _enqueue_for(self, info: kinds.KindInfo, obj: dict[str, Any]) -> None:
        self.handled += 1
        try:
            for key in self.component.keys_for(info, obj, self.snapshot):
                self.queue.add(key)
        except Exception:  # a buggy handler must not take the store down with it
            meta = obj.get("metadata") if isinstance(obj, dict) else None
            uid = meta.get("uid") if isinstance(meta, dict) else None
            # One malformed object must not flood the log on every one of its events: the
            # traceback once per object, then a debug line.
            if uid not in self._bad_objects:
                if len(self._bad_objects) > 10_000:
                    self._bad_objects.clear()
                self._bad_objects.add(uid)
                log.exception("%s: keys_for failed on %s %s", self.name, info.kind,
                              meta.get("name") if isinstance(meta, dict) else "?")
            else:
                log.debug("%s: keys_for failed again on %s", self.name, uid)

    def resync(self) -> None:
        """Queue every key again (a restarted component relists everything)."""
        for info in self.component.watches:
            for obj in list(self.registry.iter_objects(info)):
                self._enqueue_for(info, obj)
        initial_keys = getattr(self.component, "initial_keys", None)
        if callable(initial_keys):
            for key in initial_keys():
                self.queue.add(key)

    def enqueue(self, key: Key) -> None:
        self.queue.add(key)

    def _later(self, key: Key, sim_seconds: float, *, background: bool = False) -> None:
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()

        def fire() -> None:
            self._timers.pop(key, None)
            self.queue.add(key)

        self._timers[key] = (call_later_background(self.clock, sim_seconds, fire)
                             if background else self.clock.call_later(sim_seconds, fire))

    async def _work(self) -> None:
        while True:
            key = await self.queue.get()
            try:
                if self.paused and key != EVENTS:
                    continue
                await self.budget.turn()
                started = self.clock.monotonic()
                self.process(key)
                self.budget.charge(self.clock.monotonic() - started)
            finally:
                self.queue.done(key)
            await asyncio.sleep(0)

    def process(self, key: Key) -> None:
        """Reconcile one key and apply its actions; requeue on conflict or request.

        The handlers of every event noted so far run first (:data:`EVENTS` only runs them).
        """
        # Handlers first: a component's own caches (the scheduler's requested resources per
        # node) then agree with the snapshot its reconcile reads, its own last writes included.
        self.handle_events()
        if key == EVENTS:
            return
        self.reconciles += 1
        try:
            result: Result = self.component.reconcile(self.snapshot, key, self.clock)
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            if key not in self._failures:
                log.exception("%s: reconcile %s failed", self.name, key)
            else:  # retried with back-off; the traceback was logged the first time
                log.debug("%s: reconcile %s failed again: %s", self.name, key, exc)
            self._retry(key)
            return
        failed = False
        for action in result.actions:
            try:
                self.apply(action)
            except ApiError as err:
                if isinstance(action, Create) and action.on_error is not None:
                    event = action.on_error
                    self.recorder.record(RecordEvent(
                        event.involved, event.type, event.reason,
                        event.message + err.message, event.component, event.host,
                        event.field_path))
                if isinstance(action, Create) and action.on_failure is not None:
                    with contextlib.suppress(ApiError):  # a stale status: the retry redoes it
                        self.apply(action.on_failure(err.message))
                if err.code in (404, 409, 410):
                    log.debug("%s: %s on %s: %s", self.name, err.code, key, err.message)
                else:
                    log.warning("%s: action on %s failed: %s", self.name, key, err.message)
                failed = True
                break
        if failed:
            self._retry(key)
            return
        self._failures.pop(key, None)
        if result.requeue_after is not None:
            self._later(key, result.requeue_after, background=result.background)
        elif (pending := self._timers.get(key)) is not None:
            # The key's latest reconcile asks for no later visit: an earlier one still
            # pending (a Deployment's progress-deadline check, made while it rolled out)
            # fires as upstream's delaying queue would, but nobody waits for it, so a
            # virtual clock does not skip idle time for it.
            demote(self.clock, pending)

    def _retry(self, key: Key) -> None:
        n = self._failures.get(key, 0) + 1
        self._failures[key] = n
        # Back-off in *real* time: 5 ms doubling to 10 s (client-go's controller rate
        # limiter starts at 5 ms; its 1000 s cap would leave a learner who just raised a
        # quota waiting for minutes). Expressed in simulated seconds for the clock.
        real = min(0.005 * (2 ** min(n - 1, 20)), 10.0)
        self._later(key, real * self.clock.speed)

    def apply(self, action: Action) -> None:
        reg = self.registry
        finalize = getattr(action, "finalize", None)
        if callable(finalize):
            # Actions that carry their own write (the namespace controller's /finalize).
            finalize(reg)
        elif isinstance(action, RecordEvent):
            self.recorder.record(action, self.field_manager)
        elif isinstance(action, Create):
            reg.create(action.info, action.obj, manager=action.manager or self.field_manager,
                       copy_result=False,
                       namespace=action.obj.get("metadata", {}).get("namespace", ""))
        elif isinstance(action, Update):
            reg.update(action.info, action.obj, manager=action.manager or self.field_manager,
                       copy_result=False,
                       namespace=action.obj.get("metadata", {}).get("namespace", ""))
        elif isinstance(action, UpdateStatus):
            reg.update(action.info, action.obj, subresource="status",
                       manager=self.field_manager, copy_result=False,
                       namespace=action.obj.get("metadata", {}).get("namespace", ""))
        elif isinstance(action, Delete):
            reg.delete(action.info, action.namespace, action.name,
                       propagation=action.propagation,
                       grace_period_seconds=action.grace_period_seconds, uid=action.uid)
        elif isinstance(action, Bind):
            reg.bind(action.namespace, action.name, action.node, action.uid, copy_result=False)
        else:
            raise TypeError(f"unknown action {action!r}")
