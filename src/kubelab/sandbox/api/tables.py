"""Server-side Tables: the columns ``kubectl get`` prints.

``kubectl get`` asks for ``application/json;as=Table;v=v1;g=meta.k8s.io`` and prints whatever
columns the API server sends; without them it falls back to NAME and AGE only. The real
columns live in the API server, in ``pkg/printers/internalversion/printers.go``
(``AddHandlers`` registers, per kind, a list of ``TableColumnDefinition`` and a ``printX``
function that turns one object into one row of cells). This module is the sandbox's version
of that file: one :class:`TablePrinter` per kind, registered in :data:`PRINTERS` under
``(apiVersion, kind)``, and :func:`table` which wraps the rows into a ``meta.k8s.io/v1``
``Table`` the way ``k8s.io/apiserver/pkg/endpoints/handlers/response.go`` (``asTable``) does.

Faithfulness notes, each decided where the code does it:

* The API server always generates the *wide* row (``printers/storage``:
  ``GenerateOptions{Wide: true}``); ``kubectl`` hides ``priority: 1`` columns unless
  ``-o wide``. So a LoadBalancer's external IPs are never clipped to 16 characters here.
* Cells have the upstream Go types: counts such as DESIRED/CURRENT/READY or a Secret's DATA
  are integers, RESTARTS is a string (``"3 (5m ago)"``), as kubectl's sorting relies on them.
* Printers read the versioned (``v1``) JSON the store holds. Upstream prints the *internal*
  object, after conversion and defaulting; where the two differ (``podIP`` → ``podIPs``,
  ``clusterIP`` → ``clusterIPs``, unset ``replicas`` meaning 1, ``events.k8s.io`` field
  names) the printer applies the same conversion first.
* Column descriptions are the API field documentation (``SwaggerDoc()`` upstream), read
  lazily from the official Python client's models so they are not copied here.

Everything is a pure function of the objects and ``now`` (from the sandbox clock).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kubelab.apimachinery.duration import human_duration, translate_timestamp_since
from kubelab.apimachinery.podstatus import summarize_pod
from kubelab.apimachinery.selectors import InvalidSelector, format_label_selector, selector_string
from kubelab.apimachinery.types import ObjView as Obj
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import parse_time

Cell = str | int | bool

TABLE_API_VERSION = "meta.k8s.io/v1"


# --------------------------------------------------------------------------------------
# Column definitions
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One ``metav1.TableColumnDefinition``.

    ``description`` is either literal text or ``(model, jsonField)``: the documentation
    of that field in the official client's model (``("V1PodSpec", "nodeName")``).
    """

    name: str
    type: str
    description: str | tuple[str, str]
    format: str = ""
    priority: int = 0

    def definition(self) -> dict[str, Any]:
        text = (
            self.description if isinstance(self.description, str) else _field_doc(*self.description)
        )
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": text,
            "priority": self.priority,
        }


@functools.cache
def _field_doc(model: str, json_field: str) -> str:
    """The OpenAPI description of ``json_field`` in the client model ``model`` ("" if unknown).

    Read through :func:`kubelab.sandbox.api.openapi.model_fields`, whose facts are kept on
    disk, so a new sandbox's first ``kubectl get`` does not wait for the client's models."""
    from kubelab.sandbox.api import openapi

    try:
        fields = openapi.model_fields(model)
    except (ImportError, KeyError):
        return ""
    return next((f.description for f in fields if f.wire == json_field), "")


def _name_column() -> Column:
    return Column("Name", "string", ("V1ObjectMeta", "name"), format="name")


def _age_column() -> Column:
    return Column("Age", "string", ("V1ObjectMeta", "creationTimestamp"))


_CONTAINERS_DOC = "Names of each container in the template."
_IMAGES_DOC = "Images referenced by each container in the template."
# Object-typed fields carry no description in the client's models; these are the
# ``extensions/v1beta1`` field docs upstream's column definitions point at.
_LABEL_SELECTORS_URL = (
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors"
)
_DEPLOYMENT_SELECTOR_DOC = (
    "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be "
    "the ones affected by this deployment."
)
_REPLICA_SET_SELECTOR_DOC = (
    "Selector is a label query over pods that should match the replica count. If the "
    "selector is empty, it is defaulted to the labels present on the pod template. Label "
    "keys and values that must match in order to be controlled by this replica set. "
    f"More info: {_LABEL_SELECTORS_URL}"
)
_DAEMON_SET_SELECTOR_DOC = (
    "A label query over pods that are managed by the daemon set. Must match in order to be "
    f"controlled. If empty, defaulted to labels on Pod template. More info: {_LABEL_SELECTORS_URL}"
)


# --------------------------------------------------------------------------------------
# Printers and their registry
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """The cells of one object, plus the optional ``metav1.TableRowCondition`` list."""

    cells: list[Cell]
    conditions: list[dict[str, str]] = field(default_factory=list)


RowPrinter = Callable[[Obj, datetime], Row]


@dataclass(frozen=True)
class TablePrinter:
    """A kind's columns and the function that prints one object as one row."""

    columns: tuple[Column, ...]
    print_row: RowPrinter


PRINTERS: dict[tuple[str, str], TablePrinter] = {}


def _register(
    keys: Iterable[tuple[str, str]], columns: Iterable[Column]
) -> Callable[[RowPrinter], RowPrinter]:
    cols = tuple(columns)

    def decorate(fn: RowPrinter) -> RowPrinter:
        for key in keys:
            PRINTERS[key] = TablePrinter(cols, fn)
        return fn

    return decorate


def _default_printer() -> TablePrinter:
    """NAME/AGE for any kind without a printer of its own."""

    def print_row(obj: Obj, now: datetime) -> Row:
        return Row([_name(obj), _age(obj, now)])

    return TablePrinter((_name_column(), _age_column()), print_row)


DEFAULT_PRINTER = _default_printer()


def printer_for(info: KindInfo) -> TablePrinter:
    return PRINTERS.get((info.api_version, info.kind), DEFAULT_PRINTER)


def column_definitions(info: KindInfo) -> list[dict[str, Any]]:
    """The ``columnDefinitions`` of ``info``'s Table, wide columns included."""
    return [c.definition() for c in printer_for(info).columns]


def table(
    info: KindInfo,
    objs: list[dict[str, Any]],
    *,
    now: datetime,
    include_object: str = "Metadata",
    resource_version: str = "",
    with_column_definitions: bool = True,
) -> dict[str, Any]:
    """A full ``meta.k8s.io/v1`` Table for ``objs`` of kind ``info``.

    ``include_object`` is the ``includeObject`` query parameter: ``Metadata`` (default)
    embeds a ``PartialObjectMetadata`` per row, ``Object`` the whole object, ``None``
    nothing. Watch events after the first may leave out the column definitions
    (``with_column_definitions=False``): kubectl keeps the ones it already has.
    """
    printer = printer_for(info)
    rows: list[dict[str, Any]] = []
    for obj in objs:
        row = printer.print_row(obj, now)
        entry: dict[str, Any] = {"cells": row.cells}
        if row.conditions:
            entry["conditions"] = row.conditions
        embedded = _row_object(info, obj, include_object)
        if embedded is not None:
            entry["object"] = embedded
        rows.append(entry)
    metadata: dict[str, Any] = {}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    return {
        "kind": "Table",
        "apiVersion": TABLE_API_VERSION,
        "metadata": metadata,
        "columnDefinitions": (
            [c.definition() for c in printer.columns] if with_column_definitions else []
        ),
        "rows": rows,
    }


