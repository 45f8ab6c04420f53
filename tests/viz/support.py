"""Recorded snapshots for the diagram tests (see fixtures/build_fixtures.py)."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from kubelab.viz.model import ClusterSnapshot

FIXTURES = Path(__file__).parent / "fixtures"
NAMES = ("kubeadm", "kind", "gke", "many_pods", "ten_nodes", "node_not_ready", "rolling_update")


@cache
def _raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text())
    return data


def raw_fixture(name: str) -> dict[str, Any]:
    """A fresh, mutable copy of a recorded snapshot's data."""
    return copy.deepcopy(_raw(name))


def snapshot(name: str) -> ClusterSnapshot:
    return ClusterSnapshot.from_dict(raw_fixture(name))


def find(data: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    """The object called ``name`` in a fixture's ``kind`` list."""
    return next(o for o in data[kind] if o["metadata"]["name"] == name)
