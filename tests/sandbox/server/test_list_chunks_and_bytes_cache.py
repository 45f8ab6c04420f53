"""LIST chunking over HTTP (upstream-shaped continue tokens, a consistent walk, 410 Gone with
its own token once compacted) and the per-version bytes cache of GET, LIST and watch."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from kubelab.sandbox import bootstrap
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.errors import wire_json
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.server.app import CONTINUE_EXPIRED, KubeApi, ServerConfig
from kubelab.sandbox.storage import Registry

AUTH = {"Authorization": "Bearer t"}
CM = kinds.core("configmaps")
CMS = "/api/v1/namespaces/default/configmaps"

Api = tuple[TestClient, Registry, KubeApi]  # type: ignore[type-arg]


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    registry = Registry(ManualClock())
    bootstrap.seed(registry, 1)
    for i in range(12):
        registry.create(CM, {"metadata": {"name": f"cm-{i:02d}"}, "data": {"k": "<v&>"}},
                        namespace="default")
    kube = KubeApi(registry, ManualClock(), ServerConfig("t", {}))
    server = TestServer(kube.app(), host="127.0.0.1")
    async with TestClient(server) as client:
        yield client, registry, kube
    registry.close()


def token_of(body: dict[str, Any]) -> dict[str, Any]:
    raw = body["metadata"]["continue"]
    return json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))


async def get(client: TestClient, path: str) -> tuple[int, Any, bytes]:  # type: ignore[type-arg]
    response = await client.get(path, headers=AUTH)
    raw = await response.read()
    return response.status, json.loads(raw), raw


async def test_chunks_walk_a_consistent_list(api: Api) -> None:
    client, registry, _ = api
    status, first, _ = await get(client, f"{CMS}?limit=5")
    assert status == 200 and [i["metadata"]["name"] for i in first["items"]] == [
        f"cm-{i:02d}" for i in range(5)]
    rv = int(first["metadata"]["resourceVersion"])
    assert token_of(first) == {"v": "meta.k8s.io/v1", "rv": rv, "start": "default/cm-04\x00"}
    assert first["metadata"]["remainingItemCount"] == 7
    registry.delete(CM, "default", "cm-07")  # after the first chunk: still listed
    names = [i["metadata"]["name"] for i in first["items"]]
    body = first
    while "continue" in body["metadata"]:
        status, body, _ = await get(client, f"{CMS}?limit=5&continue={body['metadata']['continue']}")
        assert status == 200 and body["metadata"]["resourceVersion"] == str(rv)
        names += [i["metadata"]["name"] for i in body["items"]]
    assert names == [f"cm-{i:02d}" for i in range(12)]
    assert "remainingItemCount" not in body["metadata"]


async def test_a_compacted_continue_token_is_410_with_a_token_to_go_on(api: Api) -> None:
    client, registry, _ = api
    _, first, _ = await get(client, f"{CMS}?limit=5")
    registry.delete(CM, "default", "cm-07")
    registry.log.compact(registry.revision)
    status, body, _ = await get(client, f"{CMS}?limit=5&continue={first['metadata']['continue']}")
    assert status == 410
    assert (body["kind"], body["reason"], body["code"], body["message"]) == (
        "Status", "Expired", 410, CONTINUE_EXPIRED)
    assert CONTINUE_EXPIRED.startswith("The provided continue parameter is too old")
    assert token_of(body) == {"v": "meta.k8s.io/v1", "rv": -1, "start": "default/cm-04\x00"}
    # The 410's token goes on at the latest revision: cm-07 is gone there.
    status, rest, _ = await get(client, f"{CMS}?limit=50&continue={body['metadata']['continue']}")
    assert status == 200
    assert [i["metadata"]["name"] for i in rest["items"]] == [
        f"cm-{i:02d}" for i in (5, 6, 8, 9, 10, 11)]


@pytest.mark.parametrize("token", ["%%%", base64.urlsafe_b64encode(b'{"v":"x"}').decode(),
                                   base64.urlsafe_b64encode(
                                       b'{"v":"meta.k8s.io/v1","rv":3,"start":""}').decode()])
async def test_a_malformed_continue_token_is_400(api: Api, token: str) -> None:
    client, _, _ = api
    status, body, _ = await get(client, f"{CMS}?limit=5&continue={token}")
    assert status == 400 and body["message"].startswith("continue key is not valid")


async def test_bytes_are_encoded_once_per_version_and_dropped_by_every_write(api: Api) -> None:
    client, registry, kube = api
    cache = kube.encoded
    _, _, raw = await get(client, f"{CMS}/cm-01")
    stored = registry.peek(CM, "default", "cm-01")
    assert raw == wire_json(stored)  # byte for byte what the serializer writes
    misses = cache.misses
    _, _, again = await get(client, f"{CMS}/cm-01")
    assert again == raw and cache.misses == misses and cache.hits >= 1
    # A LIST encodes items without apiVersion/kind, byte-identical to a whole encode.
    _, listed, list_raw = await get(client, CMS)
    body = {"kind": "ConfigMapList", "apiVersion": "v1", "metadata": listed["metadata"],
            "items": [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")}
                      for o in (registry.peek(CM, "default", f"cm-{i:02d}") for i in range(12))]}
    assert list_raw == wire_json(body)
    # Every write drops the object's bytes: the next GET shows the new version.
    for step in range(3):
        changed = registry.get(CM, "default", "cm-01")
        changed["data"] = {"k": f"v{step}"}
        registry.update(CM, changed)
        _, fresh, raw = await get(client, f"{CMS}/cm-01")
        assert fresh["data"] == {"k": f"v{step}"}
        assert raw == wire_json(registry.peek(CM, "default", "cm-01"))
    registry.delete(CM, "default", "cm-01")
    status, _, _ = await get(client, f"{CMS}/cm-01")
    assert status == 404
    assert all(key[2] != "cm-01" for key in cache.cached_keys())
