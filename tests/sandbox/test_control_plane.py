"""The control plane's leader Leases: renewed every RENEW_PERIOD from the stored object,
which a reconcile reads in place and must leave as it found it."""

from __future__ import annotations

import copy

from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock, rfc3339_micro
from kubelab.sandbox.control_plane import KEY, LEADER_LEASES, LEASES, RENEW_PERIOD, ControlPlane
from kubelab.sandbox.reconcile.types import Create, Update
from kubelab.sandbox.storage import Registry, RegistrySnapshot


def test_a_leader_lease_renewal_changes_only_renew_time_and_leaves_the_store_alone() -> None:
    clock = ManualClock()
    registry = Registry(clock)
    registry.create(kinds.core("namespaces"), {"metadata": {"name": "kube-system"}})
    plane = ControlPlane("kubelab-control-plane", "1.37.0", lambda: {})
    snapshot = RegistrySnapshot(registry)
    for action in plane.reconcile(snapshot, KEY, clock).actions:
        if isinstance(action, Create) and action.info is LEASES:
            registry.create(LEASES, action.obj, namespace="kube-system",
                            manager="kube-scheduler")
    stored = {name: registry.peek(LEASES, "kube-system", name) for name in LEADER_LEASES}
    assert all(stored.values())
    before = copy.deepcopy(stored)

    clock.advance(RENEW_PERIOD * 0.5)
    assert [a for a in plane.reconcile(snapshot, KEY, clock).actions if isinstance(a, Update)] \
        == []  # not due yet

    clock.advance(RENEW_PERIOD * 0.5)
    renewals = [a for a in plane.reconcile(snapshot, KEY, clock).actions
                if isinstance(a, Update)]
    assert sorted(a.obj["metadata"]["name"] for a in renewals) == sorted(LEADER_LEASES)
    # The reconcile read the stored objects in place: they are untouched.
    assert {name: registry.peek(LEASES, "kube-system", name) for name in LEADER_LEASES} \
        == before
    now = rfc3339_micro(clock.now())
    for action in renewals:
        name = action.obj["metadata"]["name"]
        old = before[name]
        assert old is not None
        assert action.obj["spec"] == {**old["spec"], "renewTime": now}
        assert action.obj["metadata"] == old["metadata"]
        written = registry.update(LEASES, action.obj, namespace="kube-system",
                                  manager="kube-scheduler")
        assert written["spec"]["renewTime"] == now
        assert written["spec"]["holderIdentity"] == old["spec"]["holderIdentity"]
        assert int(written["metadata"]["resourceVersion"]) \
            > int(old["metadata"]["resourceVersion"])

