"""A small soak (``make soak`` runs 5,000 pods): pods created and deleted in rounds; the
daemon's memory, the datastore and the live Events level off instead of growing per pod."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import soak
from kubelab.sandbox import daemon


@pytest.mark.slow
def test_pod_churn_levels_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBELAB_EVENT_TTL", "100")  # 2 real seconds at speed 50
    state = tmp_path / "state"
    info = daemon.start(state, speed=50)
    try:
        rounds = soak.churn(info, pods=800, batch=50)
    finally:
        daemon.stop(state)
    print("\n" + soak.report(rounds))
    half, last = rounds[len(rounds) // 2 - 1], rounds[-1]
    # Each round makes about 5 Events per pod: without expiry 800 pods leave ~4,000.
    assert last.events < 600, soak.report(rounds)
    assert last.rss_mib - half.rss_mib < 20, soak.report(rounds)
    # Compaction keeps 10,000 revisions (about 450 to 550 pods here, by when it first runs):
    # 800 pods leave the last four rounds well past it, where the datastore
    # reuses freed pages and stops growing.
    assert last.datastore_mib - rounds[-4].datastore_mib < 3, soak.report(rounds)
    assert last.datastore_mib < 40, soak.report(rounds)
