"""LIST chunks: key order, complete and consistent pages at the first chunk's revision, and
an expired revision after compaction."""

from __future__ import annotations

import pytest

from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.storage import Registry
from kubelab.sandbox.store.registry import Expired

NS = kinds.core("namespaces")
CM = kinds.core("configmaps")


@pytest.fixture
def registry() -> Registry:
    reg = Registry(ManualClock())
    for ns in ("a", "a-b", "default"):
        reg.create(NS, {"metadata": {"name": ns}})
    for ns in ("a", "a-b", "default"):
        for i in range(7):
            reg.create(CM, {"metadata": {"name": f"cm-{i}", "labels": {"odd": str(i % 2)}},
                            "data": {"v": "1"}}, namespace=ns)
    return reg


def keys(items: list[dict]) -> list[str]:
    return [f"{o['metadata']['namespace']}/{o['metadata']['name']}" for o in items]


def walk(reg: Registry, limit: int, namespace: str | None = None, selector: str = ""
         ) -> tuple[list[str], list[int | None]]:
    page = reg.list_page(CM, namespace, limit=limit, label_selector=selector)
    got, remaining = keys(page.items), [page.remaining]
    while page.next_start is not None:
        page = reg.list_page(CM, namespace, limit=limit, label_selector=selector,
                             start=page.next_start, revision=page.revision)
        got += keys(page.items)
        remaining.append(page.remaining)
    return got, remaining


def test_pages_are_complete_in_etcd_key_order(registry: Registry) -> None:
    everything = keys(registry.list_page(CM).items)
    # etcd orders keys as strings: "a-b/..." sorts before "a/..." ('-' < '/').
    assert everything[:7] == [f"a-b/cm-{i}" for i in range(7)]
    assert everything == sorted(everything) and len(everything) == 21
    for limit in (1, 4, 7, 20, 21, 50):
        got, remaining = walk(registry, limit)
        assert got == everything
        expected = [21 - limit * (n + 1) for n in range(len(remaining) - 1)] + [None]
        assert remaining == expected
    assert walk(registry, 3, "a")[0] == [f"a/cm-{i}" for i in range(7)]
    assert walk(registry, 2, None, "odd=1")[0] == [k for k in everything
                                                   if int(k[-1]) % 2 == 1]


def test_later_pages_show_the_first_pages_revision(registry: Registry) -> None:
    first = registry.list_page(CM, limit=5)
    assert first.next_start == "a-b/cm-4\x00"
    # Meanwhile: one object deleted, one created, one changed (all after the first page).
    registry.delete(CM, "a", "cm-3")
    registry.create(CM, {"metadata": {"name": "cm-35"}}, namespace="a")
    changed = registry.get(CM, "default", "cm-0")
    changed["data"] = {"v": "2"}
    registry.update(CM, changed)
    rest: list[dict] = []
    page = first
    while page.next_start is not None:
        page = registry.list_page(CM, limit=5, start=page.next_start, revision=first.revision)
        assert page.revision == first.revision
        rest += page.items
    got = keys(first.items) + keys(rest)
    assert "a/cm-3" in got and "a/cm-35" not in got and len(got) == 21
    old = next(o for o in rest if o["metadata"]["namespace"] == "default"
               and o["metadata"]["name"] == "cm-0")
    assert old["data"] == {"v": "1"}
    # A new list sees the new state.
    now = keys(registry.list_page(CM).items)
    assert "a/cm-3" not in now and "a/cm-35" in now


def test_a_compacted_revision_is_expired(registry: Registry) -> None:
    first = registry.list_page(CM, limit=5)
    registry.delete(CM, "a", "cm-3")
    registry.log.compact(registry.revision)
    assert first.next_start is not None
    with pytest.raises(Expired):
        registry.list_page(CM, limit=5, start=first.next_start, revision=first.revision)
    # Continuing at the latest revision still works (the 410's own token does that).
    page = registry.list_page(CM, limit=5, start=first.next_start)
    assert page.revision == registry.revision and page.items
