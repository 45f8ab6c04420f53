"""``/api/v1/componentstatuses``: the control plane's health, as kube-apiserver reports it.

Mirrors ``pkg/registry/core/componentstatus/rest.go``: not stored anywhere, computed on each
GET by probing the scheduler, the controller manager and each etcd server (``get`` and
``list`` only; the kind is deprecated since v1.19 and every answer carries the warning
``v1 ComponentStatus is deprecated in v1.19+``, which kubectl prints). Each item has one
``Healthy`` condition: ``True`` with message ``ok``, or ``False`` with the probe's error.

In the sandbox the scheduler and the controllers are in-process components, so "healthy"
means their runners are running (the daemon's health checks name them ``component/…``);
etcd is the SQLite datastore, healthy while the server answers. A sandbox started without
components reports the scheduler and controller manager as upstream does when nothing
listens on their ports (connection refused).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEPRECATION = "v1 ComponentStatus is deprecated in v1.19+"

#: The probes upstream runs: name -> the health URL it GETs.
PROBES = {
    "scheduler": "https://127.0.0.1:10259/healthz",
    "controller-manager": "https://127.0.0.1:10257/healthz",
    "etcd-0": "https://127.0.0.1:2379/readyz",
}
SCHEDULER_COMPONENT = "component/default-scheduler"


def _healthy(name: str, checks: Mapping[str, bool]) -> bool:
    if name == "scheduler":
        return bool(checks.get(SCHEDULER_COMPONENT))
    if name == "controller-manager":
        return any(ok for check, ok in checks.items()
                   if check.startswith("component/") and check.endswith("-controller"))
    return checks.get("etcd", True)


def component_statuses(checks: Mapping[str, bool]) -> list[dict[str, Any]]:
    """The three ComponentStatus objects, from the server's health checks."""
    items = []
    for name, url in PROBES.items():
        condition: dict[str, str] = {"type": "Healthy", "status": "True", "message": "ok"}
        if not _healthy(name, checks):
            host = url.split("/")[2]
            condition = {"type": "Healthy", "status": "False",
                         "error": f'Get "{url}": dial tcp {host}: connect: connection refused'}
        items.append({"kind": "ComponentStatus", "apiVersion": "v1",
                      "metadata": {"name": name}, "conditions": [condition]})
    return items


def component_status(name: str, checks: Mapping[str, bool]) -> dict[str, Any] | None:
    return next((c for c in component_statuses(checks) if c["metadata"]["name"] == name),
                None)
