"""Service endpoints: EndpointSlices and core/v1 Endpoints from pod readiness.

Mirrors two kube-controller-manager controllers that read the same pods:
``pkg/controller/endpointslice`` (``reconciler.go``, ``utils.go``: ``podToEndpoint``,
``getEndpointPorts``) and the legacy ``pkg/controller/endpoint/endpoints_controller.go``
(``syncService``, ``addEndpointSubset``). The ``default/kubernetes`` Service has no
selector; the API server itself keeps its endpoints (``pkg/controlplane/reconcilers``),
which :class:`EndpointsController` does on its behalf here.

This is where readiness becomes traffic: only pods whose ``Ready`` condition is True are
``ready`` in a slice and listed under ``addresses`` in Endpoints; the rest are served as
``notReadyAddresses``, and a terminating pod is ``ready: false, terminating: true``. The
sandbox's service proxy routes by exactly these objects, as kube-proxy does.

One slice per distinct port mapping (pods whose named ``targetPort`` resolves differently
get different slices), without upstream's 100-endpoint packing. The reconcile is pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubelab.apimachinery.selectors import selector_from_match_labels
from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import Clock
from kubelab.sandbox.controllers import common
from kubelab.sandbox.reconcile.types import Key, Obj, Result, Snapshot

SERVICES = kinds.core("services")
PODS = kinds.core("pods")
ENDPOINTS = kinds.core("endpoints")
SLICES = kinds.resource("endpointslices.discovery.k8s.io")
NODES = kinds.core("nodes")
COMPONENT = "endpoint-controller"

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
SKIP_MIRROR_LABEL = "endpointslice.kubernetes.io/skip-mirror"
HEADLESS_LABEL = "service.kubernetes.io/headless"
API_SERVER_PORT = 6443


def find_port(pod: Obj, service_port: dict[str, Any]) -> int | None:
    """``podutil.FindPort``: a number, or a named container port with the same protocol."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol", "TCP")
    for container in pod.get("spec", {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target and port.get("protocol", "TCP") == protocol:
                return int(port["containerPort"])
    return None


def _pod_ip(pod: Obj) -> str:
    return str(pod.get("status", {}).get("podIP") or "")


def should_be_in_endpoints(pod: Obj, include_terminating: bool) -> bool:
    """``ShouldPodBeInEndpoints``: has an IP, not finished, not terminating (unless asked)."""
    if common.is_pod_terminal(pod):
        return False
    if not _pod_ip(pod) and not pod.get("status", {}).get("podIPs"):
        return False
    return include_terminating or not common.is_deleting(pod)


def endpoint_hostname(svc: Obj, pod: Obj) -> str:
    """The endpoint's ``hostname``: the pod's, when its ``subdomain`` names this Service
    (``podEndpointsChanged``/``getHostname``: how ``web-0.nginx`` gets a DNS record)."""
    spec = pod.get("spec", {})
    if spec.get("hostname") and spec.get("subdomain") == common.name_of(svc) \
            and common.namespace_of(pod) == common.namespace_of(svc):
        return str(spec["hostname"])
    return ""


def selected_pods(snapshot: Snapshot, svc: Obj) -> list[Obj]:
    selector = selector_from_match_labels(svc.get("spec", {}).get("selector"))
    pods = [p for p in snapshot.list(PODS, common.namespace_of(svc))
            if selector.matches(common.labels_of(p))]
    return sorted(pods, key=common.name_of)


def _target_ref(pod: Obj) -> dict[str, Any]:
    return {"kind": "Pod", "namespace": common.namespace_of(pod), "name": common.name_of(pod),
            "uid": common.uid_of(pod)}


def _service_labels(svc: Obj) -> dict[str, str]:
    labels = common.labels_of(svc)
    if svc.get("spec", {}).get("clusterIP") == "None":
        labels[HEADLESS_LABEL] = ""
    return labels


def desired_slices(svc: Obj, pods: list[Obj]) -> list[tuple[list[dict[str, Any]],
                                                              list[dict[str, Any]]]]:
    """``(ports, endpoints)`` per distinct port mapping, in first-seen order."""
    spec = svc.get("spec", {})
    publish = bool(spec.get("publishNotReadyAddresses"))
    groups: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for pod in pods:
        if not should_be_in_endpoints(pod, True):
            continue
        ports = []
        for sp in spec.get("ports") or []:
            number = find_port(pod, sp)
            if number is None:
                continue
            ports.append({"name": sp.get("name", ""), "port": number,
                          "protocol": sp.get("protocol", "TCP"),
                          **({"appProtocol": sp["appProtocol"]} if sp.get("appProtocol")
                             else {})})
        ready_pod = common.is_pod_ready(pod)
        terminating = common.is_deleting(pod)
        ready = publish or ready_pod
        if terminating and not publish:
            ready = False
        endpoint: dict[str, Any] = {
            "addresses": [_pod_ip(pod)],
            "conditions": {"ready": ready, "serving": ready_pod, "terminating": terminating},
            "targetRef": _target_ref(pod),
        }
        hostname = endpoint_hostname(svc, pod)
        if hostname:
            endpoint["hostname"] = hostname
        if pod.get("spec", {}).get("nodeName"):
            endpoint["nodeName"] = pod["spec"]["nodeName"]
        key = repr(ports)
        groups.setdefault(key, (ports, []))[1].append(endpoint)
    return list(groups.values())


def desired_subsets(svc: Obj, pods: list[Obj]) -> list[dict[str, Any]]:
    """``subsets`` as the Endpoints controller repacks them (addresses sorted by IP)."""
    spec = svc.get("spec", {})
    publish = bool(spec.get("publishNotReadyAddresses"))
    groups: dict[str, dict[str, Any]] = {}
    for pod in pods:
        if not should_be_in_endpoints(pod, publish):
            continue
        ports = []
        for sp in spec.get("ports") or []:
            number = find_port(pod, sp)
            if number is None:
                continue
            port = {"port": number, "protocol": sp.get("protocol", "TCP")}
            if sp.get("name"):
                port = {"name": sp["name"], **port}
            if sp.get("appProtocol"):
                port["appProtocol"] = sp["appProtocol"]
            ports.append(port)
        address: dict[str, Any] = {"ip": _pod_ip(pod)}
        hostname = endpoint_hostname(svc, pod)
        if hostname:
            address["hostname"] = hostname
        if pod.get("spec", {}).get("nodeName"):
            address["nodeName"] = pod["spec"]["nodeName"]
        address["targetRef"] = _target_ref(pod)
        subset = groups.setdefault(repr(ports), {"ports": ports})
        if publish or common.is_pod_ready(pod):
            subset.setdefault("addresses", []).append(address)
        elif _include_not_ready(pod):
            subset.setdefault("notReadyAddresses", []).append(address)
    out = []
    for subset in groups.values():
        body: dict[str, Any] = {}
        for field in ("addresses", "notReadyAddresses"):
            if subset.get(field):
                body[field] = sorted(subset[field], key=lambda a: (_ip_key(a["ip"]),
                                                                    a["targetRef"]["uid"]))
        if not body:
            continue
        if subset["ports"]:
            body["ports"] = sorted(subset["ports"], key=lambda p: (p.get("name", ""),
                                                                   p["port"]))
        out.append(body)
    return out


def _include_not_ready(pod: Obj) -> bool:
    policy = pod.get("spec", {}).get("restartPolicy", "Always")
    phase = pod.get("status", {}).get("phase")
    if policy == "Never":
        return phase not in ("Failed", "Succeeded")
    if policy == "OnFailure":
        return phase != "Succeeded"
    return True


def _ip_key(ip: str) -> tuple[int, ...] | str:
    try:
        return tuple(int(p) for p in ip.split("."))
    except ValueError:
        return ip


def api_server_address(snapshot: Snapshot) -> str | None:
    """The control plane's address: the kube-apiserver static pod's IP, else the node's."""
    for pod in snapshot.list(PODS, "kube-system"):
        if common.name_of(pod).startswith("kube-apiserver") and _pod_ip(pod):
            return _pod_ip(pod)
    for node in snapshot.list(NODES):
        if "node-role.kubernetes.io/control-plane" in common.labels_of(node):
            for addr in node.get("status", {}).get("addresses") or []:
                if addr.get("type") == "InternalIP":
                    return str(addr.get("address"))
    return None


class EndpointsController:
    """``endpointslice-controller`` and ``endpoint-controller`` in one reconcile."""

    name = "endpoints-controller"
    watches: tuple[KindInfo, ...] = (SERVICES, PODS, ENDPOINTS, SLICES)

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        ns = common.namespace_of(obj)
        if info == SERVICES:
            yield Key.of(info, obj)
        elif info == PODS:
            # Label changes can move a pod between services: look at every selector here.
            for svc in snapshot.list(SERVICES, ns):
                if svc.get("spec", {}).get("selector"):
                    yield Key.of(SERVICES, svc)
            if ns == "kube-system" and common.name_of(obj).startswith("kube-apiserver"):
                yield Key(SERVICES.group_resource, "default", "kubernetes")
        elif info == ENDPOINTS:
            yield Key(SERVICES.group_resource, ns, common.name_of(obj))
        elif info == SLICES:
            svc_name = common.labels_of(obj).get(SERVICE_NAME_LABEL)
            if svc_name:
                yield Key(SERVICES.group_resource, ns, svc_name)

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        """Pure: compute slices and Endpoints for one Service; no side effects."""
        writes = common.Writes()
        svc = snapshot.get(SERVICES, key.namespace, key.name)
        existing_ep = snapshot.get(ENDPOINTS, key.namespace, key.name)
        if svc is None:
            if existing_ep is not None and SKIP_MIRROR_LABEL in common.labels_of(existing_ep):
                writes.delete(ENDPOINTS, existing_ep)
            return Result(writes.actions())
        if key.namespace == "default" and key.name == "kubernetes":
            self.sync_api_server(snapshot, svc, writes)
            return Result(writes.actions())
        if not svc.get("spec", {}).get("selector") or common.is_deleting(svc):
            return Result()
        pods = selected_pods(snapshot, svc)
        self.sync_slices(snapshot, svc, pods, writes, clock)
        self.sync_endpoints(svc, existing_ep, desired_subsets(svc, pods), writes, clock)
        return Result(writes.actions())

    @staticmethod
    def sync_slices(snapshot: Snapshot, svc: Obj, pods: list[Obj], writes: common.Writes,
                    clock: Clock) -> None:
        ns, name = common.namespace_of(svc), common.name_of(svc)
        existing = [s for s in snapshot.list(SLICES, ns, {SERVICE_NAME_LABEL: name})
                    if common.labels_of(s).get(MANAGED_BY_LABEL) == CONTROLLER_NAME]
        existing = common.by_creation(existing)
        labels = {**_service_labels(svc), SERVICE_NAME_LABEL: name,
                  MANAGED_BY_LABEL: CONTROLLER_NAME}
        wanted = desired_slices(svc, pods) or [([], [])]  # a placeholder slice, as upstream
        unused = list(existing)
        for ports, endpoints in wanted:
            match = next((s for s in unused if (s.get("ports") or []) == ports), None)
            if match is None and unused:
                match = unused[0]
            body = {"addressType": "IPv4", "endpoints": endpoints, "ports": ports}
            if match is not None:
                unused.remove(match)
                same = ((match.get("endpoints") or []) == endpoints
                        and (match.get("ports") or []) == ports
                        and common.labels_of(match) == labels)
                if same:
                    continue
                updated = deep_copy_json(match)
                updated.update(body)
                updated["metadata"]["labels"] = labels
                _touch(updated, clock)
                writes.update(SLICES, updated)
                continue
            slice_obj = {
                "apiVersion": SLICES.api_version, "kind": SLICES.kind,
                "metadata": {"generateName": f"{name[:57]}-", "namespace": ns,
                             "labels": labels,
                             "ownerReferences": [common.new_controller_ref(svc, SERVICES)]},
                **body,
            }
            _touch(slice_obj, clock)
            writes.create(SLICES, slice_obj)
        for stale in unused:
            writes.delete(SLICES, stale)

    @staticmethod
    def sync_endpoints(svc: Obj, existing: Obj | None, subsets: list[dict[str, Any]],
                       writes: common.Writes, clock: Clock) -> None:
        labels = {**_service_labels(svc), SKIP_MIRROR_LABEL: "true"}
        if existing is not None:
            if (existing.get("subsets") or []) == subsets and \
                    common.labels_of(existing) == labels:
                return
            updated = deep_copy_json(existing)
            updated["metadata"]["labels"] = labels
            if subsets:
                updated["subsets"] = subsets
            else:
                updated.pop("subsets", None)
            _touch(updated, clock)
            writes.update(ENDPOINTS, updated)
            return
        created: Obj = {"apiVersion": "v1", "kind": "Endpoints",
                        "metadata": {"name": common.name_of(svc),
                                     "namespace": common.namespace_of(svc),
                                     "labels": labels}}
        if subsets:
            created["subsets"] = subsets
        _touch(created, clock)
        writes.create(ENDPOINTS, created)

    @staticmethod
    def sync_api_server(snapshot: Snapshot, svc: Obj, writes: common.Writes) -> None:
        """``default/kubernetes``: the API server's own address, port ``https`` 6443."""
        ip = api_server_address(snapshot)
        if ip is None:
            return
        subsets = [{"addresses": [{"ip": ip}],
                    "ports": [{"name": "https", "port": API_SERVER_PORT, "protocol": "TCP"}]}]
        ep = snapshot.get(ENDPOINTS, "default", "kubernetes")
        ep_labels = {"endpointslice.kubernetes.io/skip-mirror": "true"}
        if ep is None:
            writes.create(ENDPOINTS, {"apiVersion": "v1", "kind": "Endpoints",
                                      "metadata": {"name": "kubernetes", "namespace": "default",
                                                   "labels": ep_labels},
                                      "subsets": subsets})
        elif ep.get("subsets") != subsets:
            updated = deep_copy_json(ep)
            updated["subsets"] = subsets
            writes.update(ENDPOINTS, updated)
        body = {"addressType": "IPv4",
                "endpoints": [{"addresses": [ip], "conditions": {"ready": True}}],
                "ports": [{"name": "https", "port": API_SERVER_PORT, "protocol": "TCP"}]}
        current = snapshot.get(SLICES, "default", "kubernetes")
        if current is None:
            writes.create(SLICES, {"apiVersion": SLICES.api_version, "kind": SLICES.kind,
                                   "metadata": {"name": "kubernetes", "namespace": "default",
                                                "labels": {SERVICE_NAME_LABEL: "kubernetes"}},
                                   **body})
        elif any(current.get(k) != v for k, v in body.items()):
            updated = deep_copy_json(current)
            updated.update(body)
            writes.update(SLICES, updated)


def _touch(obj: Obj, clock: Clock) -> None:
    """``endpoints.kubernetes.io/last-change-trigger-time``, as both controllers set it."""
    common.meta(obj).setdefault("annotations", {})[
        "endpoints.kubernetes.io/last-change-trigger-time"] = common.now_str(clock)
