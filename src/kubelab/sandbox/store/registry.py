"""The generic registry: Kubernetes object semantics on top of the kine log.

Mirrors ``k8s.io/apiserver/pkg/registry/generic/registry.Store`` and the etcd3 storage layer:

* every write gets the next cluster-wide revision as ``metadata.resourceVersion``;
* optimistic concurrency: an update carrying a stale ``resourceVersion`` gets ``409 Conflict``;
* a no-op update is not written (the revision does not move), as upstream's storage skips
  unchanged objects;
* each kind's storage (:mod:`kubelab.sandbox.store.storage`, given to the registry; the
  kinds' own live in :mod:`kubelab.sandbox.storage`) defaults, prepares and validates
  through its strategy, allocates before a create, decides graceful deletion and
  finalisation and declares its subresources; this module names no kind, so HTTP clients
  and in-process components follow the same rules; ``generation`` tracks spec changes;
* deletion honours finalizers, ``deletionTimestamp``, graceful pod deletion and the
  ``foregroundDeletion``/``orphan`` finalizers that ``propagationPolicy`` adds; the garbage
  collector controller does the rest;
* watch = rows after a revision; a revision older than the last compaction gets ``410 Gone``;
* Events expire ``event_ttl`` simulated seconds after their last write (kube-apiserver's
  ``--event-ttl``, 1 h by default, which stores Events under an etcd lease): the key is
  deleted and watchers see ``DELETED``, so Events never pile up under pod churn.

Keys are ``/registry/<resource>/<namespace>/<name>`` like the real etcd layout, so the etcd
lesson can show them.

Everything here is synchronous and runs on the sandbox's event loop thread; watchers get
events through ``asyncio.Queue``s and in-process subscribers through callbacks.
"""

from __future__ import annotations

import asyncio
import bisect
import heapq
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kubelab.apimachinery.types import Obj, deep_copy_json
from kubelab.sandbox.api import errors, kinds, quota
from kubelab.sandbox.api import patch as managed
from kubelab.sandbox.api.errors import ApiError, Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.selectors import (
    FieldSelector,
    LabelSelector,
    parse_field_selector,
    parse_label_selector,
    selector_from_match_labels,
)
from kubelab.sandbox.clock import Clock, call_later_background, rfc3339
from kubelab.sandbox.store.kine import KineLog
from kubelab.sandbox.store.names import NameGenerator
from kubelab.sandbox.store.storage import (
    CreateSubresource,
    Storage,
    StorageTable,
    Strategy,
    UpdateSubresource,
)

#: (kind, object) pairs, as the owner-reference index answers.
Dependents = list[tuple[KindInfo, Obj]]
#: Stored objects, as the controller-UID index answers.
Objects = list[Obj]

#: How many revisions of history stay watchable before compaction (etcd keeps 5 minutes;
#: a sandbox writes far less than a real cluster, so 10,000 revisions is minutes of history).
#: Compaction every COMPACT_EVERY revisions keeps the datastore level under churn: later
#: writes reuse the pages it frees.
HISTORY_REVISIONS = 10_000
COMPACT_EVERY = 1_000
#: kube-apiserver's ``--event-ttl`` default: one hour.
EVENT_TTL_SECONDS = 3600.0
#: Expired Events deleted per turn of the event loop.
EVENT_SWEEP_BATCH = 50
#: The field manager of writes no client names: the API server's own (bootstrap objects).
SERVER_MANAGER = "kube-apiserver"


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED | MODIFIED | DELETED
    info: KindInfo
    obj: Obj
    revision: int


def storage_key(info: KindInfo, namespace: str, name: str) -> str:
    return resource_prefix(info) + relative_key(info, namespace, name)


def resource_prefix(info: KindInfo) -> str:
    """The etcd key prefix of a resource (``/registry/pods/``)."""
    resource = info.plural if info.group in ("", "apps") else f"{info.group}/{info.plural}"
    return f"/registry/{resource}/"


def relative_key(info: KindInfo, namespace: str, name: str) -> str:
    """An object's key under its resource prefix (``default/web-1``), the order a LIST
    returns objects in and what a continue token's ``start`` names."""
    return f"{namespace}/{name}" if info.namespaced else name


@dataclass(frozen=True)
class ListPage:
    """One LIST chunk (``limit``/``continue``): the items, the revision they were read at,
    the key the next chunk starts at (None when this is the last one), and how many objects
    follow (``remainingItemCount``, None when unknown)."""

    items: list[Obj]
    revision: int
    next_start: str | None
    remaining: int | None


def _resource_of_key(key: str) -> tuple[KindInfo, str, str] | None:
    parts = key.split("/")[2:]
    for info in kinds.KINDS:
        prefix = info.plural if info.group in ("", "apps") else f"{info.group}/{info.plural}"
        width = len(prefix.split("/"))
        if "/".join(parts[:width]) != prefix:
            continue
        rest = parts[width:]
        if info.namespaced and len(rest) == 2:
            return info, rest[0], rest[1]
        if not info.namespaced and len(rest) == 1:
            return info, "", rest[0]
    return None


