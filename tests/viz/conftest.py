"""Shared fixtures for the diagram tests: a fake API server seeded with a recorded cluster."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kubelab.viz.model import ClusterSnapshot
from viz.fakeapi import FakeCluster
from viz.support import raw_fixture


@pytest.fixture
def fake() -> Iterator[tuple[FakeCluster, str]]:
    """A fake API server preloaded with the kubeadm-like fixture; yields (cluster, host)."""
    cluster = FakeCluster()
    data = raw_fixture("kubeadm")
    for kind in ClusterSnapshot.LIST_FIELDS:
        for obj in data.get(kind) or ():
            cluster.put(kind, obj)
    host = cluster.start()
    yield cluster, host
    cluster.stop()
