"""Server-side Tables: per-kind cells as ``printers.go`` prints them, and the Table shape."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from kubelab.sandbox.api import kinds, tables
from kubelab.sandbox.clock import ManualClock, rfc3339, rfc3339_micro

CLOCK = ManualClock()
NOW = CLOCK.now()


def ago(seconds: float) -> str:
    return rfc3339(NOW - timedelta(seconds=seconds))


def micro_ago(seconds: float) -> str:
    return rfc3339_micro(NOW - timedelta(seconds=seconds))


def cells(api_version: str, kind: str, obj: dict[str, Any]) -> list[Any]:
    info = kinds.by_kind(api_version, kind)
    assert info is not None
    result = tables.table(info, [obj], now=NOW)
    return list(result["rows"][0]["cells"])


# --------------------------------------------------------------------------------------
# Pods
# --------------------------------------------------------------------------------------


def running(name: str = "app", *, ready: bool = True, restarts: int = 0) -> dict[str, Any]:
    return {
        "name": name,
        "ready": ready,
        "restartCount": restarts,
        "started": True,
        "image": "nginx",
        "state": {"running": {"startedAt": ago(600)}},
    }


def waiting(name: str, reason: str, *, restarts: int = 0, finished: float | None = None) -> dict:
    status: dict[str, Any] = {
        "name": name,
        "ready": False,
        "restartCount": restarts,
        "image": "nginx",
        "state": {"waiting": {"reason": reason}},
    }
    if finished is not None:
        status["lastState"] = {
            "terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(finished)}
        }
    return status


def terminated(name: str, *, exit_code: int = 0, reason: str = "", signal: int = 0) -> dict:
    term: dict[str, Any] = {"exitCode": exit_code, "finishedAt": ago(30)}
    if reason:
        term["reason"] = reason
    if signal:
        term["signal"] = signal
    return {
        "name": name,
        "ready": False,
        "restartCount": 0,
        "image": "busybox",
        "state": {"terminated": term},
    }


def pod(
    name: str = "hello",
    *,
    containers: tuple[str, ...] = ("app",),
    init: tuple[dict[str, Any], ...] = (),
    phase: str = "Running",
    statuses: list[dict[str, Any]] | None = None,
    init_statuses: list[dict[str, Any]] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    age: float = 300,
    node: str = "node-2",
    ip: str = "10.244.1.5",
    **extra: Any,
) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase}
    if ip:
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}]
    if statuses is not None:
        status["containerStatuses"] = statuses
    if init_statuses is not None:
        status["initContainerStatuses"] = init_statuses
    if conditions is not None:
        status["conditions"] = conditions
    spec: dict[str, Any] = {"containers": [{"name": c, "image": "nginx"} for c in containers]}
    if init:
        spec["initContainers"] = list(init)
    if node:
        spec["nodeName"] = node
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "creationTimestamp": ago(age)},
        "spec": spec,
        "status": status,
    }
    for key, value in extra.items():
        section, _, field = key.partition("__")
        obj[section][field] = value
    return obj


def cond(kind: str, status: str = "True", reason: str = "") -> dict[str, Any]:
    out = {"type": kind, "status": status}
    if reason:
        out["reason"] = reason
    return out


READY = [cond("Initialized"), cond("Ready"), cond("ContainersReady"), cond("PodScheduled")]

POD_CASES: list[tuple[str, dict[str, Any], list[Any]]] = [
    (
        "running",
        pod(statuses=[running()], conditions=READY),
        ["hello", "1/1", "Running", "0", "5m", "10.244.1.5", "node-2", "<none>", "<none>"],
    ),
    (
        "crash-loop-back-off",
        pod(
            statuses=[waiting("app", "CrashLoopBackOff", restarts=4, finished=5 * 60)],
            conditions=[cond("Ready", "False")],
            age=3600,
        ),
        ["hello", "0/1", "CrashLoopBackOff", "4 (5m ago)", "60m"],
    ),
    (
        "terminating",
        pod(statuses=[running()], conditions=READY, metadata__deletionTimestamp=ago(-30)),
        ["hello", "1/1", "Terminating", "0", "5m"],
    ),
    (
        "container-creating",
        pod(phase="Pending", statuses=[waiting("app", "ContainerCreating")], ip="", age=3),
        ["hello", "0/1", "ContainerCreating", "0", "3s", "<none>", "node-2"],
    ),
    (
        "pending-unscheduled",
        pod(phase="Pending", ip="", node="", age=1),
        ["hello", "0/1", "Pending", "0", "1s", "<none>", "<none>", "<none>", "<none>"],
    ),
    (
        "completed",
        pod(phase="Succeeded", statuses=[terminated("app", reason="Completed")]),
        ["hello", "0/1", "Completed", "0", "5m"],
    ),
    (
        "error-exit-code-without-reason",
        pod(phase="Failed", statuses=[terminated("app", exit_code=137)]),
        ["hello", "0/1", "ExitCode:137", "0"],
    ),
    (
        "killed-by-signal",
        pod(phase="Failed", statuses=[terminated("app", exit_code=137, signal=9)]),
        ["hello", "0/1", "Signal:9", "0"],
    ),
    (
        "evicted",
        pod(phase="Failed", status__reason="Evicted", ip=""),
        ["hello", "0/1", "Evicted", "0"],
    ),
    (
        "first-container-wins",
        pod(
            containers=("web", "sidecar"),
            statuses=[waiting("web", "ImagePullBackOff"), running("sidecar")],
        ),
        ["hello", "1/2", "ImagePullBackOff", "0"],
    ),
    (
        "completed-beside-running-ready",
        pod(
            containers=("job", "web"),
            statuses=[terminated("job", reason="Completed"), running("web")],
            conditions=READY,
        ),
        ["hello", "1/2", "Running", "0"],
    ),
    (
        "completed-beside-running-not-ready",
        pod(
            containers=("job", "web"),
            statuses=[terminated("job", reason="Completed"), running("web")],
            conditions=[cond("Ready", "False")],
        ),
        ["hello", "1/2", "NotReady", "0"],
    ),
    (
        "init-1-of-2",
        pod(
            phase="Pending",
            init=({"name": "a", "image": "busybox"}, {"name": "b", "image": "busybox"}),
            init_statuses=[terminated("a", reason="Completed"), running("b", ready=False)],
            statuses=[waiting("app", "PodInitializing")],
            conditions=[cond("Initialized", "False")],
        ),
        ["hello", "0/1", "Init:1/2", "0"],
    ),
    (
        "init-image-pull",
        pod(
            phase="Pending",
            init=({"name": "a", "image": "nope"},),
            init_statuses=[waiting("a", "ErrImagePull")],
            statuses=[waiting("app", "PodInitializing")],
        ),
        ["hello", "0/1", "Init:ErrImagePull", "0"],
    ),
    (
        "init-crash-loop-counts-init-restarts",
        pod(
            phase="Pending",
            init=({"name": "a", "image": "busybox"},),
            init_statuses=[waiting("a", "CrashLoopBackOff", restarts=2, finished=40)],
            statuses=[waiting("app", "PodInitializing")],
        ),
        ["hello", "0/1", "Init:CrashLoopBackOff", "2 (40s ago)"],
    ),
    (
        "init-failed-exit-code",
        pod(
            phase="Pending",
            init=({"name": "a", "image": "busybox"},),
            init_statuses=[terminated("a", exit_code=3)],
        ),
        ["hello", "0/1", "Init:ExitCode:3", "0"],
    ),
    (
        "init-failed-reason",
        pod(
            phase="Failed",
            init=({"name": "a", "image": "busybox"},),
            init_statuses=[terminated("a", exit_code=1, reason="Error")],
        ),
        ["hello", "0/1", "Init:Error", "0"],
    ),
    (
        "sidecar-counts-in-ready-and-restarts",
        pod(
            init=({"name": "proxy", "image": "envoy", "restartPolicy": "Always"},),
            init_statuses=[
                running("proxy", restarts=1)
                | {"lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(150)}}}
            ],
            statuses=[running("app", restarts=2)],
            conditions=READY,
        ),
        ["hello", "2/2", "Running", "3 (2m30s ago)"],
    ),
    (
        "restarts-without-finish-time",
        pod(statuses=[running(restarts=3)], conditions=READY),
        ["hello", "1/1", "Running", "3"],
    ),
    (
        "scheduling-gated",
        pod(
            phase="Pending",
            ip="",
            node="",
            conditions=[cond("PodScheduled", "False", "SchedulingGated")],
        ),
        ["hello", "0/1", "SchedulingGated", "0"],
    ),
    (
        "node-lost",
        pod(
            statuses=[running()],
            status__reason="NodeLost",
            metadata__deletionTimestamp=ago(10),
        ),
        ["hello", "1/1", "Unknown", "0"],
    ),
    (
        "terminating-ignored-once-succeeded",
        pod(
            phase="Succeeded",
            statuses=[terminated("app", reason="Completed")],
            metadata__deletionTimestamp=ago(1),
        ),
        ["hello", "0/1", "Completed", "0"],
    ),
    (
        "readiness-gates-and-nominated-node",
        pod(
            phase="Pending",
            ip="",
            node="",
            status__nominatedNodeName="node-3",
            spec__readinessGates=[{"conditionType": "lb/ready"}, {"conditionType": "x/ok"}],
            conditions=[cond("lb/ready"), cond("x/ok", "False")],
        ),
        ["hello", "0/1", "Pending", "0", "5m", "<none>", "<none>", "node-3", "1/2"],
    ),
]


@pytest.mark.parametrize(
    ("obj", "expected"), [c[1:] for c in POD_CASES], ids=[c[0] for c in POD_CASES]
)
def test_pod_cells(obj: dict[str, Any], expected: list[Any]) -> None:
    """READY/STATUS/RESTARTS follow printPod's algorithm (expected cells are a prefix)."""
    assert cells("v1", "Pod", obj)[: len(expected)] == expected


