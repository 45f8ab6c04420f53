"""Services: ClusterIP by default, ports that must make sense, an IP that never moves.

Mirrors ``SetDefaults_Service`` in ``pkg/apis/core/v1/defaults.go`` (type, session affinity,
port protocol, ``targetPort = port``, traffic policies, ``allocateLoadBalancerNodePorts``),
the IP-family defaulting of ``pkg/registry/core/service/storage`` (``ipFamilies [IPv4]``,
``SingleStack``), ``ValidateService``/``ValidateServiceUpdate`` in
``pkg/apis/core/validation`` plus the node-port range check of the port allocator, and
``pkg/registry/core/service/strategy.go`` (status reset to ``{loadBalancer: {}}``, no
generation, DELETE answering with the object). Allocating the cluster IP and node ports
needs cluster-wide state and is left to the server; an update that omits them keeps the
allocated values, as upstream's ``patchAllocatedValues`` does.
"""

from __future__ import annotations

from typing import Any

from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.validation import (
    dns1123_label_errors,
    dns1123_subdomain_errors,
    duplicate,
    forbidden,
    go_string_slice,
    invalid,
    not_supported,
    port_name_errors,
    port_num_errors,
    required,
    validate_labels,
    validate_object_meta,
)

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
PROTOCOLS = ("SCTP", "TCP", "UDP")
SESSION_AFFINITIES = ("ClientIP", "None")
NODE_PORT_RANGE = (30000, 32767)


def _external(spec: dict[str, Any]) -> bool:
    return spec.get("type") in ("NodePort", "LoadBalancer")


def _headless(spec: dict[str, Any]) -> bool:
    return spec.get("clusterIP") == "None"


