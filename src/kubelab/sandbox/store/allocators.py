"""Service ClusterIP and NodePort allocation (kube-apiserver's service registry allocators).

The real API server hands out ClusterIPs from ``--service-cluster-ip-range`` (kubeadm's
default ``10.96.0.0/12``; ``kubernetes`` gets the first address, ``kube-dns`` the tenth) and
NodePorts from ``30000-32767``; both are bitmaps persisted in etcd. Here the used set is
recomputed from the live Services, which is the same information.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterable
from typing import Any

from kubelab.sandbox.api.errors import Cause

SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
NODE_PORT_RANGE = (30000, 32767)


def used_ips(services: Iterable[dict[str, Any]]) -> set[str]:
    return {s.get("spec", {}).get("clusterIP", "") for s in services} - {"", "None"}


def used_node_ports(services: Iterable[dict[str, Any]]) -> set[int]:
    ports: set[int] = set()
    for s in services:
        for p in s.get("spec", {}).get("ports") or []:
            if p.get("nodePort"):
                ports.add(int(p["nodePort"]))
    return ports


def allocate(service: dict[str, Any], existing: list[dict[str, Any]],
             rng: random.Random) -> list[Cause]:
    """Fill ``clusterIP(s)`` and ``nodePort``s in place; return causes for invalid requests."""
    spec = service.setdefault("spec", {})
    causes: list[Cause] = []
    if spec.get("type") == "ExternalName":
        return causes
    taken = used_ips(existing)
    requested = spec.get("clusterIP")
    if requested and requested != "None":
        try:
            addr = ipaddress.ip_address(requested)
        except ValueError:
            causes.append(Cause("FieldValueInvalid",
                                f'Invalid value: "{requested}": must be a valid IP address',
                                "spec.clusterIPs[0]"))
            return causes
        if addr not in SERVICE_CIDR:
            causes.append(Cause(
                "FieldValueInvalid",
                f'Invalid value: "{requested}": failed to allocate IP {requested}: the provided '
                f"IP ({requested}) is not in the valid range. The range of valid IPs is "
                f"{SERVICE_CIDR}", "spec.clusterIPs"))
        elif requested in taken:
            causes.append(Cause(
                "FieldValueInvalid",
                f'Invalid value: []string{{"{requested}"}}: failed to allocate IP {requested}: '
                "provided IP is already allocated", "spec.clusterIPs"))
    elif not requested:
        hosts = SERVICE_CIDR.num_addresses
        for _ in range(1000):
            candidate = str(SERVICE_CIDR.network_address + rng.randrange(16, hosts - 1))
            if candidate not in taken:
                spec["clusterIP"] = candidate
                break
    spec["clusterIPs"] = [spec["clusterIP"]] if spec.get("clusterIP") else []
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        taken_ports = used_node_ports(existing)
        for i, port in enumerate(spec.get("ports") or []):
            if port.get("nodePort"):
                n = int(port["nodePort"])
                if n in taken_ports:
                    causes.append(Cause(
                        "FieldValueInvalid",
                        f"Invalid value: {n}: provided port is already allocated",
                        f"spec.ports[{i}].nodePort"))
                continue
            for _ in range(10000):
                candidate_port = rng.randint(*NODE_PORT_RANGE)
                if candidate_port not in taken_ports:
                    port["nodePort"] = candidate_port
                    taken_ports.add(candidate_port)
                    break
    return causes