def test_pod_ip_falls_back_to_pod_ip_field() -> None:
    """A pod written with only ``podIP`` shows it, as the v1→internal conversion does."""
    obj = pod(statuses=[running()])
    del obj["status"]["podIPs"]
    assert cells("v1", "Pod", obj)[5] == "10.244.1.5"


@pytest.mark.parametrize(
    ("phase", "reason"), [("Succeeded", "Succeeded"), ("Failed", "Failed"), ("Running", None)]
)
def test_pod_row_conditions(phase: str, reason: str | None) -> None:
    """Finished pods carry the ``Completed`` row condition upstream attaches."""
    info = kinds.core("pods")
    row = tables.table(info, [pod(phase=phase)], now=NOW)["rows"][0]
    if reason is None:
        assert "conditions" not in row
    else:
        assert row["conditions"][0]["type"] == "Completed"
        assert row["conditions"][0]["reason"] == reason


# --------------------------------------------------------------------------------------
# Nodes
# --------------------------------------------------------------------------------------


def node(
    name: str, *, ready: str | None = "True", labels: dict[str, str] | None = None, **spec: Any
) -> dict[str, Any]:
    conditions = [cond("MemoryPressure", "False")]
    if ready is not None:
        conditions.append(cond("Ready", ready))
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": labels or {"kubernetes.io/hostname": name},
            "creationTimestamp": ago(3 * 86400 + 4 * 3600),
        },
        "spec": spec,
        "status": {
            "conditions": conditions,
            "addresses": [
                {"type": "InternalIP", "address": "172.18.0.2"},
                {"type": "Hostname", "address": name},
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.37.1",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "kernelVersion": "6.1.0-kubelab",
                "containerRuntimeVersion": "containerd://2.1.0",
            },
        },
    }