def _row_object(info: KindInfo, obj: Obj, include_object: str) -> dict[str, Any] | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        full: dict[str, Any] = {"kind": info.kind, "apiVersion": info.api_version}
        full.update(obj)
        return full
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": TABLE_API_VERSION,
        "metadata": dict(obj.get("metadata") or {}),
    }


# --------------------------------------------------------------------------------------
# Small helpers shared by the printers (upstream names in the docstrings)
# --------------------------------------------------------------------------------------


def _m(obj: Obj, key: str) -> Obj:
    value = obj.get(key)
    return value if isinstance(value, Mapping) else {}


def _list(obj: Obj, key: str) -> list[Any]:
    value = obj.get(key)
    return value if isinstance(value, list) else []


def _name(obj: Obj) -> str:
    return str(_m(obj, "metadata").get("name") or "")


def _age(obj: Obj, now: datetime) -> str:
    return translate_timestamp_since(_m(obj, "metadata").get("creationTimestamp"), now)


def _int(value: Any, default: int = 0) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def _time(value: Any) -> datetime | None:
    when = parse_time(value) if isinstance(value, str) else None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when


def _since(when: datetime, now: datetime) -> str:
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return human_duration((now - when).total_seconds())


def format_labels(labels: Mapping[str, Any] | None) -> str:
    """``labels.FormatLabels``: ``a=b,c=d`` sorted by key, ``<none>`` when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def _containers_cells(pod_spec: Obj) -> tuple[str, str]:
    """``layoutContainerCells``: container names and images, comma separated."""
    containers = [c for c in _list(pod_spec, "containers") if isinstance(c, Mapping)]
    names = ",".join(str(c.get("name") or "") for c in containers)
    images = ",".join(str(c.get("image") or "") for c in containers)
    return names, images


def _template_spec(obj: Obj) -> Obj:
    return _m(_m(_m(obj, "spec"), "template"), "spec")


def _replicas(spec: Obj) -> int:
    """``spec.replicas``, which defaulting sets to 1 when unset."""
    value = spec.get("replicas")
    return 1 if value is None else _int(value)


def _replica_columns(kind: str, selector_doc: str | tuple[str, str]) -> tuple[Column, ...]:
    """The columns ``printReplicaSet`` and ``printReplicationController`` share, documented
    from ``V1<kind>Spec``/``V1<kind>Status``."""
    return (
        _name_column(),
        Column("Desired", "integer", (f"V1{kind}Spec", "replicas")),
        Column("Current", "integer", (f"V1{kind}Status", "replicas")),
        Column("Ready", "integer", (f"V1{kind}Status", "readyReplicas")),
        _age_column(),
        Column("Containers", "string", _CONTAINERS_DOC, priority=1),
        Column("Images", "string", _IMAGES_DOC, priority=1),
        Column("Selector", "string", selector_doc, priority=1),
    )


def _replica_row(obj: Obj, now: datetime, selector: str) -> Row:
    """A ReplicaSet's or ReplicationController's row; only the selector is printed apart."""
    spec, status = _m(obj, "spec"), _m(obj, "status")
    names, images = _containers_cells(_template_spec(obj))
    return Row(
        [
            _name(obj),
            _replicas(spec),
            _int(status.get("replicas")),
            _int(status.get("readyReplicas")),
            _age(obj, now),
            names,
            images,
            selector,
        ]
    )


def _join_host_port(host: str, port: int) -> str:
    """``net.JoinHostPort``: brackets around IPv6 addresses."""
    try:
        is_v6 = ipaddress.ip_address(host).version == 6
    except ValueError:
        is_v6 = ":" in host
    return f"[{host}]:{port}" if is_v6 else f"{host}:{port}"


def _list_with_more(items: list[str], more: bool, count: int, limit: int) -> str:
    """``listWithMoreString``: ``a,b,c + 2 more...``, ``<unset>`` when empty."""
    text = ",".join(items)
    if more:
        return f"{text} + {count - limit} more..."
    return text or "<unset>"


# --------------------------------------------------------------------------------------
# core/v1 Pod
# --------------------------------------------------------------------------------------

_POD_COLUMNS = (
    _name_column(),
    Column("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
    Column("Status", "string", "The aggregate status of the containers in this pod."),
    Column(
        "Restarts",
        "string",
        "The number of times the containers in this pod have been restarted and when the "
        "last container in this pod has restarted.",
    ),
    _age_column(),
    Column("IP", "string", ("V1PodStatus", "podIP"), priority=1),
    Column("Node", "string", ("V1PodSpec", "nodeName"), priority=1),
    Column("Nominated Node", "string", ("V1PodStatus", "nominatedNodeName"), priority=1),
    Column("Readiness Gates", "string", ("V1PodSpec", "readinessGates"), priority=1),
)

_POD_SUCCEEDED = {
    "type": "Completed",
    "status": "True",
    "reason": "Succeeded",
    "message": "The pod has completed successfully.",
}
_POD_FAILED = {
    "type": "Completed",
    "status": "True",
    "reason": "Failed",
    "message": "The pod failed.",
}


@_register([("v1", "Pod")], _POD_COLUMNS)
def print_pod(pod: Obj, now: datetime) -> Row:
    """``printPod``: READY, STATUS and RESTARTS exactly as kube-apiserver computes them
    (:func:`kubelab.apimachinery.podstatus.summarize_pod`), then the wide columns."""
    spec, status = _m(pod, "spec"), _m(pod, "status")
    conditions = _list(status, "conditions")
    summary = summarize_pod(pod)
    restarts, last_restart = summary.restarts, summary.last_restart
    phase = str(status.get("phase") or "")
    row_conditions: list[dict[str, str]] = []
    if phase == "Succeeded":
        row_conditions = [dict(_POD_SUCCEEDED)]
    elif phase == "Failed":
        row_conditions = [dict(_POD_FAILED)]

    restarts_cell = str(restarts)
    if restarts != 0 and last_restart is not None:
        restarts_cell = f"{restarts} ({_since(last_restart, now)} ago)"

    pod_ips = [p for p in _list(status, "podIPs") if isinstance(p, Mapping)]
    pod_ip = str(pod_ips[0].get("ip") or "") if pod_ips else str(status.get("podIP") or "")
    node_name = str(spec.get("nodeName") or "") or "<none>"
    nominated = str(status.get("nominatedNodeName") or "") or "<none>"
    gates = [g for g in _list(spec, "readinessGates") if isinstance(g, Mapping)]
    readiness_gates = "<none>"
    if gates:
        true_count = 0
        for gate in gates:
            for cond in conditions:
                if isinstance(cond, Mapping) and cond.get("type") == gate.get("conditionType"):
                    if cond.get("status") == "True":
                        true_count += 1
                    break
        readiness_gates = f"{true_count}/{len(gates)}"

    return Row(
        [
            _name(pod),
            f"{summary.ready}/{summary.total}",
            summary.status,
            restarts_cell,
            _age(pod, now),
            pod_ip or "<none>",
            node_name,
            nominated,
            readiness_gates,
        ],
        row_conditions,
    )


# --------------------------------------------------------------------------------------
# core/v1 Node
# --------------------------------------------------------------------------------------

_NODE_ROLE_PREFIX = "node-role.kubernetes.io/"
_NODE_ROLE_LABEL = "kubernetes.io/role"


def node_roles(node: Obj) -> list[str]:
    """``findNodeRoles``: ``node-role.kubernetes.io/<role>`` and ``kubernetes.io/role`` labels."""
    roles: set[str] = set()
    for key, value in (_m(node, "metadata").get("labels") or {}).items():
        if key.startswith(_NODE_ROLE_PREFIX):
            role = key[len(_NODE_ROLE_PREFIX) :]
            if role:
                roles.add(role)
        elif key == _NODE_ROLE_LABEL and value:
            roles.add(str(value))
    return sorted(roles)


def _node_address(node: Obj, kind: str) -> str:
    for address in _list(_m(node, "status"), "addresses"):
        if isinstance(address, Mapping) and address.get("type") == kind:
            return str(address.get("address") or "")
    return "<none>"


@_register(
    [("v1", "Node")],
    (
        _name_column(),
        Column("Status", "string", "The status of the node"),
        Column("Roles", "string", "The roles of the node"),
        _age_column(),
        Column("Version", "string", ("V1NodeSystemInfo", "kubeletVersion")),
        Column("Internal-IP", "string", ("V1NodeStatus", "addresses"), priority=1),
        Column("External-IP", "string", ("V1NodeStatus", "addresses"), priority=1),
        Column("OS-Image", "string", ("V1NodeSystemInfo", "osImage"), priority=1),
        Column("Kernel-Version", "string", ("V1NodeSystemInfo", "kernelVersion"), priority=1),
        Column(
            "Container-Runtime",
            "string",
            ("V1NodeSystemInfo", "containerRuntimeVersion"),
            priority=1,
        ),
    ),
)
def print_node(node: Obj, now: datetime) -> Row:
    """``printNode``: ``Ready``/``NotReady``/``Unknown`` plus ``,SchedulingDisabled``."""
    status = _m(node, "status")
    states: list[str] = []
    ready = None
    for cond in _list(status, "conditions"):
        if isinstance(cond, Mapping) and cond.get("type") == "Ready":
            ready = cond  # the last one wins, as in upstream's condition map
    if ready is not None:
        states.append("Ready" if ready.get("status") == "True" else "NotReady")
    if not states:
        states.append("Unknown")
    if _m(node, "spec").get("unschedulable"):
        states.append("SchedulingDisabled")
    info = _m(status, "nodeInfo")
    return Row(
        [
            _name(node),
            ",".join(states),
            ",".join(node_roles(node)) or "<none>",
            _age(node, now),
            str(info.get("kubeletVersion") or ""),
            _node_address(node, "InternalIP"),
            _node_address(node, "ExternalIP"),
            str(info.get("osImage") or "") or "<unknown>",
            str(info.get("kernelVersion") or "") or "<unknown>",
            str(info.get("containerRuntimeVersion") or "") or "<unknown>",
        ]
    )


# --------------------------------------------------------------------------------------
# core/v1 Service, Endpoints; discovery.k8s.io/v1 EndpointSlice
# --------------------------------------------------------------------------------------


def _load_balancer_ips(status: Obj) -> str:
    """``loadBalancerStatusStringer`` (wide): the ingress IPs/hostnames, sorted and unique."""
    found: set[str] = set()
    for ingress in _list(_m(status, "loadBalancer"), "ingress"):
        if not isinstance(ingress, Mapping):
            continue
        if ingress.get("ip"):
            found.add(str(ingress["ip"]))
        elif ingress.get("hostname"):
            found.add(str(ingress["hostname"]))
    return ",".join(sorted(found))


def service_external_ip(svc: Obj) -> str:
    """``getServiceExternalIP``: ``<none>``, ``<pending>``, the LB ingress or ExternalName."""
    spec = _m(svc, "spec")
    kind = spec.get("type") or "ClusterIP"
    external = [str(ip) for ip in _list(spec, "externalIPs")]
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if kind == "LoadBalancer":
        lb_ips = _load_balancer_ips(_m(svc, "status"))
        if external:
            results = lb_ips.split(",") if lb_ips else []
            return ",".join(results + external)
        return lb_ips or "<pending>"
    if kind == "ExternalName":
        return str(spec.get("externalName") or "")
    return "<unknown>"


def service_ports(ports: list[Any]) -> str:
    """``makePortString``: ``80/TCP``, ``80:31234/TCP`` for node ports, comma separated."""
    pieces: list[str] = []
    for port in ports:
        if not isinstance(port, Mapping):
            continue
        protocol = port.get("protocol") or "TCP"
        node_port = _int(port.get("nodePort"))
        if node_port > 0:
            pieces.append(f"{_int(port.get('port'))}:{node_port}/{protocol}")
        else:
            pieces.append(f"{_int(port.get('port'))}/{protocol}")
    return ",".join(pieces)


@_register(
    [("v1", "Service")],
    (
        _name_column(),
        Column("Type", "string", ("V1ServiceSpec", "type")),
        Column("Cluster-IP", "string", ("V1ServiceSpec", "clusterIP")),
        Column("External-IP", "string", ("V1ServiceSpec", "externalIPs")),
        Column("Port(s)", "string", ("V1ServiceSpec", "ports")),
        _age_column(),
        Column("Selector", "string", ("V1ServiceSpec", "selector"), priority=1),
    ),
)
def print_service(svc: Obj, now: datetime) -> Row:
    """``printService``."""
    spec = _m(svc, "spec")
    cluster_ips = [str(ip) for ip in _list(spec, "clusterIPs")]
    if not cluster_ips and spec.get("clusterIP"):
        cluster_ips = [str(spec["clusterIP"])]
    return Row(
        [
            _name(svc),
            str(spec.get("type") or "ClusterIP"),
            cluster_ips[0] if cluster_ips else "<none>",
            service_external_ip(svc),
            service_ports(_list(spec, "ports")) or "<none>",
            _age(svc, now),
            format_labels(spec.get("selector")),
        ]
    )


def format_endpoints(endpoints: Obj) -> str:
    """``formatEndpoints``: up to three ``ip:port`` then ``+ N more...``; ``<none>`` if empty."""
    subsets = [s for s in _list(endpoints, "subsets") if isinstance(s, Mapping)]
    if not subsets:
        return "<none>"
    limit = 3
    shown: list[str] = []
    more = False
    count = 0
    for subset in subsets:
        addresses = [a for a in _list(subset, "addresses") if isinstance(a, Mapping)]
        ports = [p for p in _list(subset, "ports") if isinstance(p, Mapping)]
        if not ports:
            # Headless services may have no ports.
            count += len(addresses)
            for address in addresses:
                if len(shown) == limit:
                    more = True
                    break
                shown.append(str(address.get("ip") or ""))
            continue
        for port in ports:
            count += len(addresses)
            for address in addresses:
                if len(shown) == limit:
                    more = True
                    break
                shown.append(_join_host_port(str(address.get("ip") or ""), _int(port.get("port"))))
    text = ",".join(shown)
    if more:
        return f"{text} + {count - limit} more..."
    return text


@_register(
    [("v1", "Endpoints")],
    (_name_column(), Column("Endpoints", "string", ("V1Endpoints", "subsets")), _age_column()),
)
def print_endpoints(obj: Obj, now: datetime) -> Row:
    """``printEndpoints``."""
    return Row([_name(obj), format_endpoints(obj), _age(obj, now)])


def _discovery_ports(ports: list[Any]) -> str:
    """``formatDiscoveryPorts``: port numbers (or names, or ``*``)."""
    limit = 3
    shown: list[str] = []
    more = False
    count = 0
    for port in ports:
        if not isinstance(port, Mapping):
            continue
        if len(shown) < limit:
            if port.get("port") is not None:
                shown.append(str(_int(port.get("port"))))
            elif port.get("name") is not None:
                shown.append(str(port["name"]))
            else:
                shown.append("*")
        elif len(shown) == limit:
            more = True
        count += 1
    return _list_with_more(shown, more, count, limit)


def _discovery_endpoints(endpoints: list[Any]) -> str:
    """``formatDiscoveryEndpoints``: the first three addresses of all endpoints."""
    limit = 3
    shown: list[str] = []
    more = False
    count = 0
    for endpoint in endpoints:
        if not isinstance(endpoint, Mapping):
            continue
        for address in _list(endpoint, "addresses"):
            if len(shown) < limit:
                shown.append(str(address))
            elif len(shown) == limit:
                more = True
            count += 1
    return _list_with_more(shown, more, count, limit)


@_register(
    [("discovery.k8s.io/v1", "EndpointSlice")],
    (
        _name_column(),
        Column("AddressType", "string", ("V1EndpointSlice", "addressType")),
        Column("Ports", "string", ("V1EndpointSlice", "ports")),
        Column("Endpoints", "string", ("V1EndpointSlice", "endpoints")),
        _age_column(),
    ),
)
def print_endpoint_slice(obj: Obj, now: datetime) -> Row:
    """``printEndpointSlice``."""
    return Row(
        [
            _name(obj),
            str(obj.get("addressType") or ""),
            _discovery_ports(_list(obj, "ports")),
            _discovery_endpoints(_list(obj, "endpoints")),
            _age(obj, now),
        ]
    )


# --------------------------------------------------------------------------------------
# Events: core/v1 and events.k8s.io/v1 (served from the same storage upstream)
# --------------------------------------------------------------------------------------

_EVENT_COLUMNS = (
    Column("Last Seen", "string", ("CoreV1Event", "lastTimestamp")),
    Column("Type", "string", ("CoreV1Event", "type")),
    Column("Reason", "string", ("CoreV1Event", "reason")),
    Column("Object", "string", "The object that this event is about."),
    Column("Subobject", "string", ("V1ObjectReference", "fieldPath"), priority=1),
    Column(
        "Source",
        "string",
        "The component reporting this event. Should be a short machine understandable string.",
        priority=1,
    ),
    Column("Message", "string", ("CoreV1Event", "message")),
    Column("First Seen", "string", ("CoreV1Event", "firstTimestamp"), priority=1),
    Column("Count", "string", ("CoreV1Event", "count"), priority=1),
    Column("Name", "string", ("V1ObjectMeta", "name"), format="name", priority=1),
)


def _first_non_empty(*values: Any) -> str:
    for value in values:
        if value:
            return str(value)
    return ""


def format_event_source(source: Obj, reporting_controller: Any, reporting_instance: Any) -> str:
    """``formatEventSource``: ``component, host`` falling back to the reporting fields."""
    component = _first_non_empty(source.get("component"), reporting_controller)
    instance = _first_non_empty(source.get("host"), reporting_instance)
    return f"{component}, {instance}" if instance else component


def events_v1_as_core(event: Obj) -> dict[str, Any]:
    """Convert an ``events.k8s.io/v1`` Event to core/v1 field names (``pkg/apis/events/v1``)."""
    renames = {
        "regarding": "involvedObject",
        "note": "message",
        "deprecatedSource": "source",
        "deprecatedFirstTimestamp": "firstTimestamp",
        "deprecatedLastTimestamp": "lastTimestamp",
        "deprecatedCount": "count",
        "reportingController": "reportingComponent",
    }
    return {renames.get(key, key): value for key, value in event.items()}


@_register([("v1", "Event")], _EVENT_COLUMNS)
def print_event(event: Obj, now: datetime) -> Row:
    """``printEvent``: LAST SEEN from ``lastTimestamp``, else first; ``series`` overrides."""
    first = translate_timestamp_since(event.get("firstTimestamp"), now)
    if _time(event.get("firstTimestamp")) is None:
        first = translate_timestamp_since(event.get("eventTime"), now)
    last = translate_timestamp_since(event.get("lastTimestamp"), now)
    if _time(event.get("lastTimestamp")) is None:
        last = first
    count = _int(event.get("count"))
    series = event.get("series")
    if isinstance(series, Mapping):
        last = translate_timestamp_since(series.get("lastObservedTime"), now)
        count = _int(series.get("count"))
    elif count == 0:
        # Singleton events don't carry a count in the new API.
        count = 1
    involved = _m(event, "involvedObject")
    kind = str(involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    return Row(
        [
            last,
            str(event.get("type") or ""),
            str(event.get("reason") or ""),
            target,
            str(involved.get("fieldPath") or ""),
            format_event_source(
                _m(event, "source"),
                event.get("reportingComponent"),
                event.get("reportingInstance"),
            ),
            str(event.get("message") or "").strip(),
            first,
            count,
            _name(event),
        ]
    )


@_register([("events.k8s.io/v1", "Event")], _EVENT_COLUMNS)
def print_events_v1_event(event: Obj, now: datetime) -> Row:
    """The same columns as core/v1, after the ``events.k8s.io`` → core conversion."""
    return print_event(events_v1_as_core(event), now)


# --------------------------------------------------------------------------------------
# Simple core/v1 kinds
# --------------------------------------------------------------------------------------


@_register(
    [("v1", "Namespace")],
    (_name_column(), Column("Status", "string", "The status of the namespace"), _age_column()),
)
def print_namespace(obj: Obj, now: datetime) -> Row:
    """``printNamespace``."""
    return Row([_name(obj), str(_m(obj, "status").get("phase") or ""), _age(obj, now)])


@_register(
    [("v1", "ConfigMap")],
    (_name_column(), Column("Data", "string", ("V1ConfigMap", "data")), _age_column()),
)
def print_config_map(obj: Obj, now: datetime) -> Row:
    """``printConfigMap``: DATA counts ``data`` and ``binaryData`` keys."""
    count = len(_m(obj, "data")) + len(_m(obj, "binaryData"))
    return Row([_name(obj), count, _age(obj, now)])


@_register(
    [("v1", "Secret")],
    (
        _name_column(),
        Column("Type", "string", ("V1Secret", "type")),
        Column("Data", "string", ("V1Secret", "data")),
        _age_column(),
    ),
)
def print_secret(obj: Obj, now: datetime) -> Row:
    """``printSecret``: DATA counts keys after ``stringData`` is merged into ``data``."""
    keys = set(_m(obj, "data")) | set(_m(obj, "stringData"))
    return Row([_name(obj), str(obj.get("type") or ""), len(keys), _age(obj, now)])


@_register(
    [("v1", "ServiceAccount")],
    (
        _name_column(),
        Column("Secrets", "string", ("V1ServiceAccount", "secrets")),
        _age_column(),
    ),
)
def print_service_account(obj: Obj, now: datetime) -> Row:
    """``printServiceAccount``."""
    return Row([_name(obj), len(_list(obj, "secrets")), _age(obj, now)])


@_register(
    [("v1", "ResourceQuota")],
    (
        _name_column(),
        Column(
            "Request",
            "string",
            "Request represents a minimum amount of cpu/memory that a container may consume.",
        ),
        Column(
            "Limit",
            "string",
            "Limits control the maximum amount of cpu/memory that a container may use "
            "independent of contention on the node.",
        ),
        _age_column(),
    ),
)
def print_resource_quota(obj: Obj, now: datetime) -> Row:
    """``printResourceQuota``: ``name: used/hard`` per resource; ``limits.*`` go to LIMIT."""
    status = _m(obj, "status")
    hard, used = _m(status, "hard"), _m(status, "used")
    requests: list[str] = []
    limits: list[str] = []
    for resource in sorted(hard):
        text = f"{resource}: {used.get(resource) or '0'}/{hard[resource]}"
        pieces = resource.split(".")
        (limits if len(pieces) > 1 and pieces[0] == "limits" else requests).append(text)
    return Row([_name(obj), ", ".join(requests), ", ".join(limits), _age(obj, now)])


# --------------------------------------------------------------------------------------
# apps/v1
# --------------------------------------------------------------------------------------


@_register(
    [("apps/v1", "Deployment")],
    (
        _name_column(),
        Column("Ready", "string", "Number of the pod with ready state"),
        Column("Up-to-date", "string", ("V1DeploymentStatus", "updatedReplicas")),
        Column("Available", "string", ("V1DeploymentStatus", "availableReplicas")),
        _age_column(),
        Column("Containers", "string", _CONTAINERS_DOC, priority=1),
        Column("Images", "string", _IMAGES_DOC, priority=1),
        Column("Selector", "string", _DEPLOYMENT_SELECTOR_DOC, priority=1),
    ),
)
def print_deployment(obj: Obj, now: datetime) -> Row:
    """``printDeployment``: READY is ``readyReplicas/spec.replicas``."""
    spec, status = _m(obj, "spec"), _m(obj, "status")
    try:
        selector = selector_string(spec.get("selector"))
    except InvalidSelector:
        selector = "<invalid>"
    names, images = _containers_cells(_template_spec(obj))
    return Row(
        [
            _name(obj),
            f"{_int(status.get('readyReplicas'))}/{_replicas(spec)}",
            _int(status.get("updatedReplicas")),
            _int(status.get("availableReplicas")),
            _age(obj, now),
            names,
            images,
            selector,
        ]
    )


@_register([("apps/v1", "ReplicaSet")], _replica_columns("ReplicaSet", _REPLICA_SET_SELECTOR_DOC))
def print_replica_set(obj: Obj, now: datetime) -> Row:
    """``printReplicaSet``."""
    return _replica_row(obj, now, format_label_selector(_m(obj, "spec").get("selector")))


@_register(
    [("apps/v1", "DaemonSet")],
    (
        _name_column(),
        Column("Desired", "integer", ("V1DaemonSetStatus", "desiredNumberScheduled")),
        Column("Current", "integer", ("V1DaemonSetStatus", "currentNumberScheduled")),
        Column("Ready", "integer", ("V1DaemonSetStatus", "numberReady")),
        Column("Up-to-date", "integer", ("V1DaemonSetStatus", "updatedNumberScheduled")),
        Column("Available", "integer", ("V1DaemonSetStatus", "numberAvailable")),
        Column("Node Selector", "string", ("V1PodSpec", "nodeSelector")),
        _age_column(),
        Column("Containers", "string", _CONTAINERS_DOC, priority=1),
        Column("Images", "string", _IMAGES_DOC, priority=1),
        Column("Selector", "string", _DAEMON_SET_SELECTOR_DOC, priority=1),
    ),
)
def print_daemon_set(obj: Obj, now: datetime) -> Row:
    """``printDaemonSet``."""
    spec, status = _m(obj, "spec"), _m(obj, "status")
    template_spec = _template_spec(obj)
    names, images = _containers_cells(template_spec)
    return Row(
        [
            _name(obj),
            _int(status.get("desiredNumberScheduled")),
            _int(status.get("currentNumberScheduled")),
            _int(status.get("numberReady")),
            _int(status.get("updatedNumberScheduled")),
            _int(status.get("numberAvailable")),
            format_labels(template_spec.get("nodeSelector")),
            _age(obj, now),
            names,
            images,
            format_label_selector(spec.get("selector")),
        ]
    )


@_register(
    [("apps/v1", "StatefulSet")],
    (
        _name_column(),
        Column("Ready", "string", "Number of the pod with ready state"),
        _age_column(),
        Column("Containers", "string", _CONTAINERS_DOC, priority=1),
        Column("Images", "string", _IMAGES_DOC, priority=1),
    ),
)
def print_stateful_set(obj: Obj, now: datetime) -> Row:
    """``printStatefulSet``: READY is ``readyReplicas/spec.replicas``."""
    spec, status = _m(obj, "spec"), _m(obj, "status")
    names, images = _containers_cells(_template_spec(obj))
    ready = f"{_int(status.get('readyReplicas'))}/{_replicas(spec)}"
    return Row([_name(obj), ready, _age(obj, now), names, images])


@_register(
    [("apps/v1", "ControllerRevision")],
    (
        _name_column(),
        Column("Controller", "string", "Controller of the object"),
        Column("Revision", "integer", ("V1ControllerRevision", "revision")),
        _age_column(),
    ),
)
def print_controller_revision(obj: Obj, now: datetime) -> Row:
    """``printControllerRevision``: CONTROLLER is ``<kind>.<group>/<name>`` in lower case."""
    controller = "<none>"
    for ref in _list(_m(obj, "metadata"), "ownerReferences"):
        if isinstance(ref, Mapping) and ref.get("controller"):
            group = str(ref.get("apiVersion") or "").rpartition("/")[0]
            kind = str(ref.get("kind") or "") + (f".{group}" if group else "")
            controller = f"{kind.lower()}/{ref.get('name', '')}"
    return Row([_name(obj), controller, _int(obj.get("revision")), _age(obj, now)])


_ACCESS_MODE_SHORT = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"),
                      ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP"))


def access_modes_string(modes: Any) -> str:
    """``GetAccessModesAsString``: RWO, ROX, RWX, RWOP in that order, comma separated."""
    present = modes if isinstance(modes, list) else []
    return ",".join(short for mode, short in _ACCESS_MODE_SHORT if mode in present)


def _storage_class_of(obj: Obj) -> str:
    """``GetPersistentVolume(Claim)Class``: the beta annotation, else the field."""
    beta = _m(_m(obj, "metadata"), "annotations").get("volume.beta.kubernetes.io/storage-class")
    if beta is not None:
        return str(beta)
    return str(_m(obj, "spec").get("storageClassName") or "")


def _volume_mode(spec: Obj) -> str:
    mode = spec.get("volumeMode")
    return "<unset>" if mode is None else str(mode)


@_register(
    [("v1", "PersistentVolume")],
    (
        _name_column(),
        Column("Capacity", "string", ("V1PersistentVolumeSpec", "capacity")),
        Column("Access Modes", "string", ("V1PersistentVolumeSpec", "accessModes")),
        Column("Reclaim Policy", "string",
               ("V1PersistentVolumeSpec", "persistentVolumeReclaimPolicy")),
        Column("Status", "string", ("V1PersistentVolumeStatus", "phase")),
        Column("Claim", "string", ("V1PersistentVolumeSpec", "claimRef")),
        Column("StorageClass", "string", "StorageClass of the pv"),
        Column("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv"),
        Column("Reason", "string", ("V1PersistentVolumeStatus", "reason")),
        _age_column(),
        Column("VolumeMode", "string", ("V1PersistentVolumeSpec", "volumeMode"), priority=1),
    ),
)
def print_persistent_volume(obj: Obj, now: datetime) -> Row:
    """``printPersistentVolume``."""
    spec, status = _m(obj, "spec"), _m(obj, "status")
    claim = _m(spec, "claimRef")
    claim_cell = f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else ""
    phase = str(status.get("phase") or "")
    if _m(obj, "metadata").get("deletionTimestamp"):
        phase = "Terminating"
    return Row([
        _name(obj), str(_m(spec, "capacity").get("storage") or "0"),
        access_modes_string(spec.get("accessModes")),
        str(spec.get("persistentVolumeReclaimPolicy") or ""), phase, claim_cell,
        _storage_class_of(obj), str(spec.get("volumeAttributesClassName") or "<unset>"),
        str(status.get("reason") or ""), _age(obj, now), _volume_mode(spec),
    ])


@_register(
    [("v1", "PersistentVolumeClaim")],
    (
        _name_column(),
        Column("Status", "string", ("V1PersistentVolumeClaimStatus", "phase")),
        Column("Volume", "string", ("V1PersistentVolumeClaimSpec", "volumeName")),
        Column("Capacity", "string", ("V1PersistentVolumeClaimStatus", "capacity")),
        Column("Access Modes", "string", ("V1PersistentVolumeClaimStatus", "accessModes")),
        Column("StorageClass", "string", "StorageClass of the pvc"),
        Column("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"),
        _age_column(),
        Column("VolumeMode", "string", ("V1PersistentVolumeClaimSpec", "volumeMode"),
               priority=1),
    ),
)
def print_persistent_volume_claim(obj: Obj, now: datetime) -> Row:
    """``printPersistentVolumeClaim``: capacity and modes only once bound to a volume."""
    spec, status = _m(obj, "spec"), _m(obj, "status")
    phase = str(status.get("phase") or "")
    if _m(obj, "metadata").get("deletionTimestamp"):
        phase = "Terminating"
    capacity = modes = ""
    if spec.get("volumeName"):
        modes = access_modes_string(status.get("accessModes"))
        capacity = str(_m(status, "capacity").get("storage") or "0")
    return Row([
        _name(obj), phase, str(spec.get("volumeName") or ""), capacity, modes,
        _storage_class_of(obj), str(spec.get("volumeAttributesClassName") or "<unset>"),
        _age(obj, now), _volume_mode(spec),
    ])


@_register(
    [("storage.k8s.io/v1", "StorageClass")],
    (
        _name_column(),
        Column("Provisioner", "string", ("V1StorageClass", "provisioner")),
        Column("ReclaimPolicy", "string", ("V1StorageClass", "reclaimPolicy")),
        Column("VolumeBindingMode", "string", ("V1StorageClass", "volumeBindingMode")),
        Column("AllowVolumeExpansion", "string", ("V1StorageClass", "allowVolumeExpansion")),
        _age_column(),
    ),
)
def print_storage_class(obj: Obj, now: datetime) -> Row:
    """``printStorageClass``: the default class's name ends in `` (default)``."""
    annotations = _m(_m(obj, "metadata"), "annotations")
    name = _name(obj)
    if "true" in (annotations.get("storageclass.kubernetes.io/is-default-class"),
                  annotations.get("storageclass.beta.kubernetes.io/is-default-class")):
        name += " (default)"
    return Row([
        name, str(obj.get("provisioner") or ""), str(obj.get("reclaimPolicy") or "Delete"),
        str(obj.get("volumeBindingMode") or "Immediate"),
        bool(obj.get("allowVolumeExpansion")), _age(obj, now),
    ])


