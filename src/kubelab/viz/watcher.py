"""Keep a live cache of the cluster for the diagram: list + watch, coalesce, call back.

This is the informer pattern of client-go (``tools/cache/reflector.go``): for each
resource, LIST to get a consistent state and its ``resourceVersion``, then WATCH from that
version and apply ADDED/MODIFIED/DELETED events to a local cache. When the server answers
``410 Gone`` (the version was compacted away) the reflector relists; on any other error it
backs off and retries. Here every resource gets one daemon thread driving the official
client's ``watch.Watch``; a publisher thread waits for the cache to change, lets a burst
settle for a fraction of a second (a rollout changes dozens of objects at once), and hands
one :class:`~kubelab.viz.model.ClusterSnapshot` to the callback, well within half a
second of the first change. ``/livez`` and ``/readyz?verbose`` change rarely and cannot be
watched, so they are polled on a slow period.

Only standard API calls are used, so the watcher works on any cluster the kubeconfig
reaches. Time (the snapshot's "now", the health poll period) comes from the injected
clock; waiting uses ``threading.Event.wait`` so :meth:`ClusterWatcher.stop` interrupts it.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from kubelab.apimachinery.types import ObjView as Obj
from kubelab.viz._clock import Clock, SystemClock
from kubelab.viz.activity import ACTIVITY_KINDS, WatchEvent
from kubelab.viz.model import ClusterSnapshot

# snapshot field → (API class, list method for all namespaces / cluster scope)
RESOURCES: dict[str, tuple[str, str]] = {
    "nodes": ("CoreV1Api", "list_node"),
    "pods": ("CoreV1Api", "list_pod_for_all_namespaces"),
    "leases": ("CoordinationV1Api", "list_lease_for_all_namespaces"),
    "events": ("CoreV1Api", "list_event_for_all_namespaces"),
    "replicasets": ("AppsV1Api", "list_replica_set_for_all_namespaces"),
    "deployments": ("AppsV1Api", "list_deployment_for_all_namespaces"),
    "services": ("CoreV1Api", "list_service_for_all_namespaces"),
    "endpointslices": ("DiscoveryV1Api", "list_endpoint_slice_for_all_namespaces"),
}
DEFAULT_KINDS: tuple[str, ...] = tuple(RESOURCES)
HTTP_GONE = 410
MAX_RECORDED_EVENTS = 20_000


def _key(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ApiException):
        return f"{exc.status} {exc.reason}".strip()
    return f"{type(exc).__name__}: {exc}"


class ClusterWatcher:
    """List+watch the resources the diagram draws; call ``on_snapshot`` after changes.

    Args:
        api_client: an official ``kubernetes.client.ApiClient`` for the cluster.
        on_snapshot: called from the publisher thread with each fresh snapshot.
        clock: source of "now" for snapshots and of the health poll period.
        kinds: which snapshot fields to watch (default: all of :data:`RESOURCES`).
        coalesce_seconds: quiet time that ends a burst of changes.
        max_delay_seconds: upper bound on the wait between a change and its callback.
        health_period_seconds: how often to poll ``/livez`` and ``/readyz?verbose``.
        watch_timeout_seconds: server-side timeout of each watch request.
        backoff_seconds: (first, max) delay between retries after errors.
        context: kubeconfig context name to put in snapshots.
        initial_sync_seconds: longest wait for the first LIST of every kind before the
            first (then partial) snapshot is published.
        record_events: keep the watch events of :data:`~kubelab.viz.activity.ACTIVITY_KINDS`
            (in order, bounded) for :meth:`take_events`, so the diagram can tell who made
            each change even when a burst is drawn as one snapshot.
    """

    def __init__(
        self,
        api_client: client.ApiClient,
        on_snapshot: Callable[[ClusterSnapshot], object],
        *,
        clock: Clock | None = None,
        kinds: Sequence[str] = DEFAULT_KINDS,
        coalesce_seconds: float = 0.08,
        max_delay_seconds: float = 0.3,
        health_period_seconds: float = 15.0,
        watch_timeout_seconds: int = 60,
        backoff_seconds: tuple[float, float] = (0.5, 10.0),
        context: str = "",
        initial_sync_seconds: float = 10.0,
        record_events: bool = False,
    ) -> None:
        unknown = set(kinds) - set(RESOURCES)
        if unknown:
            raise ValueError(f"unknown kinds: {sorted(unknown)}")
        self.api_client = api_client
        self.on_snapshot = on_snapshot
        self.clock: Clock = clock or SystemClock()
        self._last_publish = float("-inf")
        self.kinds = tuple(kinds)
        self.coalesce_seconds = coalesce_seconds
        self.max_delay_seconds = max_delay_seconds
        self.health_period_seconds = health_period_seconds
        self.watch_timeout_seconds = watch_timeout_seconds
        self.backoff_seconds = backoff_seconds
        self.context = context
        self.initial_sync_seconds = initial_sync_seconds
        self.server_version = ""
        self.errors: dict[str, str] = {}
        self.relists: dict[str, int] = dict.fromkeys(self.kinds, 0)
        self.published = 0
        self._cache: dict[str, dict[tuple[str, str], Obj]] = {k: {} for k in self.kinds}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._dirty = threading.Event()
        self._synced: set[str] = set()
        self._all_synced = threading.Event()
        self._watches: dict[str, watch.Watch] = {}
        self._threads: list[threading.Thread] = []
        self._livez: str | None = None
        self._readyz: str | None = None
        self._health_at: float | None = None
        self._force = threading.Event()
        self.record_events = record_events
        self._events: deque[WatchEvent] = deque(maxlen=MAX_RECORDED_EVENTS)

    # ------------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def start(self) -> None:
        """Start one watch thread per kind and the publisher thread (idempotent)."""
        if self.running:
            return
        self._stop.clear()
        funcs = {k: self._list_func(k) for k in self.kinds}
        self._threads = [
            threading.Thread(
                target=self._run_kind, args=(k, funcs[k]), name=f"kubelab-watch-{k}", daemon=True
            )
            for k in self.kinds
        ]
        self._threads.append(
            threading.Thread(target=self._run_publisher, name="kubelab-watch-publish", daemon=True)
        )
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop all threads; True when every thread ended within ``timeout`` seconds."""
        self._stop.set()
        self._dirty.set()
        real = SystemClock()  # a shutdown deadline is real time, even under a manual clock
        deadline = real.monotonic() + timeout
        alive = [t for t in self._threads if t.is_alive()]
        while alive and real.monotonic() < deadline:
            # A thread may be just entering a watch request; closing its socket again on
            # each round catches it once the request is open.
            for w in list(self._watches.values()):
                w.stop()
            for t in alive:
                t.join(0.02)
            alive = [t for t in alive if t.is_alive()]
        return not alive

    def refresh(self) -> None:
        """Poll health now and publish a snapshot even if nothing changed."""
        self._force.set()
        self._dirty.set()

    def wait_synced(self, timeout: float) -> bool:
        """Block until every kind has been listed once (or failed once)."""
        return self._all_synced.wait(timeout)

    # ------------------------------------------------------------------ snapshot

    def snapshot(self) -> ClusterSnapshot:
        """The cache as a snapshot taken now."""
        with self._lock:
            lists = {k: tuple(v.values()) for k, v in self._cache.items()}
        api_error = None
        for kind in ("nodes", "pods"):
            if kind in self.errors and not lists.get(kind):
                api_error = self.errors[kind]
        return ClusterSnapshot(
            now=self.clock.now(),
            livez=self._livez,
            readyz=self._readyz,
            context=self.context,
            server_version=self.server_version,
            api_error=api_error,
            **lists,
        )

    def take_events(self) -> list[WatchEvent]:
        """The recorded watch events since the last call, oldest first (then forgotten).

        A relist records nothing: the objects it replaced are compared by the diagram."""
        with self._lock:
            out = list(self._events)
            self._events.clear()
        return out

    def list_once(self) -> ClusterSnapshot:
        """List every kind and poll health synchronously, without threads.

        For a one-off drawing (a graded cell, a static export) where no background thread
        should run. Errors are recorded in :attr:`errors` and leave that kind empty.
        """
        if not self.server_version:
            self._fetch_version()
        for kind in self.kinds:
            try:
                self._relist(kind, self._list_func(kind))
            except Exception as exc:
                self._failed(kind, exc)
        self._poll_health()
        return self.snapshot()

    def _fetch_version(self) -> None:
        text = self._get_text("/version")
        try:
            self.server_version = str(json.loads(text or "")["gitVersion"])
        except (ValueError, KeyError, TypeError) as exc:
            self.errors["version"] = _describe(exc)

    # ------------------------------------------------------------------ watch threads

    def _list_func(self, kind: str) -> Callable[..., Any]:
        api_name, method = RESOURCES[kind]
        api = getattr(client, api_name)(self.api_client)
        return getattr(api, method)  # type: ignore[no-any-return]

    def _mark_synced(self, kind: str) -> None:
        if kind not in self._synced:
            self._synced.add(kind)
            if self._synced >= set(self.kinds):
                self._all_synced.set()

    def _relist(self, kind: str, func: Callable[..., Any]) -> str:
        resp = func(_preload_content=False, _request_timeout=10)
        body = json.loads(resp.data)
        items = {_key(o): o for o in body.get("items") or ()}
        with self._lock:
            self._cache[kind] = items
        self.relists[kind] += 1
        self.errors.pop(kind, None)
        self._mark_synced(kind)
        self._dirty.set()
        return str((body.get("metadata") or {}).get("resourceVersion") or "")

    def _apply(self, kind: str, event: Mapping[str, Any]) -> str | None:
        etype = event.get("type")
        obj = event.get("object") or {}
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if etype == "BOOKMARK":
            return str(rv) if rv else None
        with self._lock:
            if etype == "DELETED":
                self._cache[kind].pop(_key(obj), None)
            elif etype in ("ADDED", "MODIFIED"):
                self._cache[kind][_key(obj)] = obj
            else:
                return None
            if self.record_events and kind in ACTIVITY_KINDS:
                self._events.append(WatchEvent(etype, kind, obj))
        self._dirty.set()
        return str(rv) if rv else None

    def _run_kind(self, kind: str, func: Callable[..., Any]) -> None:
        w = watch.Watch()
        self._watches[kind] = w
        first, limit = self.backoff_seconds
        delay = first
        rv: str | None = None
        while not self._stop.is_set():
            try:
                if rv is None:
                    rv = self._relist(kind, func)
                    delay = first
                if self._stop.is_set():
                    break
                for event in w.stream(
                    func,
                    resource_version=rv,
                    allow_watch_bookmarks=True,
                    timeout_seconds=self.watch_timeout_seconds,
                    deserialize=False,
                    _request_timeout=(10, self.watch_timeout_seconds + 10),
                ):
                    if self._stop.is_set():
                        break
                    new_rv = self._apply(kind, event)
                    if new_rv:
                        rv = new_rv
            except ApiException as exc:
                if exc.status == HTTP_GONE:
                    rv = None  # our resourceVersion was compacted: relist (reflector does too)
                    continue
                rv = None
                self._failed(kind, exc)
                self._stop.wait(delay)
                delay = min(limit, delay * 2)
            except Exception as exc:  # connection reset, timeouts, bad JSON: retry
                if self._stop.is_set():
                    break
                rv = None
                self._failed(kind, exc)
                self._stop.wait(delay)
                delay = min(limit, delay * 2)

    def _failed(self, kind: str, exc: BaseException) -> None:
        self.errors[kind] = _describe(exc)
        self._mark_synced(kind)
        self._dirty.set()

    # ------------------------------------------------------------------ publisher

    def _get_text(self, path: str, query: list[tuple[str, str]] | None = None) -> str | None:
        try:
            req = self.api_client.param_serialize(
                "GET", path, query_params=query or [], auth_settings=["BearerToken"]
            )
            resp = self.api_client.call_api(*req, _request_timeout=5)
            resp.read()
        except Exception:
            return None
        if resp.status in (401, 403, 404):
            return None
        data = resp.data or b""
        return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)

    def _poll_health(self) -> bool:
        livez = self._get_text("/livez")
        readyz = self._get_text("/readyz", [("verbose", "true")])
        changed = (livez, readyz) != (self._livez, self._readyz)
        self._livez, self._readyz = livez, readyz
        self._health_at = self.clock.monotonic()
        return changed

    def _health_due(self) -> bool:
        return (
            self._health_at is None
            or self.clock.monotonic() - self._health_at >= self.health_period_seconds
        )

    def _publish(self) -> None:
        snap = self.snapshot()
        try:
            self.on_snapshot(snap)
        except Exception as exc:  # a drawing bug must not kill the watcher
            self.errors["callback"] = _describe(exc)
        self.published += 1
        self._last_publish = self.clock.monotonic()

    def _run_publisher(self) -> None:
        if not self.server_version:
            self._fetch_version()
        # The first drawing waits for every kind's first LIST (a failure counts as done).
        waited = 0.0
        while not self._all_synced.wait(0.05) and waited < self.initial_sync_seconds:
            if self._stop.is_set():
                return
            waited += 0.05
        self._poll_health()
        if self._stop.is_set():
            return
        self._dirty.clear()
        self._publish()
        while not self._stop.is_set():
            fired = self._dirty.wait(self.health_period_seconds)
            if self._stop.is_set():
                return
            if fired:
                # Leading edge: draw the first change at once; during a burst, draw at most
                # once per coalesce window so a 100-pod scale-up is not 300 redraws.
                since = self.clock.monotonic() - self._last_publish
                if since < self.coalesce_seconds and self._stop.wait(
                        self.coalesce_seconds - since):
                    return
                self._dirty.clear()
            forced = self._force.is_set()
            self._force.clear()
            health_changed = self._poll_health() if forced or self._health_due() else False
            if fired or forced or health_changed:
                self._publish()
