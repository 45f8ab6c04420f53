"""One write path: kind rules live in the per-kind storages, not in the generic registry or
the HTTP dispatch, and every storage's subresource table agrees with discovery."""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path

import pytest

from kubelab.sandbox.api import kinds
from kubelab.sandbox.server import app
from kubelab.sandbox.storage import storage_for
from kubelab.sandbox.store import registry

KIND_NAMES = {k.kind for k in kinds.KINDS} | {k.plural for k in kinds.KINDS}
SUBRESOURCES = {s.name for k in kinds.KINDS for s in k.subresources}


def branches_on_names(tree: ast.AST) -> list[tuple[int, str]]:
    """Comparisons (``==``, ``!=``, ``in``…) with a kind or subresource name as a literal,
    alone or in a tuple/list/set: a branch on a kind."""
    hits = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        for operand in (node.left, *node.comparators):
            literals = operand.elts if isinstance(operand, ast.Tuple | ast.List | ast.Set) \
                else [operand]
            for lit in literals:
                if isinstance(lit, ast.Constant) and isinstance(lit.value, str) \
                        and lit.value in KIND_NAMES | SUBRESOURCES:
                    hits.append((node.lineno, lit.value))
    return hits


def test_the_scan_sees_a_kind_branch() -> None:
    code = 'if info.kind == "Service" or sub in ("status", "x"):\n    pass\n'
    assert branches_on_names(ast.parse(code)) == [(1, "Service"), (1, "status")]


def test_the_generic_registry_names_no_kind() -> None:
    tree = ast.parse(Path(registry.__file__).read_text())
    assert branches_on_names(tree) == []


@pytest.mark.parametrize("method", ["dispatch", "resource", "create", "replace", "patch",
                                    "delete", "proxy", "scale"])
def test_the_http_dispatch_names_no_kind(method: str) -> None:
    source = textwrap.dedent(inspect.getsource(getattr(app.KubeApi, method)))
    assert branches_on_names(ast.parse(source)) == []


@pytest.mark.parametrize("info", kinds.KINDS, ids=lambda k: f"{k.group or 'core'}/{k.kind}")
def test_each_storage_declares_the_subresources_discovery_lists(info: kinds.KindInfo) -> None:
    assert set(storage_for(info).subresources) == {s.name for s in info.subresources}


def test_one_storage_object_per_kind() -> None:
    pods = kinds.core("pods")
    assert storage_for(pods) is storage_for(pods)
    assert storage_for(pods) is not storage_for(kinds.core("services"))