# --------------------------------------------------------------------------------------
# batch/v1
# --------------------------------------------------------------------------------------


def _has_true_condition(status: Obj, ctype: str) -> bool:
    """``hasJobCondition``: a condition of that type with status True."""
    return any(isinstance(c, Mapping) and c.get("type") == ctype and c.get("status") == "True"
               for c in _list(status, "conditions"))


def job_status_cell(obj: Obj) -> str:
    """The STATUS cell of ``printJob`` (the first that holds, in upstream's order)."""
    status = _m(obj, "status")
    if _has_true_condition(status, "Complete"):
        return "Complete"
    if _has_true_condition(status, "Failed"):
        return "Failed"
    if _m(obj, "metadata").get("deletionTimestamp"):
        return "Terminating"
    for ctype in ("Suspended", "FailureTarget", "SuccessCriteriaMet"):
        if _has_true_condition(status, ctype):
            return ctype
    return "Running"


def job_completions_cell(obj: Obj) -> str:
    """``printJob``'s COMPLETIONS: ``succeeded/completions``, or ``n/1 of parallelism``."""
    spec, status = _m(obj, "spec"), _m(obj, "status")
    succeeded = _int(status.get("succeeded"))
    if spec.get("completions") is not None:
        return f"{succeeded}/{_int(spec.get('completions'))}"
    parallelism = _int(spec.get("parallelism"))
    if parallelism > 1:
        return f"{succeeded}/1 of {parallelism}"
    return f"{succeeded}/1"


