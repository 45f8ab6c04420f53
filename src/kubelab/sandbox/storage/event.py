"""Event storage (``core/v1`` and ``events.k8s.io/v1``, one store upstream): a TTL.

Mirrors ``pkg/registry/core/event/storage/storage.go``, whose ``TTLFunc`` stores every Event
under an etcd lease of kube-apiserver's ``--event-ttl`` (1 h by default): an Event vanishes
that long after its last write, so Events never pile up under pod churn. Events are also
not counted by ResourceQuota admission here, so a full quota never stops a controller from
reporting why it is stuck.
"""

from __future__ import annotations

from kubelab.sandbox.store.storage import Storage


class EventStorage(Storage):
    """The Event REST: leased, not quota-admitted."""

    leased = True
    quota_admitted = False
