"""Patch merge keys and list strategies of the built-in kinds.

A strategic merge patch cannot be applied from JSON alone: whether ``spec.containers`` is
merged item by item (keyed by ``name``) or replaced wholesale is a fact of the API
definition. Upstream keeps these facts in the Go struct tags of ``k8s.io/api``
(``patchStrategy:"merge" patchMergeKey:"name"``, and ``+listType=map`` / ``+listMapKey``
for server-side apply), surfaced in OpenAPI as ``x-kubernetes-patch-strategy`` /
``x-kubernetes-patch-merge-key`` / ``x-kubernetes-list-map-keys``. The apiserver's
``strategicpatch.LookupPatchMeta`` walks those tags; this module is our small,
readable transcription of them, keyed by kind and by field path.

Paths are dotted JSON field names; ``[]`` stands for "any item of this list", e.g.
``spec.template.spec.containers[].ports``. A path absent from a table means: maps are
merged key by key, lists are replaced (upstream's default for untagged fields).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Strategy = Literal["merge", "replace", ""]


@dataclass(frozen=True)
class FieldMeta:
    """Patch facts of one field (the struct tags of ``k8s.io/api`` types).

    ``strategy`` is ``patchStrategy`` without ``retainKeys`` (kept in ``retain_keys``):
    ``merge`` for lists merged by ``merge_key`` (or unioned when it is a primitive list
    without a key), ``replace`` for maps replaced wholesale. ``map_keys`` are the
    server-side-apply ``listMapKey``s, which can be more than the single patch merge key
    (container ports are keyed by ``containerPort`` *and* ``protocol``).
    """

    strategy: Strategy = ""
    merge_key: str = ""
    retain_keys: bool = False
    map_keys: tuple[str, ...] = ()

    @property
    def list_type(self) -> Literal["map", "set", "atomic"]:
        """How server-side apply tracks the list: by keys, by value, or as one value."""
        if self.map_keys or self.merge_key:
            return "map"
        if self.strategy == "merge":
            return "set"
        return "atomic"

    @property
    def ssa_keys(self) -> tuple[str, ...]:
        return self.map_keys or ((self.merge_key,) if self.merge_key else ())


def by(key: str, *map_keys: str, retain_keys: bool = False) -> FieldMeta:
    """A list merged item by item on ``key`` (``patchStrategy:"merge" patchMergeKey:key``)."""
    return FieldMeta("merge", key, retain_keys, tuple(map_keys) or (key,))


MERGE_PRIMITIVES = FieldMeta("merge")  # primitive list unioned, e.g. metadata.finalizers
REPLACE = FieldMeta("replace")  # map replaced wholesale, e.g. PodDisruptionBudget selector

Table = Mapping[str, FieldMeta]


def _under(prefix: str, table: Mapping[str, FieldMeta]) -> dict[str, FieldMeta]:
    return {f"{prefix}.{path}" if prefix else path: meta for path, meta in table.items()}


# --- k8s.io/apimachinery/pkg/apis/meta/v1: ObjectMeta ---------------------------------
OBJECT_META: dict[str, FieldMeta] = {
    "ownerReferences": by("uid"),
    "finalizers": MERGE_PRIMITIVES,
}

# --- k8s.io/api/core/v1: Container (also EphemeralContainerCommon) ----------------------
CONTAINER: dict[str, FieldMeta] = {
    "ports": by("containerPort", "containerPort", "protocol"),
    "env": by("name"),
    "volumeMounts": by("mountPath"),
    "volumeDevices": by("devicePath"),
    "resources.claims": FieldMeta(map_keys=("name",)),
}

# --- core/v1: PodSpec -----------------------------------------------------------------
POD_SPEC: dict[str, FieldMeta] = {
    "volumes": by("name", retain_keys=True),
    "containers": by("name"),
    "initContainers": by("name"),
    "ephemeralContainers": by("name"),
    "imagePullSecrets": by("name"),
    "hostAliases": by("ip"),
    "topologySpreadConstraints": by("topologyKey", "topologyKey", "whenUnsatisfiable"),
    "schedulingGates": by("name"),
    "resourceClaims": by("name", retain_keys=True),
    # tolerations, affinity terms, readinessGates ... carry no patch strategy: replaced.
    **_under("containers[]", CONTAINER),
    **_under("initContainers[]", CONTAINER),
    **_under("ephemeralContainers[]", CONTAINER),
}

POD_TEMPLATE_SPEC: dict[str, FieldMeta] = {
    **_under("metadata", OBJECT_META),
    **_under("spec", POD_SPEC),
}

CONTAINER_STATUS: dict[str, FieldMeta] = {
    "volumeMounts": by("mountPath"),
    "allocatedResourcesStatus": by("name"),
}

POD_STATUS: dict[str, FieldMeta] = {
    "conditions": by("type"),
    "podIPs": by("ip"),
    "hostIPs": by("ip"),
    "resourceClaimStatuses": by("name", retain_keys=True),
    **_under("containerStatuses[]", CONTAINER_STATUS),
    **_under("initContainerStatuses[]", CONTAINER_STATUS),
    **_under("ephemeralContainerStatuses[]", CONTAINER_STATUS),
}

CONDITIONS: dict[str, FieldMeta] = {"conditions": by("type")}

# --- one table per kind ------------------------------------------------------------------
_WORKLOAD = {**_under("spec.template", POD_TEMPLATE_SPEC), **_under("status", CONDITIONS)}

_TABLES: dict[str, dict[str, FieldMeta]] = {
    "Pod": {**_under("spec", POD_SPEC), **_under("status", POD_STATUS)},
    "PodTemplate": _under("template", POD_TEMPLATE_SPEC),
    "ReplicationController": _WORKLOAD,
    "Deployment": {**_WORKLOAD, "spec.strategy": FieldMeta(retain_keys=True)},
    "ReplicaSet": _WORKLOAD,
    "DaemonSet": _WORKLOAD,
    "StatefulSet": {
        **_WORKLOAD,
        **_under("spec.volumeClaimTemplates[].metadata", OBJECT_META),
        **_under("spec.volumeClaimTemplates[].status", CONDITIONS),
    },
    "Job": {**_WORKLOAD},
    "CronJob": {
        **_under("spec.jobTemplate.metadata", OBJECT_META),
        **_under("spec.jobTemplate.spec.template", POD_TEMPLATE_SPEC),
    },
    "Service": {
        "spec.ports": by("port", "port", "protocol"),
        **_under("status", CONDITIONS),
    },
    "Node": {
        "spec.podCIDRs": MERGE_PRIMITIVES,
        "status.conditions": by("type"),
        "status.addresses": by("type"),
    },
    "Namespace": _under("status", CONDITIONS),
    "ServiceAccount": {"secrets": by("name")},
    "PersistentVolumeClaim": _under("status", CONDITIONS),
    "HorizontalPodAutoscaler": _under("status", CONDITIONS),
    "PodDisruptionBudget": {"spec.selector": REPLACE, **_under("status", CONDITIONS)},
    "CSINode": {"spec.drivers": by("name")},
}

_META_ONLY: Table = MappingProxyType(_under("metadata", OBJECT_META))
TABLES: Mapping[str, Table] = MappingProxyType({
    kind: MappingProxyType({**_under("metadata", OBJECT_META), **table})
    for kind, table in _TABLES.items()
})


def table_for(api_version: str, kind: str) -> Table:
    """The merge-key table of ``kind``; kinds without list facts get ObjectMeta's only.

    ``api_version`` is accepted for symmetry with the apiserver's lookup (the facts of the
    kinds served here do not differ between versions).
    """
    del api_version
    return TABLES.get(kind, _META_ONLY)


def knows_kind(kind: str) -> bool:
    """True when the kind has a table of its own (not only ObjectMeta's)."""
    return kind in TABLES


def field_meta(table: Table, path: str) -> FieldMeta:
    """The facts of ``path`` in ``table``; untagged fields get the default (no strategy)."""
    return table.get(path, _DEFAULT)


_DEFAULT = FieldMeta()