def job_duration_cell(obj: Obj, now: datetime) -> str:
    """``printJob``'s DURATION: start to completion, or start to now while it runs."""
    status = _m(obj, "status")
    start = _time(status.get("startTime"))
    if start is None:
        return ""
    done = _time(status.get("completionTime"))
    if done is None:
        return _since(start, now)
    return human_duration((done - start).total_seconds())


@_register(
    [("batch/v1", "Job")],
    (
        _name_column(),
        Column("Status", "string", "Status of the job."),
        Column("Completions", "string", ("V1JobStatus", "succeeded")),
        Column("Duration", "string", "Time required to complete the job."),
        _age_column(),
        Column("Containers", "string", _CONTAINERS_DOC, priority=1),
        Column("Images", "string", _IMAGES_DOC, priority=1),
        Column("Selector", "string", ("V1JobSpec", "selector"), priority=1),
    ),
)
def print_job(obj: Obj, now: datetime) -> Row:
    """``printJob``."""
    names, images = _containers_cells(_template_spec(obj))
    return Row(
        [
            _name(obj),
            job_status_cell(obj),
            job_completions_cell(obj),
            job_duration_cell(obj, now),
            _age(obj, now),
            names,
            images,
            format_label_selector(_m(obj, "spec").get("selector")),
        ]
    )


