"""The owner-reference index the garbage collector reads: always what a scan would find."""

from __future__ import annotations

import random
from typing import Any

from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.controllers.garbage_collector import dependents_of
from kubelab.sandbox.storage import Registry, RegistrySnapshot

Obj = dict[str, Any]
NS = kinds.core("namespaces")
PODS = kinds.core("pods")
CONFIGMAPS = kinds.core("configmaps")
RS = kinds.apps("replicasets")
NODES = kinds.core("nodes")


class ScanOnly:
    """The registry seen without its index: ``dependents_of`` falls back to a scan."""

    def __init__(self, snapshot: RegistrySnapshot) -> None:
        self._snapshot = snapshot

    def get(self, info: KindInfo, namespace: str, name: str) -> Obj | None:
        return self._snapshot.get(info, namespace, name)

    def list(self, info: KindInfo, namespace: str | None = None,
             labels: dict[str, str] | None = None) -> list[Obj]:
        return self._snapshot.list(info, namespace, labels)


def _names(found: list[tuple[KindInfo, Obj]]) -> list[tuple[str, str, str]]:
    return sorted((i.group_resource, o["metadata"].get("namespace", ""), o["metadata"]["name"])
                  for i, o in found)


def _ref(owner: Obj, kind: str, api_version: str) -> Obj:
    return {"apiVersion": api_version, "kind": kind, "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"]}


def test_index_matches_a_scan_through_creates_updates_and_deletes() -> None:
    registry = Registry(ManualClock())
    for ns in ("default", "other"):
        registry.create(NS, {"metadata": {"name": ns}})
    snapshot = RegistrySnapshot(registry)
    scan = ScanOnly(snapshot)
    rng = random.Random(7)
    owners = [registry.create(RS, {
        "metadata": {"name": f"rs-{i}"},
        "spec": {"selector": {"matchLabels": {"app": f"a{i}"}}, "template": {
            "metadata": {"labels": {"app": f"a{i}"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}},
        namespace="default") for i in range(3)]
    node = registry.create(NODES, {"metadata": {"name": "node-1"}})

    def check() -> None:
        for owner in owners:
            assert _names(dependents_of(snapshot, owner, RS)) == _names(
                dependents_of(scan, owner, RS))
        assert _names(dependents_of(snapshot, node, NODES)) == _names(
            dependents_of(scan, node, NODES))

    for step in range(120):
        name = f"cm-{rng.randrange(12)}"
        current = registry.peek(CONFIGMAPS, "default", name)
        choice = rng.random()
        refs = [_ref(o, "ReplicaSet", "apps/v1") for o in rng.sample(owners, rng.randrange(3))]
        if rng.random() < 0.2:
            refs.append(_ref(node, "Node", "v1"))
        if current is None:
            registry.create(CONFIGMAPS, {"metadata": {"name": name, "ownerReferences": refs}},
                            namespace="default")
        elif choice < 0.6:
            body = registry.get(CONFIGMAPS, "default", name)
            body["metadata"]["ownerReferences"] = refs
            if not refs:
                body["metadata"].pop("ownerReferences")
            registry.update(CONFIGMAPS, body)
        else:
            registry.delete(CONFIGMAPS, "default", name)
        if step % 10 == 0:
            # A same-uid reference from another namespace is not a dependent of a
            # namespaced owner (owner references never cross namespaces).
            registry.create(CONFIGMAPS, {"metadata": {
                "name": f"x-{step}", "ownerReferences": [_ref(owners[0], "ReplicaSet",
                                                              "apps/v1")]}},
                namespace="other")
        check()
    assert dependents_of(snapshot, owners[0], RS)  # the walk did leave dependents behind


def test_index_survives_a_restart_from_the_datastore(tmp_path: Any) -> None:
    path = tmp_path / "etcd.sqlite"
    registry = Registry(ManualClock(), path)
    registry.create(NS, {"metadata": {"name": "default"}})
    owner = registry.create(CONFIGMAPS, {"metadata": {"name": "owner"}}, namespace="default")
    registry.create(CONFIGMAPS, {"metadata": {"name": "dep", "ownerReferences": [
        _ref(owner, "ConfigMap", "v1")]}}, namespace="default")
    registry.close()
    reopened = Registry(ManualClock(), path)
    assert _names(reopened.dependents(owner["metadata"]["uid"])) == [
        ("configmaps", "default", "dep")]
    reopened.close()


# --- the collector end to end (real registry, its runner, a manual clock)


def _owned(driver: Any, owner: Obj, name: str) -> Obj:
    ref = {**_ref(owner, "ConfigMap", "v1"), "blockOwnerDeletion": True}
    return driver.registry.create(CONFIGMAPS, {"metadata": {"name": name,
                                                            "ownerReferences": [ref]}},
                                  namespace="default")


def _names_left(driver: Any) -> set[str]:
    return {o["metadata"]["name"] for o in driver.registry.iter_objects(CONFIGMAPS, "default")}


async def test_background_foreground_and_orphan_deletion_end_to_end() -> None:
    from sandbox.scheduler.driver import Driver

    from kubelab.sandbox.controllers.garbage_collector import GarbageCollector

    driver = Driver(GarbageCollector())
    driver.start()
    try:
        owners = {}
        for policy in ("Background", "Foreground", "Orphan"):
            owners[policy] = driver.registry.create(
                CONFIGMAPS, {"metadata": {"name": f"owner-{policy.lower()}"}}, namespace="default")
            for i in range(3):
                _owned(driver, owners[policy], f"{policy.lower()}-{i}")
        await driver.drain()
        before = driver.runner.reconciles
        # A live owner's update sends none of its dependents to the collector.
        live = driver.registry.get(CONFIGMAPS, "default", "owner-background")
        live["data"] = {"changed": "yes"}
        driver.registry.update(CONFIGMAPS, live)
        await driver.drain()
        assert driver.runner.reconciles - before <= 1
        for policy in ("Background", "Foreground", "Orphan"):
            driver.registry.delete(CONFIGMAPS, "default", f"owner-{policy.lower()}",
                                   propagation=policy)
            await driver.drain()
        left = _names_left(driver)
        assert not any(n.startswith(("background-", "foreground-")) for n in left), left
        assert {f"orphan-{i}" for i in range(3)} <= left
        assert not any(n.startswith("owner-") for n in left), left
        for i in range(3):
            orphan = driver.registry.get(CONFIGMAPS, "default", f"orphan-{i}")
            assert not orphan["metadata"].get("ownerReferences")
    finally:
        await driver.stop()