class Expired(Exception):
    """A read at a revision the log no longer holds (etcd's ``ErrCompacted``)."""

    def __init__(self, revision: int, compacted: int) -> None:
        super().__init__(f"revision {revision} is older than the last compaction "
                         f"({compacted})")
        self.revision = revision
        self.compacted = compacted


def _controller_uid(obj: Obj | None) -> str | None:
    """The uid of the ``controller: true`` owner reference ("" for none; None: no object)."""
    if obj is None:
        return None
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if isinstance(ref, dict) and ref.get("controller") and ref.get("uid"):
            return str(ref["uid"])
    return ""


def _owner_uids(obj: Obj | None) -> frozenset[str]:
    if obj is None:
        return frozenset()
    refs = (obj.get("metadata") or {}).get("ownerReferences") or ()
    return frozenset(str(r["uid"]) for r in refs if isinstance(r, dict) and r.get("uid"))


@dataclass
class Watcher:
    """One watch: a filtered queue of events fed by the registry."""

    info: KindInfo
    namespace: str | None
    labels: LabelSelector
    fields: FieldSelector
    strategy: Strategy
    queue: asyncio.Queue[WatchEvent | None] = field(default_factory=asyncio.Queue)
    closed: bool = False

    def wants(self, event: WatchEvent) -> bool:
        if event.info is not self.info:
            return False
        meta = event.obj.get("metadata", {})
        if self.namespace and meta.get("namespace") != self.namespace:
            return False
        if not self.labels.matches(meta.get("labels")):
            return False
        return self.fields.matches(self.strategy.selectable_fields(event.obj))

    def close(self) -> None:
        self.closed = True
        self.queue.put_nowait(None)