@_register(
    [("batch/v1", "CronJob")],
    (
        _name_column(),
        Column("Schedule", "string", ("V1CronJobSpec", "schedule")),
        Column("Timezone", "string", ("V1CronJobSpec", "timeZone")),
        Column("Suspend", "boolean", ("V1CronJobSpec", "suspend")),
        Column("Active", "integer", ("V1CronJobStatus", "active")),
        Column("Last Schedule", "string", ("V1CronJobStatus", "lastScheduleTime")),
        _age_column(),
        Column("Containers", "string", _CONTAINERS_DOC, priority=1),
        Column("Images", "string", _IMAGES_DOC, priority=1),
        Column("Selector", "string", ("V1JobSpec", "selector"), priority=1),
    ),
)
def print_cron_job(obj: Obj, now: datetime) -> Row:
    """``printCronJob`` (SUSPEND is ``printBoolPtr``: ``True``/``False``/``<unset>``)."""
    spec, status = _m(obj, "spec"), _m(obj, "status")
    job_spec = _m(_m(spec, "jobTemplate"), "spec")
    names, images = _containers_cells(_m(_m(job_spec, "template"), "spec"))
    last = _time(status.get("lastScheduleTime"))
    suspend = spec.get("suspend")
    return Row(
        [
            _name(obj),
            str(spec.get("schedule") or ""),
            str(spec.get("timeZone")) if spec.get("timeZone") is not None else "<none>",
            "<unset>" if suspend is None else ("True" if suspend else "False"),
            len(_list(status, "active")),
            "<none>" if last is None else _since(last, now),
            _age(obj, now),
            names,
            images,
            format_label_selector(job_spec.get("selector")),
        ]
    )


