"""``kubectl port-forward`` into a simulated pod: the kubelet's ``/portForward`` and CRI
``PortForward``.

Upstream, the API server hands the upgraded connection to the kubelet, whose streaming
server asks the container runtime to connect to ``localhost:<port>`` *inside the pod's
network namespace* (containerd's ``portForward``: ``pkg/cri/server/sandbox_portforward_linux.go``)
and copies bytes both ways. Any container of the pod that listens on that port answers,
whatever the Service or ``containerPort`` say.

Here a pod's network namespace is the set of app servers its running containers registered in
the :class:`~kubelab.sandbox.fabric.Fabric` under the pod IP; a port nobody listens on is
refused with containerd's wording, wrapped the way the kubelet's streaming server wraps it
(``error forwarding port … to pod <sandbox id>, uid : …``). The connection only ever reaches
those in-process servers on the loopback interface: never another host port.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
from dataclasses import dataclass

from kubelab.sandbox.fabric import Fabric, PortForwardError
from kubelab.sandbox.kubelet.runtime import NodeRuntime, PodRecord


def sandbox_id(uid: str) -> str:
    """The pod sandbox's runtime ID (64 hex digits, like containerd's)."""
    return hashlib.sha256(f"{uid}/sandbox".encode()).hexdigest()


def netns_path(uid: str) -> str:
    """The pod's network namespace as the CNI plugins name it."""
    digest = hashlib.sha256(f"{uid}/netns".encode()).hexdigest()
    return (f"/var/run/netns/cni-{digest[:8]}-{digest[8:12]}-{digest[12:16]}-"
            f"{digest[16:20]}-{digest[20:32]}")


def forward_error(uid: str, port: int, reason: str) -> str:
    """The error-stream text (``httpStreamHandler.portForward`` wraps the runtime's error;
    the CRI streaming server passes the sandbox ID as the pod name and no UID)."""
    return f"error forwarding port {port} to pod {sandbox_id(uid)}, uid : {reason}"


def refused(uid: str, port: int) -> str:
    """Nothing listens on ``port`` in the pod (containerd's wording, as kubectl shows it)."""
    sid = sandbox_id(uid)
    return forward_error(uid, port, (
        f'failed to execute portforward in network namespace "{netns_path(uid)}": failed to '
        f'connect to localhost:{port} inside namespace "{sid}", IPv4: dial tcp4 '
        f"127.0.0.1:{port}: connect: connection refused IPv6 dial tcp6 [::1]:{port}: "
        "connect: connection refused "))


def sandbox_gone(uid: str, port: int) -> str:
    """The pod's sandbox was removed after the connection was upgraded."""
    sid = sandbox_id(uid)
    return forward_error(uid, port, f'failed to find sandbox "{sid}" in store: not found')


@dataclass
class PodPortForwarder:
    """:class:`~kubelab.sandbox.fabric.PortForwarder` for one pod on one node."""

    fabric: Fabric
    runtime: NodeRuntime
    pod: PodRecord

    async def dial(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        pod = self.pod
        if self.runtime.pods.get(pod.uid) is not pod or not pod.ip:
            raise PortForwardError(sandbox_gone(pod.uid, port))
        target = self.fabric.resolve(pod.ip, port)
        if target is None or not ipaddress.ip_address(target[0]).is_loopback:
            raise PortForwardError(refused(pod.uid, port))
        try:
            return await asyncio.open_connection(*target)
        except OSError as exc:  # the app server closed between lookup and connect
            raise PortForwardError(refused(pod.uid, port)) from exc
