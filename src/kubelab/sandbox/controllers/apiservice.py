"""kube-aggregator's autoregister and availability controllers, for APIService objects.

kube-apiserver runs kube-aggregator in front of itself. Two of its controllers keep the
``apiregistration.k8s.io/v1`` APIService objects (``kubectl get apiservices``):

* ``autoregister`` (``k8s.io/kube-aggregator/pkg/controllers/autoregister``) creates one
  APIService per group-version the server itself serves, labelled
  ``kube-aggregator.kubernetes.io/automanaged: onstart``, named ``<version>.<group>``
  (``v1.`` for the core group), with no ``spec.service`` (served locally) and the priorities
  of kube-apiserver's ``apiVersionPriorities`` table; it puts back one a user deletes. Here
  the set is derived from the kinds table the discovery documents are built from, so a new
  group gets its APIService without being listed here. An aggregated API the sandbox answers
  itself in place of an extension server (metrics-server's ``metrics.k8s.io``) gets the
  APIService its installer would create: ``spec.service`` kube-system/metrics-server:443,
  ``insecureSkipTLSVerify``, priorities 100/100.
* ``APIServiceAvailabilityController`` (``pkg/controllers/status/available_controller.go``)
  writes the ``Available`` condition: ``True``/``Local`` for a local APIService, ``True``/
  ``Passed`` for one the sandbox serves, and for any other (one a user creates for an
  extension API server) ``False`` with ``ServiceNotFound`` when the Service does not exist,
  else ``FailedDiscoveryCheck``: the sandbox does not proxy to extension API servers, and
  says so in the message.

The priorities are kube-apiserver's (``pkg/controlplane/apiserver/aggregator.go`` and
``DefaultGenericAPIServicePriorities``), read from memory, not re-read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import Clock
from kubelab.sandbox.controllers import common
from kubelab.sandbox.reconcile.types import (
    Create,
    Key,
    Obj,
    Result,
    Snapshot,
    Update,
    UpdateStatus,
)

COMPONENT = "kube-aggregator"
APISERVICES = kinds.resource("apiservices.apiregistration.k8s.io")
SERVICES = kinds.core("services")
AUTOMANAGED = "kube-aggregator.kubernetes.io/automanaged"

#: (group, version) -> (groupPriorityMinimum, versionPriority).
PRIORITIES: dict[tuple[str, str], tuple[int, int]] = {
    ("", "v1"): (18000, 1),
    ("apiregistration.k8s.io", "v1"): (18000, 1),
    ("apps", "v1"): (17800, 15),
    ("events.k8s.io", "v1"): (17750, 15),
    ("authentication.k8s.io", "v1"): (17700, 15),
    ("authorization.k8s.io", "v1"): (17600, 15),
    ("autoscaling", "v1"): (17500, 15),
    ("autoscaling", "v2"): (17500, 30),
    ("batch", "v1"): (17400, 15),
    ("certificates.k8s.io", "v1"): (17300, 15),
    ("networking.k8s.io", "v1"): (17200, 15),
    ("policy", "v1"): (17100, 15),
    ("rbac.authorization.k8s.io", "v1"): (17000, 15),
    ("storage.k8s.io", "v1"): (16800, 15),
    ("apiextensions.k8s.io", "v1"): (16700, 15),
    ("admissionregistration.k8s.io", "v1"): (16700, 15),
    ("scheduling.k8s.io", "v1"): (16600, 15),
    ("coordination.k8s.io", "v1"): (16500, 15),
    ("node.k8s.io", "v1"): (16300, 15),
    ("discovery.k8s.io", "v1"): (16200, 15),
    ("flowcontrol.apiserver.k8s.io", "v1"): (16100, 21),
}
#: A group-version missing from the table (a group added to the sandbox before its row here).
DEFAULT_PRIORITY = (16000, 15)
#: What metrics-server's ``components.yaml`` registers for ``metrics.k8s.io``.
METRICS_SERVICE = {"name": "metrics-server", "namespace": "kube-system", "port": 443}


def apiservice_name(group: str, version: str) -> str:
    return f"{version}.{group}"


def _aggregated() -> tuple[KindInfo, ...]:
    """Kinds the sandbox answers in place of an extension API server (metrics.k8s.io)."""
    return tuple(getattr(kinds, "AGGREGATED", ()))


def desired() -> dict[str, Obj]:
    """The APIServices autoregister keeps, by name: one per served group-version, as
    discovery lists them (a group whose kinds are all subresources still serves ``v1``)."""
    out: dict[str, Obj] = {}
    for group, infos in kinds.served_groups():
        versions = list(dict.fromkeys(i.version for i in infos)) or ["v1"]
        for version in versions:
            group_priority, version_priority = PRIORITIES.get((group, version),
                                                              DEFAULT_PRIORITY)
            spec: dict[str, Any] = {"version": version,
                                    "groupPriorityMinimum": group_priority,
                                    "versionPriority": version_priority}
            if group:
                spec = {"group": group, **spec}
            out[apiservice_name(group, version)] = {
                "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                "metadata": {"name": apiservice_name(group, version),
                             "labels": {AUTOMANAGED: "onstart"}},
                "spec": spec}
    for info in _aggregated():
        name = apiservice_name(info.group, info.version)
        out.setdefault(name, {
            "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": {"name": name, "labels": {"k8s-app": "metrics-server"}},
            "spec": {"group": info.group, "groupPriorityMinimum": 100,
                     "insecureSkipTLSVerify": True, "service": dict(METRICS_SERVICE),
                     "version": info.version, "versionPriority": 100}})
    return out


def _served_here() -> set[tuple[str, str]]:
    return {(i.group, i.version) for i in _aggregated()}


def available_condition(apiservice: Obj, snapshot: Snapshot) -> dict[str, str]:
    """The ``Available`` condition the availability controller would write (no time)."""
    spec = apiservice.get("spec") or {}
    service = spec.get("service")
    if not service:
        return {"type": "Available", "status": "True", "reason": "Local",
                "message": "Local APIServices are always available"}
    if (spec.get("group", ""), spec.get("version", "")) in _served_here():
        return {"type": "Available", "status": "True", "reason": "Passed",
                "message": "all checks passed"}
    namespace, name = service.get("namespace", ""), service.get("name", "")
    found = snapshot.get(SERVICES, namespace, name)
    if found is None:
        return {"type": "Available", "status": "False", "reason": "ServiceNotFound",
                "message": f'service/{name} in "{namespace}" is not present'}
    address = (found.get("spec") or {}).get("clusterIP") or name
    path = f"/apis/{spec.get('group', '')}/{spec.get('version', '')}"
    return {"type": "Available", "status": "False", "reason": "FailedDiscoveryCheck",
            "message": f"failing or missing response from https://{address}:"
                       f"{service.get('port', 443)}{path}: the kubelab sandbox does not "
                       f"proxy aggregated APIs to extension API servers"}


class APIServiceController:
    """autoregister + availability: APIServices exist for what is served, with status."""

    name = COMPONENT
    watches: tuple[KindInfo, ...] = (APISERVICES, SERVICES)

    def initial_keys(self) -> Iterable[Key]:
        for name in desired():
            yield Key(APISERVICES.group_resource, "", name)

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        if info is APISERVICES or info == APISERVICES:
            yield Key.of(info, obj)
            return
        # A Service change affects the APIServices that name it.
        meta = obj.get("metadata") or {}
        for apiservice in snapshot.list(APISERVICES):
            service = (apiservice.get("spec") or {}).get("service") or {}
            if (service.get("namespace"), service.get("name")) == (meta.get("namespace"),
                                                                   meta.get("name")):
                yield Key.of(APISERVICES, apiservice)

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        want = desired().get(key.name)
        current = snapshot.get(APISERVICES, "", key.name)
        if current is None:
            return Result([Create(APISERVICES, deep_copy_json(want))] if want else [])
        if common.is_deleting(current):
            return Result()
        if want is not None and common.labels_of(current).get(AUTOMANAGED) and \
                current.get("spec") != want["spec"]:
            updated = deep_copy_json(current)
            updated["spec"] = deep_copy_json(want["spec"])
            return Result([Update(APISERVICES, updated)])
        condition = {**available_condition(current, snapshot),
                     "lastTransitionTime": common.now_str(clock)}
        status = deep_copy_json(current.get("status") or {})
        conditions = status.setdefault("conditions", [])
        if not common.set_condition(conditions, condition, ("status", "reason", "message")):
            return Result()
        updated = deep_copy_json(current)
        updated["status"] = status
        return Result([UpdateStatus(APISERVICES, updated)])