# --------------------------------------------------------------------------------------
# networking.k8s.io/v1
# --------------------------------------------------------------------------------------


def ingress_hosts_cell(spec: Obj) -> str:
    """``formatHosts``: up to three hosts, ``+ N more...``, or ``*`` when none is named."""
    rules = _list(spec, "rules")
    shown: list[str] = []
    more = False
    for rule in rules:
        if len(shown) == 3:
            more = True
        host = rule.get("host") if isinstance(rule, Mapping) else None
        if not more and host:
            shown.append(str(host))
    if not shown:
        return "*"
    return ",".join(shown) + (f" + {len(rules) - 3} more..." if more else "")


@_register(
    [("networking.k8s.io/v1", "Ingress")],
    (
        _name_column(),
        Column("Class", "string",
               "The name of the IngressClass resource that should be used for this Ingress."),
        Column("Hosts", "string",
               "Hosts that incoming requests are matched against before the ingress rule"),
        Column("Address", "string",
               "Address is a list containing ingress points for the load-balancer"),
        Column("Ports", "string", "Ports of TLS configurations that open"),
        _age_column(),
    ),
)
def print_ingress(obj: Obj, now: datetime) -> Row:
    """``printIngress`` (the server prints wide: the address is not clipped)."""
    spec = _m(obj, "spec")
    class_name = spec.get("ingressClassName")
    return Row(
        [
            _name(obj),
            "<none>" if class_name is None else str(class_name),
            ingress_hosts_cell(spec),
            _load_balancer_ips(_m(obj, "status")),
            "80, 443" if _list(spec, "tls") else "80",
            _age(obj, now),
        ]
    )