NODE_CASES = [
    (
        "control-plane-not-ready-cordoned",
        node(
            "control-plane",
            ready="False",
            unschedulable=True,
            labels={"node-role.kubernetes.io/control-plane": ""},
        ),
        [
            "control-plane",
            "NotReady,SchedulingDisabled",
            "control-plane",
            "3d4h",
            "v1.37.1",
            "172.18.0.2",
            "<none>",
            "Debian GNU/Linux 12 (bookworm)",
            "6.1.0-kubelab",
            "containerd://2.1.0",
        ],
    ),
    ("worker-ready", node("node-1"), ["node-1", "Ready", "<none>", "3d4h", "v1.37.1"]),
    ("no-ready-condition", node("node-2", ready=None), ["node-2", "Unknown", "<none>"]),
    (
        "roles-sorted-from-both-labels",
        node(
            "node-3",
            ready="Unknown",
            labels={
                "node-role.kubernetes.io/worker": "",
                "kubernetes.io/role": "ingress",
                "node-role.kubernetes.io/": "",
            },
        ),
        ["node-3", "NotReady", "ingress,worker"],
    ),
]


@pytest.mark.parametrize(
    ("obj", "expected"), [c[1:] for c in NODE_CASES], ids=[c[0] for c in NODE_CASES]
)
def test_node_cells(obj: dict[str, Any], expected: list[Any]) -> None:
    """STATUS from the Ready condition plus SchedulingDisabled; ROLES from labels."""
    assert cells("v1", "Node", obj)[: len(expected)] == expected


def test_node_wide_unknowns() -> None:
    """Missing node info reads ``<unknown>``; a missing address ``<none>``."""
    obj = node("bare")
    obj["status"]["nodeInfo"] = {}
    obj["status"]["addresses"] = []
    assert cells("v1", "Node", obj)[4:] == [
        "",
        "<none>",
        "<none>",
        "<unknown>",
        "<unknown>",
        "<unknown>",
    ]


# --------------------------------------------------------------------------------------
# Services, Endpoints, EndpointSlices
# --------------------------------------------------------------------------------------


def service(
    name: str,
    kind: str = "ClusterIP",
    *,
    ports: list[dict] | None = None,
    lb: list[dict] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": kind, "clusterIP": "10.96.12.7", "clusterIPs": ["10.96.12.7"]}
    body["ports"] = (
        ports if ports is not None else [{"port": 80, "protocol": "TCP", "targetPort": 8080}]
    )
    body.update(spec)
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default", "creationTimestamp": ago(45)},
        "spec": body,
        "status": {"loadBalancer": {"ingress": lb} if lb else {}},
    }
    return obj


