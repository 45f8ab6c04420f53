"""EndpointSlices (discovery.k8s.io/v1): what ``kubectl describe svc`` reads for Endpoints.

Mirrors ``pkg/apis/discovery/v1/defaults.go`` (port ``name ""`` and ``protocol TCP``), the
protobuf storage round trip (empty ``endpoints``/``ports`` read back as ``null``),
``ValidateEndpointSlice`` in ``pkg/apis/discovery/validation`` (address type, 1 to 100
addresses per endpoint, valid IPs for IPv4/IPv6 slices) and
``pkg/registry/discovery/endpointslice/strategy.go`` (a generation bumped on change).
"""

from __future__ import annotations

from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.strategies.endpoints import ip_errors
from kubelab.sandbox.api.validation import (
    invalid,
    not_supported,
    port_num_errors,
    required,
    validate_immutable,
    validate_object_meta,
)

ADDRESS_TYPES = ("FQDN", "IPv4", "IPv6")
PROTOCOLS = ("SCTP", "TCP", "UDP")
MAX_ADDRESSES = 100


class EndpointSliceStrategy(Strategy):
    """``endpointSliceStrategy``: no status; generation follows every content change."""

    has_spec = True

    def default(self, obj: Obj) -> None:
        # ``endpoints`` and ``ports`` have no ``omitempty`` and kube-apiserver stores
        # EndpointSlices as protobuf, where an empty list and no list are the same: read
        # back, an empty one is ``null`` (the controller's placeholder slice shows both so).
        for key in ("endpoints", "ports"):
            if not obj.get(key):
                obj[key] = None
        for port in obj.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("name", "")
                if not port.get("protocol"):
                    port["protocol"] = "TCP"

    def spec_of(self, obj: Obj) -> object:
        return {k: obj.get(k) for k in ("addressType", "endpoints", "ports")}

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        causes = validate_object_meta(obj, info)
        kind = obj.get("addressType", "")
        if not kind:
            causes.append(required("addressType"))
        elif kind not in ADDRESS_TYPES:
            causes.append(not_supported("addressType", kind, ADDRESS_TYPES))
        for i, endpoint in enumerate(obj.get("endpoints") or []):
            addresses = (endpoint or {}).get("addresses") or []
            path = f"endpoints[{i}].addresses"
            if not addresses:
                causes.append(required(path, "must contain at least 1 address"))
            elif len(addresses) > MAX_ADDRESSES:
                causes.append(Cause("FieldValueTooMany",
                                    f"Too many: {len(addresses)}: must have at most "
                                    f"{MAX_ADDRESSES} items", path))
            if kind in ("IPv4", "IPv6"):
                for j, address in enumerate(addresses):
                    causes += [invalid(f"{path}[{j}]", address, e) for e in ip_errors(address)]
        for i, port in enumerate(obj.get("ports") or []):
            port = port or {}
            number = port.get("port")
            if number is not None:
                causes += [invalid(f"ports[{i}].port", number, e) for e in port_num_errors(number)]
            protocol = port.get("protocol", "")
            if protocol not in PROTOCOLS:
                causes.append(not_supported(f"ports[{i}].protocol", protocol, PROTOCOLS))
        return causes

    def validate_update(self, obj: Obj, old: Obj, info: KindInfo) -> list[Cause]:
        return self.validate(obj, info) + validate_immutable(
            obj.get("addressType"), old.get("addressType"), "addressType")


register("discovery.k8s.io/v1", "EndpointSlice", EndpointSliceStrategy())