@_register(
    [("networking.k8s.io/v1", "IngressClass")],
    (
        _name_column(),
        Column("Controller", "string", "Controller that is responsible for handling this class"),
        Column("Parameters", "string", "A reference to a resource with additional parameters"),
        _age_column(),
    ),
)
def print_ingress_class(obj: Obj, now: datetime) -> Row:
    """``printIngressClass``: ``(default)`` after the default class's name (Kubernetes 1.35+)."""
    spec = _m(obj, "spec")
    annotations = _m(_m(obj, "metadata"), "annotations")
    name = _name(obj)
    if annotations.get("ingressclass.kubernetes.io/is-default-class") == "true":
        name = f"{name} (default)"
    params = _m(spec, "parameters")
    parameters = "<none>"
    if params:
        parameters = str(params.get("kind") or "")
        if params.get("apiGroup") is not None:
            parameters += "." + str(params["apiGroup"])
        parameters += "/" + str(params.get("name") or "")
    return Row([name, str(spec.get("controller") or ""), parameters, _age(obj, now)])


# --------------------------------------------------------------------------------------
# autoscaling/v2
# --------------------------------------------------------------------------------------


def _hpa_metric(spec: Obj, current: Obj | None) -> str:
    """One metric of ``formatHPAMetrics``: ``cpu: 12%/50%``, ``<unknown>`` until measured."""
    kind = spec.get("type")
    if kind in ("Resource", "ContainerResource"):
        source = _m(spec, "resource" if kind == "Resource" else "containerResource")
        target = _m(source, "target")
        now = _m(current or {}, "resource" if kind == "Resource" else "containerResource")
        name = str(source.get("name") or "")
        if kind == "ContainerResource":
            name = f"{name} of container \"{source.get('container', '')}\""
        if target.get("averageValue") is not None:
            value = _m(now, "current").get("averageValue") if now else None
            shown = str(value) if value is not None else "<unknown>"
            return f"{name}: {shown}/{target['averageValue']}"
        percent = _m(now, "current").get("averageUtilization") if now else None
        shown = f"{percent}%" if percent is not None else "<unknown>"
        wanted = (f"{target['averageUtilization']}%"
                  if target.get("averageUtilization") is not None else "<auto>")
        return f"{name}: {shown}/{wanted}"
    field_name = {"Pods": "pods", "Object": "object", "External": "external"}.get(str(kind))
    if field_name is None:
        return "<unknown type>"
    source = _m(spec, field_name)
    target = _m(source, "target")
    now = _m(_m(current or {}, field_name), "current")
    key = "value" if target.get("value") is not None else "averageValue"
    value = now.get(key)
    return f"{value if value is not None else '<unknown>'}/{target.get(key, '')}" + \
        (" (avg)" if kind != "Pods" and key == "averageValue" else "")


def format_hpa_metrics(specs: list[Any], statuses: list[Any]) -> str:
    """``formatHPAMetrics``: the first two metrics, then ``+ N more...``."""
    if not specs:
        return "<none>"
    cells = [_hpa_metric(spec if isinstance(spec, dict) else {},
                         statuses[i] if i < len(statuses) and isinstance(statuses[i], dict)
                         else None)
             for i, spec in enumerate(specs)]
    if len(cells) > 2:
        return ", ".join(cells[:2]) + f" + {len(cells) - 2} more..."
    return ", ".join(cells)


@_register(
    [("autoscaling/v2", "HorizontalPodAutoscaler")],
    (
        _name_column(),
        Column("Reference", "string", ("V2HorizontalPodAutoscalerSpec", "scaleTargetRef")),
        Column("Targets", "string", ("V2HorizontalPodAutoscalerSpec", "metrics")),
        Column("MinPods", "string", ("V2HorizontalPodAutoscalerSpec", "minReplicas")),
        Column("MaxPods", "integer", ("V2HorizontalPodAutoscalerSpec", "maxReplicas")),
        Column("Replicas", "integer", ("V2HorizontalPodAutoscalerStatus", "currentReplicas")),
        _age_column(),
    ),
)
def print_horizontal_pod_autoscaler(obj: Obj, now: datetime) -> Row:
    """``printHorizontalPodAutoscaler``."""
    spec, status = _m(obj, "spec"), _m(obj, "status")
    ref = _m(spec, "scaleTargetRef")
    low = spec.get("minReplicas")
    return Row(
        [
            _name(obj),
            f"{ref.get('kind', '')}/{ref.get('name', '')}",
            format_hpa_metrics(_list(spec, "metrics"), _list(status, "currentMetrics")),
            "<unset>" if low is None else str(low),
            _int(spec.get("maxReplicas")),
            _int(status.get("currentReplicas")),
            _age(obj, now),
        ]
    )