SERVICE_CASES = [
    (
        "cluster-ip",
        service("kubernetes", ports=[{"name": "https", "port": 443, "protocol": "TCP"}]),
        ["kubernetes", "ClusterIP", "10.96.12.7", "<none>", "443/TCP", "45s", "<none>"],
    ),
    (
        "node-port-with-selector",
        service(
            "web",
            "NodePort",
            ports=[{"port": 80, "nodePort": 31234, "protocol": "TCP"}],
            selector={"tier": "front", "app": "web"},
        ),
        ["web", "NodePort", "10.96.12.7", "<none>", "80:31234/TCP", "45s", "app=web,tier=front"],
    ),
    (
        "load-balancer-pending",
        service("web", "LoadBalancer", ports=[{"port": 80, "nodePort": 30080, "protocol": "TCP"}]),
        ["web", "LoadBalancer", "10.96.12.7", "<pending>", "80:30080/TCP"],
    ),
    (
        "load-balancer-with-ingress",
        service(
            "web",
            "LoadBalancer",
            lb=[{"ip": "203.0.113.10"}, {"ip": "198.51.100.7"}, {"ip": "203.0.113.10"}],
        ),
        ["web", "LoadBalancer", "10.96.12.7", "198.51.100.7,203.0.113.10"],
    ),
    (
        "load-balancer-hostname-not-clipped",
        service("web", "LoadBalancer", lb=[{"hostname": "a-very-long-name.elb.example.com"}]),
        ["web", "LoadBalancer", "10.96.12.7", "a-very-long-name.elb.example.com"],
    ),
    (
        "load-balancer-plus-external-ips",
        service("web", "LoadBalancer", lb=[{"ip": "203.0.113.10"}], externalIPs=["192.0.2.1"]),
        ["web", "LoadBalancer", "10.96.12.7", "203.0.113.10,192.0.2.1"],
    ),
    (
        "cluster-ip-external-ips",
        service("web", externalIPs=["192.0.2.1", "192.0.2.2"]),
        ["web", "ClusterIP", "10.96.12.7", "192.0.2.1,192.0.2.2"],
    ),
    (
        "external-name",
        service(
            "db",
            "ExternalName",
            ports=[],
            externalName="db.example.com",
            clusterIPs=[],
            clusterIP="",
        ),
        ["db", "ExternalName", "<none>", "db.example.com", "<none>"],
    ),
    (
        "headless-multi-port",
        service(
            "db",
            clusterIP="None",
            clusterIPs=["None"],
            ports=[{"port": 5432, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
        ),
        ["db", "ClusterIP", "None", "<none>", "5432/TCP,53/UDP"],
    ),
]


@pytest.mark.parametrize(
    ("obj", "expected"), [c[1:] for c in SERVICE_CASES], ids=[c[0] for c in SERVICE_CASES]
)
def test_service_cells(obj: dict[str, Any], expected: list[Any]) -> None:
    """TYPE, CLUSTER-IP, EXTERNAL-IP, PORT(S) and the wide SELECTOR as printService shows them."""
    assert cells("v1", "Service", obj)[: len(expected)] == expected


def endpoints(*subsets: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "web", "namespace": "default", "creationTimestamp": ago(30)},
        "subsets": list(subsets),
    }


def addrs(*ips: str) -> list[dict[str, str]]:
    return [{"ip": ip} for ip in ips]


ENDPOINTS_CASES = [
    ("none", endpoints(), "<none>"),
    (
        "two",
        endpoints({"addresses": addrs("10.244.1.5", "10.244.2.6"), "ports": [{"port": 8080}]}),
        "10.244.1.5:8080,10.244.2.6:8080",
    ),
    (
        "five-truncated",
        endpoints(
            {"addresses": addrs(*(f"10.244.{i}.5" for i in range(1, 6))), "ports": [{"port": 8080}]}
        ),
        "10.244.1.5:8080,10.244.2.5:8080,10.244.3.5:8080 + 2 more...",
    ),
    (
        "ports-times-addresses",
        endpoints(
            {
                "addresses": addrs("10.0.0.1", "10.0.0.2"),
                "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}],
            }
        ),
        "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...",
    ),
    (
        "headless-without-ports",
        endpoints({"addresses": addrs("10.0.0.1", "10.0.0.2")}),
        "10.0.0.1,10.0.0.2",
    ),
    ("ipv6", endpoints({"addresses": addrs("fd00::5"), "ports": [{"port": 80}]}), "[fd00::5]:80"),
    (
        "only-not-ready",
        endpoints({"notReadyAddresses": addrs("10.0.0.9"), "ports": [{"port": 80}]}),
        "",
    ),
]


@pytest.mark.parametrize(
    ("obj", "expected"), [c[1:] for c in ENDPOINTS_CASES], ids=[c[0] for c in ENDPOINTS_CASES]
)
def test_endpoints_cells(obj: dict[str, Any], expected: str) -> None:
    """ENDPOINTS lists ready addresses only, three at most, then ``+ N more...``."""
    assert cells("v1", "Endpoints", obj) == ["web", expected, "30s"]


def slice_(ports: list[dict], endpoints_: list[dict]) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "web-abcde", "namespace": "default", "creationTimestamp": ago(30)},
        "addressType": "IPv4",
        "ports": ports,
        "endpoints": endpoints_,
    }


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (
            slice_(
                [{"name": "", "port": 8080, "protocol": "TCP"}],
                [{"addresses": ["10.244.1.5"]}, {"addresses": ["10.244.2.6"]}],
            ),
            ["web-abcde", "IPv4", "8080", "10.244.1.5,10.244.2.6", "30s"],
        ),
        (slice_([], []), ["web-abcde", "IPv4", "<unset>", "<unset>", "30s"]),
        (
            slice_(
                [{"name": "http"}, {}, {"port": 1}, {"port": 2}],
                [{"addresses": [f"10.0.0.{i}"]} for i in range(1, 6)],
            ),
            [
                "web-abcde",
                "IPv4",
                "http,*,1 + 1 more...",
                "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...",
                "30s",
            ],
        ),
    ],
    ids=["two", "empty", "truncated"],
)
def test_endpoint_slice_cells(obj: dict[str, Any], expected: list[Any]) -> None:
    """ADDRESSTYPE, PORTS and ENDPOINTS with ``<unset>`` and ``+ N more...``."""
    assert cells("discovery.k8s.io/v1", "EndpointSlice", obj) == expected


# --------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------


def core_event(**fields: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": "hello.17a8c3b2d4e5f601",
            "namespace": "default",
            "creationTimestamp": ago(600),
        },
        "involvedObject": {
            "kind": "Pod",
            "name": "hello",
            "namespace": "default",
            "fieldPath": "spec.containers{app}",
        },
        "reason": "BackOff",
        "message": "Back-off restarting failed container app in pod hello_default(uid)\n",
        "type": "Warning",
        "source": {"component": "kubelet", "host": "node-2"},
    }
    obj.update(fields)
    return obj


