"""API discovery documents, aggregated (``apidiscovery.k8s.io/v2``) and legacy.

Mirrors kube-apiserver's discovery endpoints (KEP-3352): kubectl asks for the aggregated
document on ``/api`` and ``/apis`` and decides the format from the response Content-Type alone;
the Python client's DynamicClient uses the legacy ``APIResourceList`` per group-version. Both
are derived from the kinds table.
"""

from __future__ import annotations

from typing import Any

from kubelab.sandbox.api.kinds import AGGREGATED, ALSO_SERVED, KINDS, KindInfo, served_groups

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"

# Groups listed with no resources of their own (none since policy/v1 serves
# PodDisruptionBudgets; its Eviction is a subresource of pods, listed under core v1).
_EMPTY_GROUPS: set[str] = set()


def wants_aggregated(accept: str) -> str | None:
    """The aggregated media type to answer with, if the client accepts one."""
    normalized = accept.replace(" ", "")
    if "g=apidiscovery.k8s.io" in normalized and "as=APIGroupDiscoveryList" in normalized:
        if "v=v2;" in normalized or normalized.endswith("v=v2") or "v=v2," in normalized:
            return AGGREGATED_V2
        if "v=v2beta1" in normalized:
            return AGGREGATED_V2BETA1
    return None


def _resource_entry(info: KindInfo) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": info.plural,
        "responseKind": {"group": info.group, "version": info.version, "kind": info.kind},
        "scope": "Namespaced" if info.namespaced else "Cluster",
        "singularResource": info.singular,
        "verbs": sorted(info.verbs),
    }
    if info.short_names:
        entry["shortNames"] = list(info.short_names)
    if info.categories:
        entry["categories"] = list(info.categories)
    if info.subresources:
        entry["subresources"] = [
            {"subresource": s.name,
             "responseKind": {"group": s.group if s.kind == "Scale" or s.group else info.group,
                              "version": s.version if s.group else info.version,
                              "kind": s.kind or info.kind},
             "verbs": sorted(s.verbs)}
            for s in info.subresources
        ]
    return entry


def _versions(infos: list[KindInfo]) -> list[str]:
    """A group's served versions, preferred first (``autoscaling``: v2, then v1)."""
    return list(dict.fromkeys(i.version for i in infos)) or ["v1"]


def _all_groups() -> list[tuple[str, list[KindInfo]]]:
    """Built-in groups in discovery order, then the aggregated APIs (kube-aggregator merges
    the discovery of each APIService after the local groups)."""
    extra: dict[str, list[KindInfo]] = {}
    for info in AGGREGATED:
        extra.setdefault(info.group, []).append(info)
    return served_groups() + list(extra.items())


def aggregated(core: bool, version_label: str = "v2") -> dict[str, Any]:
    """``GET /api`` (core=True) or ``GET /apis`` as an ``APIGroupDiscoveryList``."""
    items = []
    for group, infos in _all_groups():
        if (group == "") != core:
            continue
        versions = []
        for version in _versions(infos):
            resources = [_resource_entry(i) for i in infos
                         if i.version == version and (i.kind != "Binding" or core)]
            if group in _EMPTY_GROUPS:
                resources = []
            versions.append({"version": version, "resources": resources,
                             "freshness": "Current"})
        item: dict[str, Any] = {
            "metadata": {"name": group, "creationTimestamp": None},
            "versions": versions,
        }
        if core:
            item["metadata"] = {"creationTimestamp": None}
        items.append(item)
    return {"kind": "APIGroupDiscoveryList",
            "apiVersion": f"apidiscovery.k8s.io/{version_label}",
            "metadata": {}, "items": items}


def api_versions(server_address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                            "serverAddress": server_address}]}


def _group(name: str, infos: list[KindInfo]) -> dict[str, Any]:
    gvs = [{"groupVersion": f"{name}/{v}", "version": v} for v in _versions(infos)]
    return {"name": name, "versions": gvs, "preferredVersion": gvs[0]}


def api_group_list() -> dict[str, Any]:
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group(g, infos) for g, infos in _all_groups() if g]}


def api_group(name: str) -> dict[str, Any] | None:
    for group, infos in _all_groups():
        if group and group == name:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, infos)}
    return None


def resource_list(group: str, version: str) -> dict[str, Any] | None:
    infos = [k for k in (*KINDS, *ALSO_SERVED, *AGGREGATED)
             if k.group == group and k.version == version]
    if not infos and group not in _EMPTY_GROUPS:
        return None
    resources: list[dict[str, Any]] = []
    for info in infos if group not in _EMPTY_GROUPS else []:
        entry: dict[str, Any] = {"name": info.plural, "singularName": info.singular,
                                 "namespaced": info.namespaced, "kind": info.kind,
                                 "verbs": sorted(info.verbs)}
        if info.short_names:
            entry["shortNames"] = list(info.short_names)
        if info.categories:
            entry["categories"] = list(info.categories)
        entry["storageVersionHash"] = ""
        resources.append(entry)
        for sub in info.subresources:
            sub_entry: dict[str, Any] = {"name": f"{info.plural}/{sub.name}",
                                         "singularName": "", "namespaced": info.namespaced,
                                         "kind": sub.kind or info.kind,
                                         "verbs": sorted(sub.verbs)}
            if sub.group:
                sub_entry["group"], sub_entry["version"] = sub.group, sub.version
            resources.append(sub_entry)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": resources}