# --------------------------------------------------------------------------------------
# coordination.k8s.io/v1
# --------------------------------------------------------------------------------------


@_register(
    [("coordination.k8s.io/v1", "Lease")],
    (_name_column(), Column("Holder", "string", ("V1LeaseSpec", "holderIdentity")), _age_column()),
)
def print_lease(obj: Obj, now: datetime) -> Row:
    """``printLease``."""
    return Row([_name(obj), str(_m(obj, "spec").get("holderIdentity") or ""), _age(obj, now)])


@_register(
    [("rbac.authorization.k8s.io/v1", "Role"), ("rbac.authorization.k8s.io/v1", "ClusterRole")],
    (
        _name_column(),
        Column("Created At", "date", ("V1ObjectMeta", "creationTimestamp")),
    ),
)
def print_role(obj: Obj, now: datetime) -> Row:
    """Roles have no printer of their own: ``rest.NewDefaultTableConvertor``'s NAME and
    CREATED AT (the creation time in RFC 3339, UTC)."""
    return Row([_name(obj), str(_m(obj, "metadata").get("creationTimestamp") or "")])


def rbac_subjects_cells(obj: Obj) -> tuple[str, str, str]:
    """``SubjectsStrings`` joined as ``printRoleBinding`` shows them: users, groups and
    ``namespace/name`` ServiceAccounts."""
    users, groups, accounts = [], [], []
    for subject in _list(obj, "subjects"):
        kind, name = subject.get("kind"), str(subject.get("name") or "")
        if kind == "ServiceAccount":
            accounts.append(f"{subject.get('namespace') or ''}/{name}")
        elif kind == "User":
            users.append(name)
        elif kind == "Group":
            groups.append(name)
    return ", ".join(users), ", ".join(groups), ", ".join(accounts)


def _binding_columns(what: str, model: str) -> tuple[Column, ...]:
    return (
        _name_column(),
        Column("Role", "string", (model, "roleRef")),
        _age_column(),
        Column("Users", "string", f"Users in the {what}", priority=1),
        Column("Groups", "string", f"Groups in the {what}", priority=1),
        Column("ServiceAccounts", "string", f"ServiceAccounts in the {what}", priority=1),
    )


def _print_binding(obj: Obj, now: datetime) -> Row:
    ref = _m(obj, "roleRef")
    users, groups, accounts = rbac_subjects_cells(obj)
    return Row([_name(obj), f"{ref.get('kind', '')}/{ref.get('name', '')}", _age(obj, now),
                users, groups, accounts])


@_register([("rbac.authorization.k8s.io/v1", "RoleBinding")],
           _binding_columns("roleBinding", "V1RoleBinding"))
def print_role_binding(obj: Obj, now: datetime) -> Row:
    """``printRoleBinding``: ROLE is ``Kind/name``."""
    return _print_binding(obj, now)


@_register([("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")],
           _binding_columns("clusterRoleBinding", "V1ClusterRoleBinding"))
def print_cluster_role_binding(obj: Obj, now: datetime) -> Row:
    """``printClusterRoleBinding``."""
    return _print_binding(obj, now)

# --------------------------------------------------------------------------------------
# core/v1 LimitRange and ReplicationController, policy/v1 PodDisruptionBudget
# --------------------------------------------------------------------------------------


@_register(
    [("v1", "LimitRange")],
    (_name_column(), Column("Created At", "date", ("V1ObjectMeta", "creationTimestamp"))),
)
def print_limit_range(obj: Obj, now: datetime) -> Row:
    """``printLimitRange``: the creation time itself (RFC 3339), not an age."""
    return Row([_name(obj), str(_m(obj, "metadata").get("creationTimestamp") or "")])


@_register([("v1", "ReplicationController")],
           _replica_columns("ReplicationController",
                            ("V1ReplicationControllerSpec", "selector")))
def print_replication_controller(obj: Obj, now: datetime) -> Row:
    """``printReplicationController``: the selector is a plain label map."""
    return _replica_row(obj, now, format_labels(_m(_m(obj, "spec"), "selector")))


def _int_or_string(value: Any) -> str:
    """``intstr.IntOrString.String()``; ``N/A`` when unset, as the PDB printer shows it."""
    if value is None:
        return "N/A"
    return str(value)


@_register(
    [("policy/v1", "PodDisruptionBudget")],
    (
        _name_column(),
        Column("Min Available", "string", "The minimum number of pods that must be available."),
        Column("Max Unavailable", "string",
               "The maximum number of pods that may be unavailable."),
        Column("Allowed Disruptions", "integer",
               "Calculated number of pods that may be disrupted at this time."),
        _age_column(),
    ),
)
def print_pod_disruption_budget(obj: Obj, now: datetime) -> Row:
    """``printPodDisruptionBudget``."""
    spec, status = _m(obj, "spec"), _m(obj, "status")
    return Row(
        [
            _name(obj),
            _int_or_string(spec.get("minAvailable")),
            _int_or_string(spec.get("maxUnavailable")),
            _int(status.get("disruptionsAllowed")),
            _age(obj, now),
        ]
    )


@_register(
    [("v1", "ComponentStatus")],
    (
        _name_column(),
        Column("Status", "string", "Status of the component conditions"),
        Column("Message", "string", "Message of the component conditions"),
        Column("Error", "string", "Error of the component conditions"),
    ),
)
def print_component_status(obj: Obj, now: datetime) -> Row:
    """``printComponentStatus``: the ``Healthy`` condition as Healthy/Unhealthy (no AGE)."""
    status, message, error = "Unknown", "", ""
    for condition in _list(obj, "conditions"):
        if condition.get("type") == "Healthy":
            status = "Healthy" if condition.get("status") == "True" else "Unhealthy"
            message = str(condition.get("message") or "")
            error = str(condition.get("error") or "")
            break
    return Row([_name(obj), status, message, error])


@_register(
    [("apiregistration.k8s.io/v1", "APIService")],
    (
        _name_column(),
        Column("Service", "string", "The reference to the service that hosts this API endpoint."),
        Column("Available", "string", "Whether this service is available."),
        _age_column(),
    ),
)
def print_api_service(obj: Obj, now: datetime) -> Row:
    """kube-aggregator's ``ConvertToTable`` (``pkg/registry/apiservice/etcd``): SERVICE is
    ``Local`` or ``namespace/name``; AVAILABLE is ``True``, or ``False (Reason)``."""
    service = _m(obj, "spec").get("service")
    service_cell = f"{service.get('namespace', '')}/{service.get('name', '')}" if service \
        else "Local"
    available = "Unknown"
    for condition in _list(_m(obj, "status"), "conditions"):
        if condition.get("type") == "Available":
            available = str(condition.get("status") or "")
            if available != "True":
                available = f"{available} ({condition.get('reason', '')})"
            break
    return Row([_name(obj), service_cell, available, _age(obj, now)])


@_register(
    [("apiextensions.k8s.io/v1", "CustomResourceDefinition")],
    (
        _name_column(),
        Column("Created At", "date", ("V1ObjectMeta", "creationTimestamp")),
    ),
)
def print_custom_resource_definition(obj: Obj, now: datetime) -> Row:
    """CRDs use the generic ``DefaultTableConvertor``: NAME and CREATED AT (RFC 3339)."""
    return Row([_name(obj), str(_m(obj, "metadata").get("creationTimestamp") or "")])
