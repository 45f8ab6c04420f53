"""Endpoints (core/v1): the ready and not-ready pod addresses behind a Service.

Mirrors ``SetDefaults_Endpoints`` (port protocol ``TCP``), ``ValidateEndpoints`` in
``pkg/apis/core/validation`` and ``pkg/registry/core/endpoint/strategy.go``. The endpoints
controller writes these; ``kubectl get endpoints`` reads them.
"""

from __future__ import annotations

import ipaddress

from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.validation import (
    invalid,
    not_supported,
    port_num_errors,
    required,
    validate_object_meta,
)

PROTOCOLS = ("SCTP", "TCP", "UDP")


def ip_errors(value: str) -> list[str]:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return ["must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"]
    return []


class EndpointsStrategy(Strategy):
    """``endpointsStrategy``: plain object, no generation."""

    def default(self, obj: Obj) -> None:
        for subset in obj.get("subsets") or []:
            for port in (subset or {}).get("ports") or []:
                if isinstance(port, dict) and not port.get("protocol"):
                    port["protocol"] = "TCP"

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        causes = validate_object_meta(obj, info)
        for i, subset in enumerate(obj.get("subsets") or []):
            subset = subset or {}
            path = f"subsets[{i}]"
            for group in ("addresses", "notReadyAddresses"):
                for j, address in enumerate(subset.get(group) or []):
                    ip = (address or {}).get("ip", "")
                    causes += [invalid(f"{path}.{group}[{j}].ip", ip, e) for e in ip_errors(ip)]
            for j, port in enumerate(subset.get("ports") or []):
                port = port or {}
                causes += [invalid(f"{path}.ports[{j}].port", port.get("port", 0), e)
                           for e in port_num_errors(port.get("port", 0))]
                protocol = port.get("protocol", "")
                if not protocol:
                    causes.append(required(f"{path}.ports[{j}].protocol"))
                elif protocol not in PROTOCOLS:
                    causes.append(not_supported(f"{path}.ports[{j}].protocol", protocol,
                                                PROTOCOLS))
        return causes


register("v1", "Endpoints", EndpointsStrategy())