EVENT_CASES = [
    (
        "count-and-timestamps",
        core_event(firstTimestamp=ago(600), lastTimestamp=ago(120), count=3),
        [
            "2m",
            "Warning",
            "BackOff",
            "pod/hello",
            "spec.containers{app}",
            "kubelet, node-2",
            "Back-off restarting failed container app in pod hello_default(uid)",
            "10m",
            3,
            "hello.17a8c3b2d4e5f601",
        ],
    ),
    (
        "series-overrides",
        core_event(
            firstTimestamp=ago(600),
            lastTimestamp=ago(500),
            count=2,
            series={"count": 7, "lastObservedTime": micro_ago(20)},
        ),
        [
            "20s",
            "Warning",
            "BackOff",
            "pod/hello",
            "spec.containers{app}",
            "kubelet, node-2",
            "Back-off restarting failed container app in pod hello_default(uid)",
            "10m",
            7,
            "hello.17a8c3b2d4e5f601",
        ],
    ),
    (
        "singleton-event-time-only",
        core_event(
            eventTime=micro_ago(75),
            source={},
            reportingComponent="default-scheduler",
            reportingInstance="default-scheduler-control-plane",
            involvedObject={"kind": "Pod", "name": "hello"},
            reason="Scheduled",
            type="Normal",
            message="Successfully assigned default/hello to node-2",
        ),
        [
            "75s",
            "Normal",
            "Scheduled",
            "pod/hello",
            "",
            "default-scheduler, default-scheduler-control-plane",
            "Successfully assigned default/hello to node-2",
            "75s",
            1,
            "hello.17a8c3b2d4e5f601",
        ],
    ),
    (
        "last-falls-back-to-first-and-no-name",
        core_event(
            firstTimestamp=ago(4000),
            source={"component": "node-controller"},
            involvedObject={"kind": "Node"},
            count=1,
        ),
        ["66m", "Warning", "BackOff", "node", "", "node-controller"],
    ),
    (
        "no-times-at-all",
        core_event(),
        ["<unknown>", "Warning", "BackOff", "pod/hello"],
    ),
]


@pytest.mark.parametrize(
    ("obj", "expected"), [c[1:] for c in EVENT_CASES], ids=[c[0] for c in EVENT_CASES]
)
def test_core_event_cells(obj: dict[str, Any], expected: list[Any]) -> None:
    """LAST SEEN/COUNT rules, lower-cased OBJECT, SOURCE fallbacks, trimmed MESSAGE."""
    assert cells("v1", "Event", obj)[: len(expected)] == expected


def test_events_k8s_io_event_uses_core_columns() -> None:
    """An events.k8s.io/v1 Event prints like its core/v1 conversion."""
    obj = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "web.1", "namespace": "default", "creationTimestamp": ago(90)},
        "eventTime": micro_ago(90),
        "regarding": {"kind": "Deployment", "name": "web", "namespace": "default"},
        "note": "Scaled up replica set web-7c5ddbdf54 from 0 to 3",
        "reason": "ScalingReplicaSet",
        "type": "Normal",
        "action": "Scale",
        "reportingController": "deployment-controller",
        "reportingInstance": "",
        "deprecatedCount": 2,
        "deprecatedFirstTimestamp": ago(90),
        "deprecatedLastTimestamp": ago(30),
    }
    assert cells("events.k8s.io/v1", "Event", obj) == [
        "30s",
        "Normal",
        "ScalingReplicaSet",
        "deployment/web",
        "",
        "deployment-controller",
        "Scaled up replica set web-7c5ddbdf54 from 0 to 3",
        "90s",
        2,
        "web.1",
    ]
    info = kinds.by_kind("events.k8s.io/v1", "Event")
    assert info is not None
    assert tables.column_definitions(info) == tables.column_definitions(kinds.core("events"))


# --------------------------------------------------------------------------------------
# Simple core kinds
# --------------------------------------------------------------------------------------


def meta(name: str, age: float = 7200, **extra: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "default", "creationTimestamp": ago(age)},
        **extra,
    }


SIMPLE_CASES = [
    (
        "v1",
        "Namespace",
        meta("kube-system", status={"phase": "Active"}),
        ["kube-system", "Active", "120m"],
    ),
    (
        "v1",
        "Namespace",
        meta("old", status={"phase": "Terminating"}, age=9 * 3600),
        ["old", "Terminating", "9h"],
    ),
    (
        "v1",
        "ConfigMap",
        meta("cfg", data={"a": "1", "b": "2"}, binaryData={"c": "AA=="}),
        ["cfg", 3, "120m"],
    ),
    ("v1", "ConfigMap", meta("empty"), ["empty", 0, "120m"]),
    (
        "v1",
        "Secret",
        meta("db", type="Opaque", data={"user": "YQ==", "pw": "Yg=="}),
        ["db", "Opaque", 2, "120m"],
    ),
    (
        "v1",
        "Secret",
        meta("mixed", type="Opaque", data={"user": "YQ=="}, stringData={"user": "a", "pw": "b"}),
        ["mixed", "Opaque", 2, "120m"],
    ),
    ("v1", "ServiceAccount", meta("default", secrets=[{"name": "t"}]), ["default", 1, "120m"]),
    ("v1", "ServiceAccount", meta("builder"), ["builder", 0, "120m"]),
    (
        "coordination.k8s.io/v1",
        "Lease",
        meta("node-1", age=40, spec={"holderIdentity": "node-1", "leaseDurationSeconds": 40}),
        ["node-1", "node-1", "40s"],
    ),
    ("coordination.k8s.io/v1", "Lease", meta("free", spec={}), ["free", "", "120m"]),
    (
        "v1",
        "ResourceQuota",
        meta(
            "compute",
            status={
                "hard": {
                    "pods": "10",
                    "requests.cpu": "1",
                    "limits.memory": "1Gi",
                    "limits.cpu": "2",
                },
                "used": {"pods": "2", "requests.cpu": "500m", "limits.memory": "256Mi"},
            },
        ),
        [
            "compute",
            "pods: 2/10, requests.cpu: 500m/1",
            "limits.cpu: 0/2, limits.memory: 256Mi/1Gi",
            "120m",
        ],
    ),
    ("v1", "ResourceQuota", meta("fresh"), ["fresh", "", "", "120m"]),
    ("v1", "Binding", meta("b"), ["b", "120m"]),
]


