"""A watch whose parameters fail to parse registers nothing (in-process API server)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from kubelab.sandbox import bootstrap
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.server.app import KubeApi, ServerConfig
from kubelab.sandbox.storage import Registry

AUTH = {"Authorization": "Bearer t"}


@pytest.fixture
async def api() -> AsyncIterator[tuple[TestClient, Registry]]:  # type: ignore[type-arg]
    registry = Registry(ManualClock())
    bootstrap.seed(registry, 1)
    server = TestServer(KubeApi(registry, ManualClock(), ServerConfig("t", {})).app(),
                        host="127.0.0.1")
    async with TestClient(server) as client:
        yield client, registry
    registry.close()


@pytest.mark.parametrize("query", [
    "watch=true&timeoutSeconds=nan", "watch=true&timeoutSeconds=1.5",
    "watch=true&limit=x", "watch=1&fieldSelector=spec.bogus%3Dx",
    "watch=true&resourceVersion=abc", "watch=true&labelSelector=a%20in%20(",
])
async def test_a_watch_that_fails_to_parse_registers_nothing(
        api: tuple[TestClient, Registry], query: str) -> None:  # type: ignore[type-arg]
    client, registry = api
    before = registry.watcher_count
    response = await client.get(f"/api/v1/namespaces/default/pods?{query}", headers=AUTH)
    body = await response.json()
    assert response.status == 400, body
    assert (body["kind"], body["reason"]) == ("Status", "BadRequest")
    assert registry.watcher_count == before


async def test_a_good_watch_registers_and_unregisters(
        api: tuple[TestClient, Registry]) -> None:  # type: ignore[type-arg]
    client, registry = api
    before = registry.watcher_count
    response = await client.get("/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=1",
                                headers=AUTH)
    assert response.status == 200
    assert registry.watcher_count == before + 1
    response.close()