class ServiceStrategy(Strategy):
    """``svcStrategy``: status is the load balancer's; ``metadata.generation`` is not used."""

    has_spec = False
    has_status_subresource = True
    returns_deleted_object = True

    def default(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        if not isinstance(spec, dict):
            return
        if not spec.get("sessionAffinity"):
            spec["sessionAffinity"] = "None"
        if spec["sessionAffinity"] == "None":
            spec.pop("sessionAffinityConfig", None)
        elif spec["sessionAffinity"] == "ClientIP":
            config = spec.setdefault("sessionAffinityConfig", {})
            client_ip = config.setdefault("clientIP", {})
            client_ip.setdefault("timeoutSeconds", 10800)
        if not spec.get("type"):
            spec["type"] = "ClusterIP"
        for port in spec.get("ports") or []:
            if not isinstance(port, dict):
                continue
            if not port.get("protocol"):
                port["protocol"] = "TCP"
            if port.get("targetPort") in (None, 0, ""):
                port["targetPort"] = port.get("port", 0)
        if _external(spec) and not spec.get("externalTrafficPolicy"):
            spec["externalTrafficPolicy"] = "Cluster"
        if spec.get("internalTrafficPolicy") is None and spec["type"] != "ExternalName":
            spec["internalTrafficPolicy"] = "Cluster"
        if spec["type"] == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
            spec["allocateLoadBalancerNodePorts"] = True
        if spec["type"] != "ExternalName":
            if not spec.get("ipFamilies"):
                spec["ipFamilies"] = ["IPv4"]
            if not spec.get("ipFamilyPolicy"):
                spec["ipFamilyPolicy"] = "SingleStack"
            if spec.get("clusterIP") and not spec.get("clusterIPs"):
                spec["clusterIPs"] = [spec["clusterIP"]]

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        spec = obj.get("spec") or {}
        causes = validate_object_meta(obj, info)
        kind = spec.get("type", "")
        if kind not in SERVICE_TYPES:
            causes.append(not_supported("spec.type", kind, SERVICE_TYPES))
        if kind == "ExternalName":
            name = spec.get("externalName", "")
            if spec.get("clusterIP"):
                causes.append(forbidden("spec.clusterIP",
                                        "may not be set for `type` 'ExternalName'"))
            if not name:
                causes.append(required("spec.externalName"))
            else:
                causes += [invalid("spec.externalName", name, e)
                           for e in dns1123_subdomain_errors(name.rstrip("."))]
        ports = spec.get("ports") or []
        if not ports and not _headless(spec) and kind != "ExternalName":
            causes.append(required("spec.ports"))
        names: set[str] = set()
        node_ports: set[tuple[int, str]] = set()
        for i, port in enumerate(ports):
            causes += self._validate_port(port or {}, f"spec.ports[{i}]", len(ports) > 1, names)
            node_port = (port or {}).get("nodePort", 0)
            if not node_port:
                continue
            path = f"spec.ports[{i}].nodePort"
            if kind == "ClusterIP":
                causes.append(forbidden(path, "may not be used when `type` is 'ClusterIP'"))
                continue
            key = (node_port, (port or {}).get("protocol", ""))
            if key in node_ports:
                causes.append(duplicate(path, node_port))
            node_ports.add(key)
            low, high = NODE_PORT_RANGE
            if not isinstance(node_port, int) or not low <= node_port <= high:
                causes.append(invalid(path, node_port,
                                      "provided port is not in the valid range. The range of "
                                      f"valid ports is {low}-{high}"))
        causes += validate_labels(spec.get("selector"), "spec.selector")
        affinity = spec.get("sessionAffinity", "")
        if affinity and affinity not in SESSION_AFFINITIES:
            causes.append(not_supported("spec.sessionAffinity", affinity, SESSION_AFFINITIES))
        ips = spec.get("clusterIPs") or []
        if spec.get("clusterIP") and ips and ips[0] != spec["clusterIP"]:
            causes.append(invalid("spec.clusterIPs", go_string_slice(ips),
                                  "first value must match `clusterIP`"))
        return causes

    @staticmethod
    def _validate_port(port: dict[str, Any], path: str, need_name: bool,
                       names: set[str]) -> list[Cause]:
        causes: list[Cause] = []
        name = port.get("name", "")
        if need_name and not name:
            causes.append(required(f"{path}.name"))
        elif name:
            causes += [invalid(f"{path}.name", name, e) for e in dns1123_label_errors(name)]
            if name in names:
                causes.append(duplicate(f"{path}.name", name))
            names.add(name)
        causes += [invalid(f"{path}.port", port.get("port", 0), e)
                   for e in port_num_errors(port.get("port", 0))]
        protocol = port.get("protocol", "")
        if not protocol:
            causes.append(required(f"{path}.protocol"))
        elif protocol not in PROTOCOLS:
            causes.append(not_supported(f"{path}.protocol", protocol, PROTOCOLS))
        target = port.get("targetPort")
        if isinstance(target, str):
            causes += [invalid(f"{path}.targetPort", target, e) for e in port_name_errors(target)]
        elif target is not None:
            causes += [invalid(f"{path}.targetPort", target, e) for e in port_num_errors(target)]
        return causes

    def validate_update(self, obj: Obj, old: Obj, info: KindInfo) -> list[Cause]:
        causes = self.validate(obj, info)
        new_ips = (obj.get("spec") or {}).get("clusterIPs") or []
        old_ips = (old.get("spec") or {}).get("clusterIPs") or []
        if new_ips and old_ips and new_ips[0] != old_ips[0]:
            causes.append(invalid("spec.clusterIPs[0]", go_string_slice(new_ips),
                                  "may not change once set"))
        return causes

    def prepare_for_update(self, obj: Obj, old: Obj) -> None:
        super().prepare_for_update(obj, old)
        spec = obj.setdefault("spec", {})
        old_spec = old.get("spec") or {}
        if spec.get("type") == "ExternalName" or old_spec.get("type") == "ExternalName":
            return
        if not spec.get("clusterIP") and old_spec.get("clusterIP"):
            spec["clusterIP"] = old_spec["clusterIP"]
            if not spec.get("clusterIPs"):
                spec["clusterIPs"] = deep_copy_json(old_spec.get("clusterIPs"))
        elif spec.get("clusterIP") and spec.get("clusterIPs") in (None, [], old_spec.get("clusterIPs")):
            spec["clusterIPs"] = [spec["clusterIP"]]
        if spec.get("clusterIPs") is None:
            spec.pop("clusterIPs", None)
        if _external(spec) and _external(old_spec):
            old_ports = {(p.get("port"), p.get("protocol")): p.get("nodePort")
                         for p in old_spec.get("ports") or [] if isinstance(p, dict)}
            for port in spec.get("ports") or []:
                if isinstance(port, dict) and not port.get("nodePort"):
                    kept = old_ports.get((port.get("port"), port.get("protocol")))
                    if kept:
                        port["nodePort"] = kept
        elif not _external(spec) and _external(old_spec):
            for port in spec.get("ports") or []:
                if isinstance(port, dict):
                    port.pop("nodePort", None)

    def initial_status(self, obj: Obj) -> Obj | None:
        return {"loadBalancer": {}}


register("v1", "Service", ServiceStrategy())