@pytest.mark.parametrize(
    ("api_version", "kind", "obj", "expected"),
    SIMPLE_CASES,
    ids=[f"{c[1]}-{c[2]['metadata']['name']}" for c in SIMPLE_CASES],
)
def test_simple_kinds(api_version: str, kind: str, obj: dict[str, Any], expected: list) -> None:
    """Counts are integers; quota strings are ``name: used/hard``; others NAME/AGE."""
    assert cells(api_version, kind, obj) == expected


# --------------------------------------------------------------------------------------
# apps/v1
# --------------------------------------------------------------------------------------


def template(*containers: tuple[str, str], node_selector: dict | None = None) -> dict:
    spec: dict[str, Any] = {"containers": [{"name": n, "image": i} for n, i in containers]}
    if node_selector:
        spec["nodeSelector"] = node_selector
    return {"metadata": {"labels": {"app": "web"}}, "spec": spec}


def test_deployment_cells() -> None:
    """READY is ``ready/desired``; UP-TO-DATE and AVAILABLE are integers; wide columns."""
    obj = meta(
        "web",
        age=75,
        spec={
            "replicas": 5,
            "selector": {
                "matchLabels": {"app": "web"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["front", "edge"]},
                    {"key": "canary", "operator": "DoesNotExist"},
                ],
            },
            "template": template(("web", "nginx:1.27"), ("log", "busybox")),
        },
        status={"replicas": 5, "readyReplicas": 3, "updatedReplicas": 5, "availableReplicas": 3},
    )
    assert cells("apps/v1", "Deployment", obj) == [
        "web",
        "3/5",
        5,
        3,
        "75s",
        "web,log",
        "nginx:1.27,busybox",
        "app=web,!canary,tier in (edge,front)",
    ]


def test_deployment_defaults_and_invalid_selector() -> None:
    """Unset replicas mean 1, empty status zeros; a bad selector reads ``<invalid>``."""
    obj = meta(
        "web",
        spec={
            "selector": {"matchExpressions": [{"key": "a", "operator": "Near"}]},
            "template": template(("web", "nginx")),
        },
    )
    assert cells("apps/v1", "Deployment", obj) == [
        "web",
        "0/1",
        0,
        0,
        "120m",
        "web",
        "nginx",
        "<invalid>",
    ]


def test_replica_set_cells() -> None:
    """DESIRED/CURRENT/READY are integers; SELECTOR via FormatLabelSelector."""
    obj = meta(
        "web-7c5ddbdf54",
        spec={
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web", "pod-template-hash": "7c5ddbdf54"}},
            "template": template(("web", "nginx")),
        },
        status={"replicas": 3, "readyReplicas": 2},
    )
    assert cells("apps/v1", "ReplicaSet", obj) == [
        "web-7c5ddbdf54",
        3,
        3,
        2,
        "120m",
        "web",
        "nginx",
        "app=web,pod-template-hash=7c5ddbdf54",
    ]
    scaled_down = meta("old", spec={"replicas": 0, "selector": {}, "template": template()})
    assert cells("apps/v1", "ReplicaSet", scaled_down) == ["old", 0, 0, 0, "120m", "", "", "<none>"]


def test_daemon_set_cells() -> None:
    """DaemonSet counters and NODE SELECTOR."""
    obj = meta(
        "kube-proxy",
        age=3 * 86400,
        spec={
            "selector": {"matchLabels": {"k8s-app": "kube-proxy"}},
            "template": template(
                ("kube-proxy", "registry.k8s.io/kube-proxy:v1.37.1"),
                node_selector={"kubernetes.io/os": "linux"},
            ),
        },
        status={
            "desiredNumberScheduled": 4,
            "currentNumberScheduled": 4,
            "numberReady": 3,
            "updatedNumberScheduled": 4,
            "numberAvailable": 3,
        },
    )
    assert cells("apps/v1", "DaemonSet", obj) == [
        "kube-proxy",
        4,
        4,
        3,
        4,
        3,
        "kubernetes.io/os=linux",
        "3d",
        "kube-proxy",
        "registry.k8s.io/kube-proxy:v1.37.1",
        "k8s-app=kube-proxy",
    ]


# --------------------------------------------------------------------------------------
# Column definitions and the Table envelope
# --------------------------------------------------------------------------------------

EXPECTED_COLUMNS = {
    ("v1", "Pod"): [
        "Name",
        "Ready",
        "Status",
        "Restarts",
        "Age",
        "*IP",
        "*Node",
        "*Nominated Node",
        "*Readiness Gates",
    ],
    ("v1", "Node"): [
        "Name",
        "Status",
        "Roles",
        "Age",
        "Version",
        "*Internal-IP",
        "*External-IP",
        "*OS-Image",
        "*Kernel-Version",
        "*Container-Runtime",
    ],
    ("v1", "Service"): ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "*Selector"],
    ("v1", "Event"): [
        "Last Seen",
        "Type",
        "Reason",
        "Object",
        "*Subobject",
        "*Source",
        "Message",
        "*First Seen",
        "*Count",
        "*Name",
    ],
    ("v1", "ResourceQuota"): ["Name", "Request", "Limit", "Age"],
    ("apps/v1", "Deployment"): [
        "Name",
        "Ready",
        "Up-to-date",
        "Available",
        "Age",
        "*Containers",
        "*Images",
        "*Selector",
    ],
    ("apps/v1", "DaemonSet"): [
        "Name",
        "Desired",
        "Current",
        "Ready",
        "Up-to-date",
        "Available",
        "Node Selector",
        "Age",
        "*Containers",
        "*Images",
        "*Selector",
    ],
    ("v1", "Binding"): ["Name", "Age"],
}


