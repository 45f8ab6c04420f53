"""Serialised bytes per stored object version, shared by GET, LIST and watch.

kube-apiserver's watch cache wraps each object version it sends in a ``cachingObject``
(``k8s.io/apiserver/pkg/storage/cacher/caching_object.go``), so a version is encoded once
however many watchers and readers receive it. This is the same for the sandbox: the JSON of
an object (as :func:`~kubelab.sandbox.api.errors.wire_json` writes it, without the final
newline) and of its list item form (``apiVersion``/``kind`` left out, as in a List's
``items``) are kept per object until the object's next write, which drops them (the
registry notifies every commit). Only the stored version itself is cached: an older
version read back from the log, or any other object, is encoded afresh.
"""

from __future__ import annotations

from kubelab.apimachinery.types import Obj
from kubelab.sandbox.api.errors import wire_json
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.store.registry import Registry, WatchEvent

_Key = tuple[str, str, str]


class EncodedObjects:
    """The bytes cache (see the module docstring)."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        # id(stored object) -> (the object, its bytes): a hit is one lookup and an identity
        # check (the entry holds the object, so its id is not reused while cached).
        self._full: dict[int, tuple[Obj, bytes]] = {}
        self._item: dict[int, tuple[Obj, bytes]] = {}
        # key -> id of the object version whose bytes are cached, for the write that drops them
        self._ids: dict[_Key, int] = {}
        self.hits = 0
        self.misses = 0
        self._unsubscribe = registry.subscribe(self._invalidate)

    def close(self) -> None:
        self._unsubscribe()
        self._full.clear()
        self._item.clear()
        self._ids.clear()

    def __len__(self) -> int:
        return len(self._full) + len(self._item)

    def cached_keys(self) -> list[_Key]:
        """The objects (resource, namespace, name) with bytes cached."""
        return list(self._ids)

    def _invalidate(self, event: WatchEvent) -> None:
        self._drop(_key_of(event.info, event.obj))

    def _drop(self, key: _Key) -> None:
        cached = self._ids.pop(key, None)
        if cached is not None:
            self._full.pop(cached, None)
            self._item.pop(cached, None)

    def full(self, info: KindInfo, obj: Obj) -> bytes:
        """``obj`` as a JSON object (no trailing newline)."""
        cached = self._full.get(id(obj))
        if cached is not None and cached[0] is obj:
            self.hits += 1
            return cached[1]
        return self._encode(self._full, info, obj, item=False)

    def item(self, info: KindInfo, obj: Obj) -> bytes:
        """``obj`` as a List item: without ``apiVersion`` and ``kind``."""
        cached = self._item.get(id(obj))
        if cached is not None and cached[0] is obj:
            self.hits += 1
            return cached[1]
        return self._encode(self._item, info, obj, item=True)

    def _encode(self, cache: dict[int, tuple[Obj, bytes]], info: KindInfo, obj: Obj, *,
                item: bool) -> bytes:
        self.misses += 1
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")} if item \
            else obj
        encoded = wire_json(body)[:-1]
        key = _key_of(info, obj)
        if self._registry.peek(info, key[1], key[2]) is obj:
            if self._ids.get(key) != id(obj):
                self._drop(key)
                self._ids[key] = id(obj)
            cache[id(obj)] = (obj, encoded)
        return encoded


def _key_of(info: KindInfo, obj: Obj) -> _Key:
    meta = obj.get("metadata") or {}
    namespace = str(meta.get("namespace") or "") if info.namespaced else ""
    return info.group_resource, namespace, str(meta.get("name") or "")


def list_body(kind: str, api_version: str, metadata: Obj, items: list[bytes]) -> bytes:
    """A List as kube-apiserver writes it, from encoded items (byte for byte what
    ``wire_json`` of the whole List would give)."""
    head = wire_json({"kind": kind, "apiVersion": api_version, "metadata": metadata})[:-2]
    # One copy of the items' bytes (a 1,000-pod list is megabytes).
    parts = [head + b',"items":[']
    for i, item in enumerate(items):
        if i:
            parts.append(b",")
        parts.append(item)
    parts.append(b"]}\n")
    return b"".join(parts)


def watch_event(event_type: str, encoded_object: bytes) -> bytes:
    """One watch event line around an already encoded object."""
    return b'{"type":"' + event_type.encode() + b'","object":' + encoded_object + b"}\n"
