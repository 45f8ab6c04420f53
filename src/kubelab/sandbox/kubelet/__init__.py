"""Simulated kubelets: one per node, its pod lifecycle written as data.

:func:`build_components` makes one :class:`~.kubelet.Kubelet` reconciler per node (the
decisions: stage tables → status, events, deletion; node registration and heartbeats; its
reconcile also starts and stops records in the node's simulated runtime, so it is not pure)
and one
:class:`~.agent.KubeletAgent` per node (the I/O part: app servers, probes, logs, fault
injection), registered in the :class:`~kubelab.sandbox.fabric.Fabric` so the API server can
ask a node for logs. Nodes whose name ends in ``control-plane`` get kubeadm's control-plane
label and ``NoSchedule`` taint; node *i* of the list gets the pod CIDR ``10.244.i.0/24``.
"""

from __future__ import annotations

from kubelab.sandbox.clock import Clock
from kubelab.sandbox.fabric import Fabric
from kubelab.sandbox.kubelet.agent import KubeletAgent
from kubelab.sandbox.kubelet.disks import Disks
from kubelab.sandbox.kubelet.kubelet import Kubelet
from kubelab.sandbox.kubelet.node import NodeConfig
from kubelab.sandbox.kubelet.runtime import NodeRuntime
from kubelab.sandbox.reconcile.types import Reconciler

__all__ = ["Kubelet", "KubeletAgent", "NodeConfig", "NodeRuntime", "build_components"]


def is_control_plane(name: str) -> bool:
    return name == "control-plane" or name.endswith("-control-plane")


def build_components(fabric: Fabric, clock: Clock, nodes: list[str], *,
                     kubelet_version: str = "v1.37.0") -> list[Reconciler]:
    """One kubelet reconciler per node; each has ``.agent`` (start it with ``await``)."""
    components: list[Reconciler] = []
    disks = Disks()  # the nodes' local volumes (one table: see kubelet.disks)
    for index, name in enumerate(nodes):
        config = NodeConfig(name, index, control_plane=is_control_plane(name),
                            kubelet_version=kubelet_version)
        kubelet = Kubelet(config, NodeRuntime(name, index, disks))
        agent = KubeletAgent(kubelet.runtime, fabric, clock)
        kubelet.agent = agent
        fabric.register_node_agent(name, agent)
        components.append(kubelet)
    return components