@pytest.mark.parametrize("key", list(EXPECTED_COLUMNS), ids=[k[1] for k in EXPECTED_COLUMNS])
def test_column_names_and_priorities(key: tuple[str, str]) -> None:
    """Column order and which ones are wide-only (``*``) match AddHandlers."""
    info = kinds.by_kind(*key)
    assert info is not None
    got = [("*" if c["priority"] else "") + c["name"] for c in tables.column_definitions(info)]
    assert got == EXPECTED_COLUMNS[key]


@pytest.mark.parametrize(
    "info", kinds.KINDS, ids=[f"{k.api_version}/{k.kind}" for k in kinds.KINDS]
)
def test_every_kind_has_a_table_whose_rows_fit_the_columns(info: kinds.KindInfo) -> None:
    """Every served kind prints rows with one cell per column, starting with its name."""
    obj = meta("thing")
    result = tables.table(info, [obj], now=NOW)
    columns = result["columnDefinitions"]
    assert len(result["rows"][0]["cells"]) == len(columns)
    for column in columns:
        assert set(column) == {"name", "type", "format", "description", "priority"}
        assert column["type"] in {"string", "integer", "date", "boolean", "number"}
    name_col = next(i for i, c in enumerate(columns) if c["format"] == "name")
    assert result["rows"][0]["cells"][name_col] == "thing"
    assert columns[name_col]["description"].startswith("Name must be unique within a namespace.")


def test_table_envelope_metadata_object() -> None:
    """Default includeObject=Metadata embeds PartialObjectMetadata; RV goes to metadata."""
    info = kinds.core("pods")
    obj = pod(statuses=[running()])
    obj["metadata"]["labels"] = {"run": "hello"}
    result = tables.table(info, [obj], now=NOW, resource_version="42")
    assert result["kind"] == "Table"
    assert result["apiVersion"] == "meta.k8s.io/v1"
    assert result["metadata"] == {"resourceVersion": "42"}
    assert result["rows"][0]["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"],
    }


def test_table_include_object_and_none() -> None:
    """``Object`` embeds the whole object with kind/apiVersion; ``None`` embeds nothing."""
    info = kinds.apps("deployments")
    obj = meta("web", spec={"replicas": 1, "selector": {}, "template": template()})
    full = tables.table(info, [obj], now=NOW, include_object="Object")["rows"][0]["object"]
    assert full["kind"] == "Deployment"
    assert full["apiVersion"] == "apps/v1"
    assert full["spec"] == obj["spec"]
    bare = tables.table(info, [obj], now=NOW, include_object="None")
    assert "object" not in bare["rows"][0]
    assert bare["metadata"] == {}


def test_table_without_column_definitions() -> None:
    """Watch events after the first may omit the column definitions."""
    info = kinds.core("namespaces")
    result = tables.table(info, [], now=NOW, with_column_definitions=False)
    assert result["columnDefinitions"] == []
    assert result["rows"] == []


def test_ages_follow_the_clock() -> None:
    """The same object ages as the injected clock advances."""
    clock = ManualClock()
    info = kinds.core("configmaps")
    obj = {"metadata": {"name": "c", "creationTimestamp": rfc3339(clock.now())}}
    ages = []
    for step in (0, 130, 3600 * 5):
        clock.advance(step)
        ages.append(tables.table(info, [obj], now=clock.now())["rows"][0]["cells"][2])
    assert ages == ["0s", "2m10s", "5h2m"]


def test_naive_now_is_treated_as_utc() -> None:
    """A naive ``now`` (no tzinfo) is read as UTC rather than failing."""
    naive = datetime(NOW.year, NOW.month, NOW.day, NOW.hour, NOW.minute, NOW.second)
    obj = pod(statuses=[waiting("app", "CrashLoopBackOff", restarts=1, finished=60)])
    info = kinds.core("pods")
    row = tables.table(info, [obj], now=naive)["rows"][0]["cells"]
    assert row[3:5] == ["1 (60s ago)", "5m"]


# --------------------------------------------------------------------------------------
# End to end: the real kubectl renders our Tables
# --------------------------------------------------------------------------------------

KUBECTL = Path(sys.executable).parent / "kubectl"


def _api_resource_list(group_version: str, infos: list[kinds.KindInfo]) -> dict[str, Any]:
    resources: list[dict[str, Any]] = []
    for info in infos:
        entry: dict[str, Any] = {
            "name": info.plural,
            "singularName": info.singular,
            "namespaced": info.namespaced,
            "kind": info.kind,
            "verbs": list(info.verbs),
        }
        if info.short_names:
            entry["shortNames"] = list(info.short_names)
        if info.categories:
            entry["categories"] = list(info.categories)
        resources.append(entry)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }


