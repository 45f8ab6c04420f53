"""One node's kubelet as a reconciler: pods bound here → status, events, deletion; the node → heartbeat.

Mirrors the kubelet's sync loop (``pkg/kubelet/kubelet.go`` ``syncLoop``/``SyncPod``, the
status manager ``pkg/kubelet/status/status_manager.go``, node status and lease in
``kubelet_node_status.go`` and ``nodelease``). Two kinds of keys:

* ``pods/<ns>/<name>`` for pods whose ``spec.nodeName`` is this node: run the stage tables
  (:mod:`.lifecycle`) on the pod's runtime record, record the kubelet's events (component
  ``kubelet``, host = node, sub-object ``spec.containers{name}``), write the status when it
  changed, and delete the pod with grace 0 once a graceful deletion finished;
* ``nodes//<node>``: register the Node if it does not exist, renew its Lease every 10
  simulated seconds, and report node status when it changes or every 5 minutes.

Reconcile never does I/O. The runtime record lives in memory (:class:`NodeRuntime`), shared
with the agent that serves the containers' HTTP, runs probes and answers log requests.
When the kubelet is stopped (fault injection) it does nothing at all: no heartbeats, no
status — so the node-lifecycle controller sees the node go silent.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import Clock, parse_time
from kubelab.sandbox.kubelet import node as nodes
from kubelab.sandbox.kubelet.lifecycle import PodSync
from kubelab.sandbox.kubelet.probes import event_message
from kubelab.sandbox.kubelet.runtime import ContainerRecord, NodeRuntime, PodRecord
from kubelab.sandbox.kubelet.status import pod_status
from kubelab.sandbox.reconcile.types import (
    Action,
    Create,
    Delete,
    Key,
    Obj,
    RecordEvent,
    Result,
    Snapshot,
    Update,
    UpdateStatus,
)

PODS = kinds.core("pods")
NODES = kinds.core("nodes")
LEASES = kinds.resource("leases.coordination.k8s.io")
COMPONENT = "kubelet"
NODE_LEASE_NAMESPACE = "kube-node-lease"
#: How soon after a probe is due the kubelet looks at its result if nobody requeued it.
PROBE_SLACK = 0.05


def _last_heartbeat(status: Obj) -> datetime | None:
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready" and cond.get("status") == "True":
            return parse_time(cond.get("lastHeartbeatTime"))
    return None


def _pod_node(pod: Obj) -> str | None:
    return ((pod.get("spec") or {}).get("nodeName") or None) if isinstance(pod, dict) else None


def _node_name(node: Obj) -> str | None:
    return (node.get("metadata") or {}).get("name") if isinstance(node, dict) else None


def _lease_node(lease: Obj) -> str | None:
    meta = (lease.get("metadata") or {}) if isinstance(lease, dict) else {}
    return meta.get("name") if meta.get("namespace") == NODE_LEASE_NAMESPACE else None


class Kubelet:
    """The simulated kubelet of one node (see the module docstring)."""

    watches: tuple[KindInfo, ...] = (PODS, NODES, LEASES)
    #: Which node an object of each watched kind belongs to: the runners' dispatcher hands
    #: this kubelet only its own node's pods, Node and Lease, as upstream's kubelet watches
    #: pods with ``fieldSelector=spec.nodeName=<node>`` (an unbound pod reaches no kubelet).
    node_routes = {PODS.group_resource: _pod_node, NODES.group_resource: _node_name,
                   LEASES.group_resource: _lease_node}

    def __init__(self, config: nodes.NodeConfig, runtime: NodeRuntime | None = None) -> None:
        self.config = config
        self.runtime = runtime or NodeRuntime(config.name, config.index)
        self.name = f"kubelet-{config.name}"
        #: The I/O shell, set by :func:`kubelab.sandbox.kubelet.build_components`.
        self.agent: Any = None

    @property
    def node(self) -> str:
        return self.config.name

    async def start_agent(self, runner: Any) -> None:
        """Start the I/O shell; ``runner.enqueue(key)`` is how it asks for a reconcile."""
        if self.agent is not None:
            self.agent.requeue = runner.enqueue
            self.agent.sync_now = runner.process
            await self.agent.start()

    async def stop_agent(self) -> None:
        if self.agent is not None:
            await self.agent.stop()

    def initial_keys(self) -> list[Key]:
        """Keys to reconcile at start-up (registering the node needs no watch event)."""
        return [Key(NODES.group_resource, "", self.node)]

    # ------------------------------------------------------------------ event handlers

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        meta = obj.get("metadata") or {}
        if info.group_resource == PODS.group_resource:
            if "kubernetes.io/config.mirror" in (meta.get("annotations") or {}):
                # Mirror pods of static control-plane pods are published by the static pod
                # manager (kubelab.sandbox.control_plane), not run through the pod workers.
                return []
            mine = (obj.get("spec") or {}).get("nodeName") == self.node
            known = self.runtime.find(meta.get("namespace", ""), meta.get("name", ""))
            return [Key.of(PODS, obj)] if mine or known else []
        if info.group_resource == NODES.group_resource and meta.get("name") == self.node:
            return self.initial_keys()
        if (info.group_resource == LEASES.group_resource and meta.get("name") == self.node
                and meta.get("namespace") == NODE_LEASE_NAMESPACE):
            return self.initial_keys()
        return []

    # ------------------------------------------------------------------ reconcile

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        if not self.runtime.running:
            return Result()
        if key.resource == NODES.group_resource:
            return self._sync_node(snapshot, clock)
        if key.resource == PODS.group_resource:
            return self._sync_pod(snapshot, key, clock)
        return Result()

    # --- pods

    def _sync_pod(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        pod = snapshot.get(PODS, key.namespace, key.name)
        record = self.runtime.find(key.namespace, key.name)
        if pod is None or (pod.get("spec") or {}).get("nodeName") != self.node:
            if record is not None:
                self.runtime.remove(record.uid)
            return Result()
        meta = pod.get("metadata") or {}
        uid = meta.get("uid", "")
        if record is not None and record.uid != uid:
            self.runtime.remove(record.uid)
            record = None
        if record is None:
            if meta.get("deletionTimestamp"):
                return Result([Delete(PODS, key.namespace, key.name, grace_period_seconds=0,
                                      uid=uid)])
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                return Result()
            record = self._admit(pod, clock)
        self._admit_ephemeral(pod, record, clock)
        if record.step == "deleted":
            return Result()
        outcome = PodSync(self.runtime, record, pod, snapshot, clock).run()
        actions: list[Action] = []
        for etype, reason, message, path in outcome.events:
            actions.append(RecordEvent(pod, etype, reason, message, COMPONENT, self.node, path))
        actions.extend(self._probe_events(pod, record))
        status = pod_status(pod, record, node_ip=self.runtime.node_ip, clock=clock)
        if status != pod.get("status"):
            # A status write takes (copies) only status and annotations of what it is
            # given: the pod needs no copy of its own.
            updated = {**pod, "status": status}
            actions.append(UpdateStatus(PODS, updated))
        if outcome.delete:
            actions.append(Delete(PODS, key.namespace, key.name, grace_period_seconds=0,
                                  uid=uid))
            for container in record.containers.values():
                if container.run is not None:
                    container.run.stop()
            return Result(actions)
        wake = outcome.wake_in
        probe = self.runtime.next_probe_in(clock) if self._has_probes(record) else None
        if probe is not None and wake is not None:
            wake = min(wake, probe + PROBE_SLACK)
        elif probe is not None:
            # Only a look at a probe's result: the agent's probe loop requeues the pod itself
            # when a result flips or a failure is to be recorded, and decides whether a
            # virtual clock skips to the probe; this safety net is upkeep (see
            # KubeletAgent.probes_settled).
            return Result(actions, requeue_after=probe + PROBE_SLACK, background=True)
        return Result(actions, requeue_after=wake)

    def _admit(self, pod: Obj, clock: Clock) -> PodRecord:
        meta = pod.get("metadata") or {}
        spec = pod.get("spec") or {}
        now = clock.now()
        record = PodRecord(meta.get("uid", ""), meta.get("namespace", ""),
                           meta.get("name", ""), now)
        for init, field in ((True, "initContainers"), (False, "containers")):
            for index, container in enumerate(spec.get(field) or []):
                record.containers[container.get("name", "")] = ContainerRecord(
                    container.get("name", ""), container, init, index, now)
        self.runtime.add(record)
        return record

    def _admit_ephemeral(self, pod: Obj, record: PodRecord, clock: Clock) -> None:
        """Ephemeral containers appear in the spec of a pod that already runs (``kubectl
        debug`` patches ``pods/<name>/ephemeralcontainers``); each is started once."""
        spec = pod.get("spec") or {}
        for index, container in enumerate(spec.get("ephemeralContainers") or []):
            name = container.get("name", "")
            if name not in record.containers:
                record.containers[name] = ContainerRecord(name, container, False, index,
                                                          clock.now(), ephemeral=True)

    def _has_probes(self, record: PodRecord) -> bool:
        return any(c.probes for c in record.containers.values())

    def _probe_events(self, pod: Obj, record: PodRecord) -> list[Action]:
        actions: list[Action] = []
        for container in record.ordered():
            for kind, worker in container.probes.items():
                for output in worker.pending_failures:
                    actions.append(RecordEvent(pod, "Warning", "Unhealthy",
                                               event_message(kind, output), COMPONENT,
                                               self.node, container.field_path))
                worker.pending_failures.clear()
        return actions

    # --- node

    def _sync_node(self, snapshot: Snapshot, clock: Clock) -> Result:
        node = snapshot.get(NODES, "", self.node)
        runtime = self.runtime
        ref = nodes.node_reference(self.node)
        actions: list[Action] = []
        if node is None:
            actions.append(Create(NODES, nodes.initial_node(self.config, runtime, clock)))
            actions.append(RecordEvent(ref, "Normal", "Starting", "Starting kubelet.",
                                       COMPONENT, self.node))
            for cond in ("NodeHasSufficientMemory", "NodeHasNoDiskPressure",
                         "NodeHasSufficientPID"):
                actions.append(RecordEvent(ref, "Normal", cond,
                                           f"Node {self.node} status is now: {cond}",
                                           COMPONENT, self.node))
            actions.append(RecordEvent(ref, "Normal", "NodeAllocatableEnforced",
                                       "Updated Node Allocatable limit across pods",
                                       COMPONENT, self.node))
            actions.append(RecordEvent(ref, "Normal", "NodeReady",
                                       f"Node {self.node} status is now: NodeReady",
                                       COMPONENT, self.node))
            runtime.last_status_report = clock.now()
            return Result(actions, requeue_after=1.0, background=True)
        # Heartbeats are read back from the objects, not from memory: a write that failed
        # (a conflict with the node-lifecycle controller) is simply retried next time.
        lease = snapshot.get(LEASES, NODE_LEASE_NAMESPACE, self.node)
        node_uid = (node.get("metadata") or {}).get("uid", "")
        renewed = parse_time((lease or {}).get("spec", {}).get("renewTime"))
        if lease is None:
            actions.append(Create(LEASES, nodes.lease(self.config, node_uid, clock)))
            renewed = clock.now()
        elif (renewed is None
              or clock.sim_elapsed(renewed) >= nodes.LEASE_RENEW_SECONDS - 1e-6):
            actions.append(Update(LEASES, nodes.lease(self.config, node_uid, clock, lease)))
            renewed = clock.now()
        runtime.last_lease_renew = renewed
        current = node.get("status") or {}
        runtime.last_status_report = _last_heartbeat(current)
        desired = nodes.node_status(self.config, runtime, current, clock)
        if nodes.status_needs_update(current, desired, runtime, clock):
            updated = {**node, "status": {**current, **desired}}  # as the pod's above
            actions.append(UpdateStatus(NODES, updated))
            was_ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                            for c in current.get("conditions") or [])
            if not was_ready:
                actions.append(RecordEvent(ref, "Normal", "NodeReady",
                                           f"Node {self.node} status is now: NodeReady",
                                           COMPONENT, self.node))
            runtime.last_status_report = clock.now()
        renew_in = nodes.LEASE_RENEW_SECONDS - clock.sim_elapsed(renewed or clock.now())
        report_in = nodes.STATUS_REPORT_SECONDS - clock.sim_elapsed(
            runtime.last_status_report or clock.now())
        # Lease renewal and status report are upkeep (see Result.background).
        return Result(actions, requeue_after=max(0.0, min(renew_in, report_in)),
                      background=True)