class Registry:
    """All objects of the sandbox, with Kubernetes create/update/delete/watch semantics."""

    def __init__(self, clock: Clock, path: Path | None = None, *, storages: StorageTable,
                 seed: int | None = None, max_object_bytes: int = 3 * 1024 * 1024,
                 event_ttl: float = EVENT_TTL_SECONDS,
                 object_limits: Mapping[str, int] | None = None) -> None:
        self.clock = clock
        #: group_resource -> how many such objects the whole sandbox may hold (see
        #: :meth:`_admit_limit`).
        self.object_limits: dict[str, int] = dict(object_limits or {})
        #: Each kind's storage (strategy, hooks, subresources): the only place kind rules live.
        self.storage: StorageTable = storages
        self.event_ttl = event_ttl
        # Event leases: key -> time of the last write; a heap of (written, key) to sweep.
        self._event_written: dict[str, tuple[datetime, KindInfo, str, str]] = {}
        self._event_heap: list[tuple[datetime, str]] = []
        self._event_timer: Any = None
        self.log = KineLog(path)
        self.names = NameGenerator(seed)
        self.rng = random.Random(seed)
        self.max_object_bytes = max_object_bytes
        # data[group_resource][namespace][name] -> object (the watch cache)
        self._data: dict[str, dict[str, dict[str, Obj]]] = {}
        # owner uid -> {(group_resource, namespace, name)} of the objects naming it in
        # ownerReferences: client-go's indexer as the garbage collector's graph uses it, so
        # finding an owner's dependents costs O(dependents), not a scan of every object.
        self._dependents: dict[str, set[tuple[str, str, str]]] = {}
        self._indexed_kinds: dict[str, KindInfo] = {}
        # (group_resource, controller uid) -> names' keys (namespace, name) of the objects it
        # controls, and (group_resource, namespace) -> names of the objects no controller
        # owns: kube-controller-manager's pod indexer by controller UID with its per-namespace
        # orphan key, so a ReplicaSet's sync reads its own pods and the orphans it may adopt,
        # not every pod of the cluster. Dicts used as ordered sets: answers come in the order
        # the objects joined, with no sort on every read.
        self._controlled: dict[tuple[str, str], dict[tuple[str, str], None]] = {}
        self._orphans: dict[tuple[str, str], dict[str, None]] = {}
        # group_resource -> sorted relative keys: the key order of etcd's range reads, so a
        # LIST chunk is a bisect and a slice, not a sort of every object.
        self._order: dict[str, list[str]] = {}
        # group_resource -> relative key -> object: what a LIST chunk reads its keys' objects
        # from (one lookup per item).
        self._by_key: dict[str, dict[str, Obj]] = {}
        self._subscribers: list[Callable[[WatchEvent], None]] = []
        self._watchers: list[Watcher] = []
        for row in self.log.current():
            found = _resource_of_key(row.key)
            if found and row.value is not None:
                info, ns, name = found
                self._bucket(info, ns)[name] = row.value
                self._index_owners(info, ns, name, None, row.value)
                self._order.setdefault(info.group_resource, []).append(
                    relative_key(info, ns, name))
                self._by_key.setdefault(info.group_resource, {})[
                    relative_key(info, ns, name)] = row.value
                if self.storage(info).leased:
                    # A lease outlives a restart: count the TTL from now (never shorter).
                    self._lease_event(row.key, info, ns, name)
        for keys in self._order.values():
            keys.sort()

    # ------------------------------------------------------------------ reading

    @property
    def revision(self) -> int:
        return self.log.revision

    def _bucket(self, info: KindInfo, namespace: str) -> dict[str, Obj]:
        return self._data.setdefault(info.group_resource, {}).setdefault(
            namespace if info.namespaced else "", {})

    def peek(self, info: KindInfo, namespace: str, name: str) -> Obj | None:
        """The stored object itself (do not mutate), or None."""
        buckets = self._data.get(info.group_resource, {})
        return buckets.get(namespace if info.namespaced else "", {}).get(name)

    def get(self, info: KindInfo, namespace: str, name: str) -> Obj:
        obj = self.peek(info, namespace, name)
        if obj is None:
            raise errors.not_found(info, name)
        return deep_copy_json(obj)

    def iter_objects(self, info: KindInfo, namespace: str | None = None) -> Iterator[Obj]:
        buckets = self._data.get(info.group_resource, {})
        if namespace is not None and info.namespaced:
            yield from buckets.get(namespace, {}).values()
            return
        for bucket in buckets.values():
            yield from bucket.values()

    def list_objects(self, info: KindInfo, namespace: str | None = None, *,
                     label_selector: str | LabelSelector = "",
                     field_selector: str | FieldSelector = "",
                     copies: bool = True) -> tuple[list[Obj], int]:
        """Matching objects in key order (namespace, then name) and the current revision.

        ``copies=False`` returns the stored objects themselves, for read-only callers that
        only serialise them (the HTTP layer): deep copies were 90% of a LIST's cost.
        """
        page = self.list_page(info, namespace, label_selector=label_selector,
                              field_selector=field_selector)
        items = [deep_copy_json(o) for o in page.items] if copies else page.items
        return items, page.revision

    def list_page(self, info: KindInfo, namespace: str | None = None, *,
                  label_selector: str | LabelSelector = "",
                  field_selector: str | FieldSelector = "", limit: int = 0,
                  start: str = "", revision: int | None = None) -> ListPage:
        """One LIST chunk of at most ``limit`` matches (0: all) from relative key ``start``,
        as of ``revision`` (None: now). The stored objects themselves: do not mutate.

        Like kube-apiserver reading etcd at the continue token's revision, a later chunk
        shows the objects as they were when the first chunk was read: keys written since
        are read back from the log at that revision. The cost is the chunk plus the writes
        since, never a sort or a copy of every object. A revision older than the last
        compaction raises :class:`Expired` (``410 Gone`` for the client).
        """
        labels = (label_selector if isinstance(label_selector, LabelSelector)
                  else parse_label_selector(label_selector))
        fields = (field_selector if isinstance(field_selector, FieldSelector)
                  else parse_field_selector(field_selector))
        strategy = self.storage(info).strategy
        filtered = not labels.empty or bool(fields.requirements)
        prefix = f"{namespace}/" if namespace is not None and info.namespaced else ""
        low = max(start, prefix)
        high = prefix[:-1] + chr(ord("/") + 1) if prefix else "\U0010ffff"
        keys = self._order.get(info.group_resource, [])
        first, last = bisect.bisect_left(keys, low), bisect.bisect_left(keys, high)
        current = self.revision
        if revision is None or revision >= current:
            revision = current
            changed: dict[str, Obj | None] = {}
        else:
            if revision < self.log.compact_revision:
                raise Expired(revision, self.log.compact_revision)
            base = resource_prefix(info)
            changed = {}
            for key in sorted(self.log.keys_changed_after(revision, base + low, base + high)):
                changed[key[len(base):]] = self.log.value_at(key, revision)

        objects = self._by_key.get(info.group_resource, {})
        stored = objects.get
        if not changed and not filtered:
            # The common read (as of now, no selector): a slice of the key order.
            stop = min(last, first + limit) if limit else last
            page = [objects[k] for k in keys[first:stop]]
            if stop < last:
                return ListPage(page, revision, keys[stop - 1] + "\x00", last - stop)
            return ListPage(page, revision, None, None)

        then = sorted(k for k, v in changed.items() if v is not None)
        items: list[Obj] = []
        i, j = first, 0
        last_key = ""
        while i < last or j < len(then):
            if i < last and keys[i] in changed:
                i += 1
                continue
            if j >= len(then) or (i < last and keys[i] < then[j]):
                key, obj = keys[i], stored(keys[i])
                i += 1
            else:
                key, obj = then[j], changed[then[j]]
                j += 1
            if obj is None:
                continue
            if limit and len(items) == limit:
                # More keys follow: the next chunk starts right after the last one returned.
                remaining = None
                if not filtered:
                    remaining = (last - bisect.bisect_right(keys, last_key)
                                 - sum(1 for k in changed if k > last_key and stored(k))
                                 + sum(1 for k in then if k > last_key))
                return ListPage(items, revision, last_key + "\x00", remaining)
            meta = obj.get("metadata") or {}
            if not labels.matches(meta.get("labels")):
                continue
            if fields.requirements and not fields.matches(strategy.selectable_fields(obj)):
                continue
            items.append(obj)
            last_key = key
        return ListPage(items, revision, None, None)

    def _unorder(self, info: KindInfo, key: str) -> None:
        keys = self._order.get(info.group_resource, [])
        at = bisect.bisect_left(keys, key)
        if at < len(keys) and keys[at] == key:
            del keys[at]

    def dependents(self, owner_uid: str) -> list[tuple[KindInfo, Obj]]:
        """The stored objects (do not mutate) whose ``ownerReferences`` name ``owner_uid``,
        from the owner-reference index."""
        out = []
        for resource, namespace, name in sorted(self._dependents.get(owner_uid, ())):
            info = self._indexed_kinds[resource]
            obj = self.peek(info, namespace, name)
            if obj is not None:
                out.append((info, obj))
        return out

    def controlled_by(self, info: KindInfo, controller_uid: str) -> list[Obj]:
        """The stored objects of ``info`` (do not mutate) whose controller reference names
        ``controller_uid``, from the controller index (O(result))."""
        buckets = self._data.get(info.group_resource, {})
        out = []
        for namespace, name in self._controlled.get((info.group_resource, controller_uid), ()):
            obj = buckets.get(namespace, {}).get(name)
            if obj is not None:
                out.append(obj)
        return out

    def orphans(self, info: KindInfo, namespace: str) -> list[Obj]:
        """The stored objects of ``info`` in ``namespace`` (do not mutate) that no controller
        owns: the ones a controller whose selector matches may adopt (O(orphans))."""
        bucket = self._data.get(info.group_resource, {}).get(
            namespace if info.namespaced else "", {})
        out = []
        for name in self._orphans.get((info.group_resource, namespace), ()):
            obj = bucket.get(name)
            if obj is not None:
                out.append(obj)
        return out

    def _index_controller(self, info: KindInfo, namespace: str, name: str, old: Obj | None,
                          new: Obj | None) -> None:
        before, after = _controller_uid(old), _controller_uid(new)
        if before == after:
            return
        resource = info.group_resource
        if before is not None:
            if before:
                owned = self._controlled.get((resource, before))
                if owned is not None:
                    owned.pop((namespace, name), None)
                    if not owned:
                        del self._controlled[(resource, before)]
            else:
                orphans = self._orphans.get((resource, namespace))
                if orphans is not None:
                    orphans.pop(name, None)
                    if not orphans:
                        del self._orphans[(resource, namespace)]
        if after is not None:
            if after:
                self._controlled.setdefault((resource, after), {})[(namespace, name)] = None
            else:
                self._orphans.setdefault((resource, namespace), {})[name] = None

    def _index_owners(self, info: KindInfo, namespace: str, name: str, old: Obj | None,
                      new: Obj | None) -> None:
        self._index_controller(info, namespace, name, old, new)
        before = _owner_uids(old)
        after = _owner_uids(new)
        if before == after:
            return
        entry = (info.group_resource, namespace, name)
        self._indexed_kinds[info.group_resource] = info
        for uid in before - after:
            deps = self._dependents.get(uid)
            if deps is not None:
                deps.discard(entry)
                if not deps:
                    del self._dependents[uid]
        for uid in after - before:
            self._dependents.setdefault(uid, set()).add(entry)

    # Snapshot protocol (reconcile framework): read-only, no copies.
    def snapshot_get(self, info: KindInfo, namespace: str, name: str) -> Obj | None:
        return self.peek(info, namespace, name)

    def snapshot_list(self, info: KindInfo, namespace: str | None = None,
                      labels: dict[str, str] | None = None) -> list[Obj]:
        selector = selector_from_match_labels(labels) if labels else None
        return [o for o in self.iter_objects(info, namespace)
                if selector is None or selector.matches(o["metadata"].get("labels"))]

    # ------------------------------------------------------------------ writing

    def _commit(self, info: KindInfo, obj: Obj | None, *, old: Obj | None,
                event_type: str, namespace: str, name: str) -> Obj:
        """Write one row to the log, update the cache and notify watchers."""
        key = storage_key(info, namespace, name)
        revision = self.log.next_revision()
        value = obj if obj is not None else deep_copy_json(old)
        assert value is not None
        value.setdefault("metadata", {})["resourceVersion"] = str(revision)
        create_rev = int((old or value)["metadata"].get("resourceVersion", revision)) \
            if old else revision
        text = None
        if obj is not None:
            # The datastore's size limit, on the row as it is stored (etcd refuses a value
            # over its request limit): the bytes encoded once, for the check and the row.
            text = self.log.encode(value)
            if len(text) > self.max_object_bytes:
                raise errors.too_large(self.max_object_bytes)
        self.log.append(key, value, created=old is None, deleted=obj is None,
                        create_revision=create_rev,
                        prev_revision=int(old["metadata"]["resourceVersion"]) if old else 0,
                        text=text)
        bucket = self._bucket(info, namespace)
        self._index_owners(info, namespace, name, bucket.get(name),
                           None if obj is None else value)
        relative = relative_key(info, namespace, name)
        if obj is None:
            if bucket.pop(name, None) is not None:
                self._unorder(info, relative)
                self._by_key.get(info.group_resource, {}).pop(relative, None)
        else:
            if name not in bucket:
                bisect.insort(self._order.setdefault(info.group_resource, []), relative)
            bucket[name] = value
            self._by_key.setdefault(info.group_resource, {})[relative] = value
        self._notify(WatchEvent(event_type, info, value, revision))
        if self.storage(info).leased:
            if obj is None:
                self._event_written.pop(key, None)
            else:
                self._lease_event(key, info, namespace, name)
        if revision % COMPACT_EVERY == 0:
            self.log.compact(revision - HISTORY_REVISIONS)
        return value

    # ------------------------------------------------------------------ event TTL

    def _lease_event(self, key: str, info: KindInfo, namespace: str, name: str) -> None:
        written = self.clock.now()
        self._event_written[key] = (written, info, namespace, name)
        heapq.heappush(self._event_heap, (written, key))
        self._schedule_event_sweep()

    def _schedule_event_sweep(self) -> None:
        if self._event_timer is not None or not self._event_heap:
            return
        due = self.event_ttl - self.clock.sim_elapsed(self._event_heap[0][0])
        try:
            self._event_timer = call_later_background(self.clock, max(due, 0.0) + 0.001,
                                                      self._on_sweep)
        except RuntimeError:  # no event loop yet (loading the store): swept on next write
            self._event_timer = None

    def _on_sweep(self) -> None:
        self._event_timer = None
        if self.expire_events(limit=EVENT_SWEEP_BATCH) >= EVENT_SWEEP_BATCH:
            # More are due: go on after the event loop served what waits (a burst of
            # Events from a 5,000-pod rollout must not hold the API for a second).
            try:
                self._event_timer = self.clock.call_later(0.0, self._on_sweep)
            except RuntimeError:
                self._event_timer = None
            return
        self._schedule_event_sweep()

    def expire_events(self, limit: int | None = None) -> int:
        """Delete every Event whose last write is ``event_ttl`` (simulated) seconds old (at
        most ``limit``), as its etcd lease running out does; return how many went."""
        expired = 0
        while self._event_heap and (limit is None or expired < limit):
            written, key = self._event_heap[0]
            if self.clock.sim_elapsed(written) < self.event_ttl:
                break
            heapq.heappop(self._event_heap)
            lease = self._event_written.get(key)
            if lease is None or lease[0] != written:
                continue  # rewritten since (a newer lease is queued) or already deleted
            _, info, namespace, name = lease
            old = self.peek(info, namespace, name)
            del self._event_written[key]
            if old is None:
                continue
            # _commit copies the stored object for the DELETED row; no second copy here.
            self._commit(info, None, old=old, event_type="DELETED",
                         namespace=namespace, name=name)
            expired += 1
        return expired

    def _notify(self, event: WatchEvent) -> None:
        for watcher in self._watchers:
            if not watcher.closed and watcher.wants(event):
                watcher.queue.put_nowait(event)
        for callback in list(self._subscribers):
            callback(event)

    def subscribe(self, callback: Callable[[WatchEvent], None]) -> Callable[[], None]:
        """An in-process firehose of every event (how components watch)."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def _check_namespace(self, info: KindInfo, namespace: str, name: str,
                         creating: bool) -> None:
        if not info.namespaced:
            return
        ns = self.peek(kinds.core("namespaces"), "", namespace)
        if ns is None:
            raise errors.namespace_not_found(namespace)
        if creating and ns["metadata"].get("deletionTimestamp"):
            raise errors.forbidden_namespace_terminating(info, name, namespace)

    def create(self, info: KindInfo, obj: Obj, *, namespace: str = "",
               dry_run: bool = False, manager: str = SERVER_MANAGER,
               applied: bool = False, copy_result: bool = True) -> Obj:
        """POST: default, validate, fill server fields, store; 409 if the name exists.

        ``manager`` is the writer recorded in ``metadata.managedFields`` (the request's
        ``fieldManager`` or its User-Agent's product, a component's binary name);
        ``applied``: server-side apply already recorded the write (operation ``Apply``).
        ``copy_result=False`` returns the stored object itself, for callers that only read
        or serialise it (the HTTP layer, the components' runner): a deep copy of every
        written object, managedFields included, was a third of a status write's cost.
        """
        obj = deep_copy_json(obj)
        storage = self.storage(info)
        strategy = storage.strategy
        meta = obj.setdefault("metadata", {})
        if info.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and namespace and body_ns != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent "
                    "on the request")
            namespace = namespace or body_ns or "default"
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
            namespace = ""
        obj["apiVersion"], obj["kind"] = info.api_version, info.kind
        if meta.get("resourceVersion"):
            raise errors.bad_request(
                "resourceVersion should not be set on objects to be created")
        if not meta.get("name") and meta.get("generateName"):
            for _ in range(10):
                candidate = meta["generateName"] + self.names.suffix()
                if self.peek(info, namespace, candidate) is None:
                    meta["name"] = candidate
                    break
        name = meta.get("name", "")
        strategy.default(obj)
        if not applied:
            # As kube-apiserver's create handler: the decoded, defaulted request, before
            # admission and the strategy (so allocated ClusterIPs are nobody's field).
            self._record_write(info, None, obj, manager, "")
        if info.namespaced:
            storage.admit(self, obj)
        strategy.prepare_for_create(obj)
        if storage.uid_before_validation:
            meta["uid"] = self.names.uid()
        causes = strategy.validate(obj, info) or storage.before_create(self, obj)
        if causes:
            raise errors.invalid(info, name, causes)
        self._check_namespace(info, namespace, name, creating=True)
        if self.peek(info, namespace, name) is not None:
            raise errors.already_exists(info, name)
        self._admit_limit(info, name)
        if info.namespaced and storage.quota_admitted:
            self._admit_quota(info, obj, namespace, name)
        if not storage.uid_before_validation:
            meta["uid"] = self.names.uid()
        meta["creationTimestamp"] = rfc3339(self.clock.now())
        meta.pop("deletionTimestamp", None)
        meta.pop("deletionGracePeriodSeconds", None)
        if dry_run:
            return obj
        stored = self._commit(info, obj, old=None, event_type="ADDED",
                              namespace=namespace, name=name)
        return deep_copy_json(stored) if copy_result else stored

    def update(self, info: KindInfo, obj: Obj, *, namespace: str = "",
               subresource: str | None = None, dry_run: bool = False,
               manager: str = SERVER_MANAGER, applied: bool = False, via: str = "",
               copy_result: bool = True) -> Obj:
        """PUT (main resource or an update subresource): 409 on a stale resourceVersion.

        ``manager``/``applied``/``copy_result`` as for :meth:`create`; ``via`` names the
        subresource a main-resource write came through for ``managedFields`` (``scale``).
        """
        # Read, not changed: the main resource's write is copied below; a subresource's
        # ``prepare`` copies only what counts of it (a status write: status, annotations).
        meta = obj.get("metadata") or {}
        name = meta.get("name", "")
        namespace = (namespace or meta.get("namespace") or "default") if info.namespaced \
            else ""
        old = self.peek(info, namespace, name)
        if old is None:
            raise errors.not_found(info, name)
        rv = meta.get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.stale_write(info, name)
        if meta.get("uid") and meta["uid"] != old["metadata"]["uid"]:
            raise errors.conflict(
                info, name, f"Precondition failed: UID in precondition: {meta['uid']}, "
                            f"UID in object meta: {old['metadata']['uid']}")
        storage = self.storage(info)
        strategy = storage.strategy
        sub: UpdateSubresource | None = None
        if subresource is not None:
            found = storage.subresource(subresource)
            if not isinstance(found, UpdateSubresource):
                raise errors.method_not_allowed()
            sub = found
            obj = sub.prepare(obj, old)
            obj["apiVersion"], obj["kind"] = info.api_version, info.kind
        else:
            obj = deep_copy_json(obj)
            obj["apiVersion"], obj["kind"] = info.api_version, info.kind
            strategy.default(obj)
            strategy.prepare_for_update(obj, old)
        meta = obj.setdefault("metadata", {})
        # Server-owned metadata always comes from the stored object.
        for field_name in ("uid", "creationTimestamp", "deletionTimestamp",
                           "deletionGracePeriodSeconds"):
            if field_name in old["metadata"]:
                meta[field_name] = old["metadata"][field_name]
            else:
                meta.pop(field_name, None)
        meta["namespace"] = namespace
        if not info.namespaced:
            meta.pop("namespace", None)
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if not applied:
            # A main-resource write whose storage changes nothing after validation (no
            # ``before_update`` hook, such as a Service's port allocation) is stored as the
            # field manager saw it: its walk is kept for the next write.
            self._record_write(info, old, obj, manager, subresource or via,
                               keep_walk=sub is None and not storage.changes_on_update)
        if sub is not None:
            causes = sub.validate(obj, old, info)
        else:
            causes = (strategy.validate_update(obj, old, info)
                      or storage.before_update(self, obj, old))
        if causes:
            raise errors.invalid(info, name, causes)
        if obj == old:
            return deep_copy_json(old) if copy_result else old
        if dry_run:
            return obj
        if self._ready_to_vanish(storage, obj):
            self._commit(info, None, old=obj, event_type="DELETED",
                         namespace=namespace, name=name)
            return deep_copy_json(obj) if copy_result else obj
        stored = self._commit(info, obj, old=old, event_type="MODIFIED",
                              namespace=namespace, name=name)
        return deep_copy_json(stored) if copy_result else stored

    def _record_write(self, info: KindInfo, old: Obj | None, obj: Obj, manager: str,
                      subresource: str, *, keep_walk: bool = False) -> None:
        """The field manager (``managedfields``): ``manager`` takes ownership, with
        operation ``Update``, of the fields this write added or changed (a ``status`` write:
        of anything but spec); ``metadata.managedFields`` of ``obj`` is rewritten in place."""
        managed.update_managed_fields(old, obj, manager=manager, api_version=info.api_version,
                                      kind=info.kind, now=rfc3339(self.clock.now()),
                                      subresource=subresource, in_place=True,
                                      keep_walk=keep_walk)

    def count(self, info: KindInfo) -> int:
        """How many objects of a kind the sandbox holds, in every namespace."""
        return sum(len(bucket) for bucket in self._data.get(info.group_resource, {}).values())

    def _admit_limit(self, info: KindInfo, name: str) -> None:
        """The sandbox's own ceiling on a kind (pods): refused as a ResourceQuota refuses.

        A sandbox simulation: a real cluster's ceiling is its etcd's storage quota, past which
        every write fails until an administrator compacts and defragments it. One absurd but
        valid number (``kubectl scale --replicas=1000000``) would otherwise have the ReplicaSet
        controller create pods until the sandbox runs out of memory, and again after every
        restart. Refused like a create over a ResourceQuota (403), the controllers record
        their usual ``FailedCreate`` and retry with back-off, and scaling down or deleting
        frees room.
        """
        limit = self.object_limits.get(info.group_resource)
        if limit is None or self.count(info) < limit:
            return
        raise ApiError(403, "Forbidden",
                       f'{info.group_resource} "{name}" is forbidden: exceeded the sandbox\'s '
                       f"limit of {limit} {info.plural} in the whole cluster (a limit of the "
                       "kubelab sandbox, KUBELAB_MAX_PODS; delete or scale something down "
                       "first)",
                       {"name": name, "kind": info.plural,
                        **({"group": info.group} if info.group else {})})

    def _admit_quota(self, info: KindInfo, obj: Obj, namespace: str, name: str) -> None:
        """The ResourceQuota admission plugin: refuse a create that would exceed a quota.

        Usage is computed from the live objects of the namespace (the quota controller
        publishes the same figures in ``status.used``), so two creates in a row see each
        other, as upstream's admission does by updating ``status.used`` atomically.
        """
        quotas = list(self.iter_objects(kinds.core("resourcequotas"), namespace))
        if not quotas:
            return
        tracked: set[str] = set()
        for q in quotas:
            tracked |= set((q.get("spec") or {}).get("hard") or {})
        objects = ((k, o) for k in kinds.KINDS if k.namespaced
                   for o in self.iter_objects(k, namespace))
        used = quota.namespace_usage(objects, tracked)
        # Every quota's constraints ("must specify") come before any usage comparison.
        for why in [*(quota.constraints(q, info, obj) for q in quotas),
                    *(quota.check(q, info, obj, used) for q in quotas)]:
            if why is not None:
                raise ApiError(403, "Forbidden",
                               f'{info.group_resource} "{name}" is forbidden: {why}',
                               {"name": name, "kind": info.plural,
                                **({"group": info.group} if info.group else {})})

    @staticmethod
    def _ready_to_vanish(storage: Storage, obj: Obj) -> bool:
        """An object being deleted disappears once its finalizers are gone, its storage's
        own finalisation is done and no graceful deletion is pending."""
        meta = obj.get("metadata", {})
        if not meta.get("deletionTimestamp") or meta.get("finalizers"):
            return False
        return not storage.finalizing(obj) and not meta.get("deletionGracePeriodSeconds", 0) > 0

    def delete(self, info: KindInfo, namespace: str, name: str, *,
               propagation: str | None = None, grace_period_seconds: int | None = None,
               uid: str | None = None, resource_version: str | None = None,
               dry_run: bool = False) -> tuple[Obj, bool]:
        """DELETE: returns (object, gone_now). Graceful and finalizer paths keep the object."""
        namespace = namespace if info.namespaced else ""
        old = self.peek(info, namespace, name)
        if old is None:
            raise errors.not_found(info, name)
        if uid and old["metadata"].get("uid") != uid:
            raise errors.conflict(
                info, name, f"Precondition failed: UID in precondition: {uid}, UID in object "
                            f"meta: {old['metadata'].get('uid')}")
        if resource_version and old["metadata"]["resourceVersion"] != resource_version:
            raise errors.conflict(
                info, name, f"Precondition failed: ResourceVersion in precondition: "
                            f"{resource_version}, ResourceVersion in object meta: "
                            f"{old['metadata']['resourceVersion']}")
        storage = self.storage(info)
        storage.before_delete(self, info, old)
        obj = deep_copy_json(old)
        meta = obj["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        if propagation == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        elif propagation == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        now = self.clock.now()
        grace = storage.deletion_grace(old, grace_period_seconds)
        finalizing = storage.finalizing(obj)
        if finalizers or grace > 0 or finalizing:
            if meta.get("deletionTimestamp"):
                # Already terminating: a shorter grace period may still shorten it.
                current = meta.get("deletionGracePeriodSeconds", 0)
                if grace < current:
                    meta["deletionGracePeriodSeconds"] = grace
                    meta["deletionTimestamp"] = rfc3339(now + timedelta(seconds=grace))
                    if grace == 0 and not finalizers:
                        return self._vanish(info, obj, namespace, name, dry_run)
                    if not dry_run:
                        return deep_copy_json(self._commit(
                            info, obj, old=old, event_type="MODIFIED",
                            namespace=namespace, name=name)), False
                if finalizers != list(meta.get("finalizers") or []) and not dry_run:
                    meta["finalizers"] = finalizers
                    return deep_copy_json(self._commit(
                        info, obj, old=old, event_type="MODIFIED",
                        namespace=namespace, name=name)), False
                return obj, False
            meta["deletionTimestamp"] = rfc3339(now + timedelta(seconds=grace))
            meta["deletionGracePeriodSeconds"] = grace
            if finalizers:
                meta["finalizers"] = finalizers
            storage.prepare_for_delete(obj)
            if grace == 0 and not finalizers and not finalizing:
                return self._vanish(info, obj, namespace, name, dry_run)
            if dry_run:
                return obj, False
            stored = self._commit(info, obj, old=old, event_type="MODIFIED",
                                  namespace=namespace, name=name)
            return deep_copy_json(stored), False
        return self._vanish(info, obj, namespace, name, dry_run)

    def _vanish(self, info: KindInfo, obj: Obj, namespace: str, name: str,
                dry_run: bool) -> tuple[Obj, bool]:
        if dry_run:
            return obj, True
        stored = self._commit(info, None, old=obj,
                              event_type="DELETED", namespace=namespace, name=name)
        return deep_copy_json(stored), True

    # ------------------------------------------------------------------ subresources

    def guaranteed_update(self, info: KindInfo, namespace: str, name: str,
                          try_update: Callable[[Obj], Obj], *, copy_result: bool = True) -> Obj:
        """``GuaranteedUpdate``: ``try_update`` gets the stored object (do not mutate it)
        and returns the new version (or raises an ApiError to refuse); the new version is
        written unless it is unchanged. How subresources like ``pods/binding`` write.
        ``copy_result=False`` returns the stored object itself (for callers that do not
        keep it: a deep copy of a pod was a fifth of a scheduler's bind)."""
        namespace = namespace if info.namespaced else ""
        old = self.peek(info, namespace, name)
        if old is None:
            raise errors.not_found(info, name)
        new = try_update(old)
        if new == old:
            return deep_copy_json(old) if copy_result else old
        stored = self._commit(info, new, old=old, event_type="MODIFIED",
                              namespace=namespace, name=name)
        return deep_copy_json(stored) if copy_result else stored

    def create_subresource(self, info: KindInfo, namespace: str, name: str,
                           subresource: str, body: Obj, *, dry_run: bool = False) -> Obj | None:
        """POST to a subresource (``pods/binding``, ``pods/eviction``): the kind's storage
        applies it. Returns the Status body to answer with (None: ``Success``)."""
        found = self.storage(info).subresource(subresource)
        if not isinstance(found, CreateSubresource):
            raise errors.method_not_allowed()
        return found.create(self, namespace if info.namespaced else "", name, body,
                            dry_run=dry_run)

    # ------------------------------------------------------------------ watching

    def watch(self, info: KindInfo, namespace: str | None, *, since: int | None,
              label_selector: str = "", field_selector: str = "",
              send_initial: bool = False) -> tuple[Watcher, list[WatchEvent]]:
        """Start a watch; return the watcher and the events to send before live ones.

        ``since=None`` (no resourceVersion) or ``send_initial``: synthetic ADDED events for
        every current match first. A specific revision: the log rows after it (410 if it was
        compacted away).
        """
        watcher = Watcher(info, namespace, parse_label_selector(label_selector),
                          parse_field_selector(field_selector), self.storage(info).strategy)
        backlog: list[WatchEvent] = []
        if since is None or send_initial:
            items, _ = self.list_objects(info, namespace, label_selector=watcher.labels,
                                 field_selector=watcher.fields)
            backlog = [WatchEvent("ADDED", info, o, int(o["metadata"]["resourceVersion"]))
                       for o in items]
        elif since < self.log.compact_revision:
            raise errors.gone(
                f"too old resource version: {since} ({self.log.compact_revision})")
        elif since < self.revision:
            for row in self.log.rows_after(since):
                found = _resource_of_key(row.key)
                if not found or found[0] is not info or row.value is None:
                    continue
                kind = "DELETED" if row.deleted else ("ADDED" if row.created else "MODIFIED")
                event = WatchEvent(kind, info, row.value, row.revision)
                if watcher.wants(event):
                    backlog.append(event)
        self._watchers.append(watcher)
        return watcher, backlog

    def stop_watch(self, watcher: Watcher) -> None:
        watcher.closed = True
        if watcher in self._watchers:
            self._watchers.remove(watcher)

    @property
    def watcher_count(self) -> int:
        return len(self._watchers)

    def close(self) -> None:
        for watcher in list(self._watchers):
            watcher.close()
        self._watchers.clear()
        self.log.close()


class RegistrySnapshot:
    """The registry as the read-only :class:`~kubelab.sandbox.reconcile.types.Snapshot`."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def get(self, info: KindInfo, namespace: str, name: str) -> Obj | None:
        return self._registry.snapshot_get(info, namespace, name)

    def list(self, info: KindInfo, namespace: str | None = None,
             labels: dict[str, str] | None = None) -> list[Obj]:
        return self._registry.snapshot_list(info, namespace, labels)

    def dependents(self, owner_uid: str) -> Dependents:
        """Objects naming ``owner_uid`` in their ownerReferences (an index, not a scan)."""
        return self._registry.dependents(owner_uid)

    def controlled_by(self, info: KindInfo, controller_uid: str) -> Objects:
        """Objects of ``info`` whose controller is ``controller_uid`` (an index)."""
        return self._registry.controlled_by(info, controller_uid)

    def orphans(self, info: KindInfo, namespace: str) -> Objects:
        """Objects of ``info`` in ``namespace`` with no controller (an index)."""
        return self._registry.orphans(info, namespace)


__all__ = ["ApiError", "Cause", "Expired", "ListPage", "Registry", "RegistrySnapshot", "WatchEvent",
           "storage_key"]