def _fake_api_server(objects: dict[str, list[dict[str, Any]]], now: datetime) -> web.Application:
    """Legacy discovery built from KINDS, and a Table for every list request."""
    groups = [(g, infos) for g, infos in kinds.served_groups() if g and infos]

    async def handle(request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        if parts == ["api"]:
            return web.json_response(
                {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
            )
        if parts == ["apis"]:
            return web.json_response(
                {
                    "kind": "APIGroupList",
                    "apiVersion": "v1",
                    "groups": [
                        {
                            "name": g,
                            "versions": [{"groupVersion": f"{g}/v1", "version": "v1"}],
                            "preferredVersion": {"groupVersion": f"{g}/v1", "version": "v1"},
                        }
                        for g, _ in groups
                    ],
                }
            )
        if parts == ["api", "v1"]:
            core = [k for k in kinds.KINDS if not k.group]
            return web.json_response(_api_resource_list("v1", core))
        if len(parts) == 3 and parts[0] == "apis":
            infos = [k for k in kinds.KINDS if k.group == parts[1] and k.version == parts[2]]
            return web.json_response(_api_resource_list(f"{parts[1]}/{parts[2]}", infos))
        group, rest = ("", parts[2:]) if parts[0] == "api" else (parts[1], parts[3:])
        namespace = rest[1] if rest[:1] == ["namespaces"] and len(rest) == 3 else ""
        info = kinds.by_resource(group, "v1", rest[-1])
        if info is None or "as=Table" not in request.headers.get("Accept", ""):
            raise web.HTTPNotFound()
        items = [
            o
            for o in objects.get(info.plural, [])
            if not namespace or o["metadata"].get("namespace") == namespace
        ]
        body = tables.table(info, items, now=now, resource_version="7")
        return web.Response(
            text=json.dumps(body),
            headers={"Content-Type": "application/json;as=Table;v=v1;g=meta.k8s.io"},
        )

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    return app


def _ns(obj: dict[str, Any]) -> dict[str, Any]:
    obj["metadata"].setdefault("namespace", "default")
    return obj


E2E_OBJECTS: dict[str, list[dict[str, Any]]] = {
    "pods": [
        pod("hello", statuses=[running()], conditions=READY),
        pod(
            "crashy",
            statuses=[waiting("app", "CrashLoopBackOff", restarts=4, finished=125)],
            age=600,
            node="node-1",
            ip="10.244.2.7",
        ),
        pod("pending", phase="Pending", ip="", node="", age=3),
    ],
    "nodes": [
        node(
            "control-plane",
            ready="False",
            unschedulable=True,
            labels={"node-role.kubernetes.io/control-plane": ""},
        ),
        node("node-1"),
    ],
    "services": [
        _ns(
            service(
                "kubernetes",
                ports=[{"port": 443, "protocol": "TCP"}],
                clusterIP="10.96.0.1",
                clusterIPs=["10.96.0.1"],
            )
        ),
        _ns(
            service(
                "web",
                "LoadBalancer",
                ports=[{"port": 80, "nodePort": 31234, "protocol": "TCP"}],
                selector={"app": "web"},
            )
        ),
        _ns(
            service(
                "shop",
                "LoadBalancer",
                lb=[{"ip": "203.0.113.10"}],
                ports=[
                    {"port": 80, "nodePort": 30080, "protocol": "TCP"},
                    {"port": 443, "nodePort": 30443, "protocol": "TCP"},
                ],
                selector={"app": "shop", "tier": "front"},
            )
        ),
        _ns(
            service(
                "hello",
                "NodePort",
                ports=[{"port": 8080, "nodePort": 31000, "protocol": "TCP"}],
                selector={"app": "hello"},
            )
        ),
    ],
}

E2E_EXPECTED = {
    ("pods", "-o", "wide"): """\
NAME      READY   STATUS             RESTARTS       AGE   IP           NODE     NOMINATED NODE   READINESS GATES
hello     1/1     Running            0              5m    10.244.1.5   node-2   <none>           <none>
crashy    0/1     CrashLoopBackOff   4 (2m5s ago)   10m   10.244.2.7   node-1   <none>           <none>
pending   0/1     Pending            0              3s    <none>       <none>   <none>           <none>
""",
    ("nodes",): """\
NAME            STATUS                        ROLES           AGE    VERSION
control-plane   NotReady,SchedulingDisabled   control-plane   3d4h   v1.37.1
node-1          Ready                         <none>          3d4h   v1.37.1
""",
    ("services", "-o", "wide"): """\
NAME         TYPE           CLUSTER-IP   EXTERNAL-IP    PORT(S)                      AGE   SELECTOR
kubernetes   ClusterIP      10.96.0.1    <none>         443/TCP                      45s   <none>
web          LoadBalancer   10.96.12.7   <pending>      80:31234/TCP                 45s   app=web
shop         LoadBalancer   10.96.12.7   203.0.113.10   80:30080/TCP,443:30443/TCP   45s   app=shop,tier=front
hello        NodePort       10.96.12.7   <none>         8080:31000/TCP               45s   app=hello
""",
}


@pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl is not installed next to Python")
async def test_real_kubectl_prints_our_tables(tmp_path: Path) -> None:
    """kubectl get pods/nodes/services prints exactly the cells the Tables carry."""
    runner = web.AppRunner(_fake_api_server(E2E_OBJECTS, NOW))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "t", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                    "users": [{"name": "t", "user": {}}],
                    "contexts": [
                        {
                            "name": "t",
                            "context": {"cluster": "t", "user": "t", "namespace": "default"},
                        }
                    ],
                    "current-context": "t",
                }
            )
        )
        env = {"HOME": str(tmp_path), "PATH": os.environ.get("PATH", "")}
        for args, expected in E2E_EXPECTED.items():
            proc = await asyncio.create_subprocess_exec(
                str(KUBECTL),
                "--kubeconfig",
                str(kubeconfig),
                "--cache-dir",
                str(tmp_path / "cache"),
                "get",
                *args,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
            )
            out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
            assert proc.returncode == 0, err.decode()
            assert out.decode() == expected, args
    finally:
        await runner.cleanup()
