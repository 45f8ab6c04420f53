"""OpenAPI v3 documents, derived at run time from the official Python client's models.

kube-apiserver publishes one OpenAPI v3 document per group-version under
``/openapi/v3/<api/v1 | apis/<group>/<version>>`` and an index at ``/openapi/v3`` that points
at each with a ``?hash=`` URL (``k8s.io/kube-openapi/pkg/handler3``). kubectl needs them for
three things:

* ``apply``/``create``/``replace -f`` with the default ``--validate=strict`` look for a PATCH
  operation carrying the object's ``x-kubernetes-group-version-kind`` and a
  ``fieldValidation`` query parameter (``cli-runtime`` ``query_param_verifier_v3.go``); when
  found, kubectl leaves validation to the server and sends ``fieldValidation=Strict``;
* ``kubectl explain`` walks ``components.schemas`` (``kubectl/pkg/explain/v2``): it finds the
  kind through the operations' GVK, then prints descriptions and ``<type>`` names, so
  ``IntOrString`` and ``Quantity`` must be schemas *without* a ``type`` (the template prints the
  last segment of the ``$ref`` then), while ``Time`` is a ``string``;
* client-side apply reads ``x-kubernetes-patch-merge-key``/``-strategy`` for strategic merge
  (the facts come from :mod:`kubelab.sandbox.api.patch_keys`).

Upstream generates these documents from Go types (``pkg/generated/openapi``). We derive them
from the ``kubernetes`` client's pydantic models instead: their fields carry the wire names
(``serialization_alias``), the ``required`` facts and upstream's field descriptions. The few
facts the models lose are kept in small tables here: which package a model belongs to (so
schema names are upstream's ``io.k8s.api.apps.v1.Deployment``), which ``str`` fields are
``Quantity`` and which timestamps are ``MicroTime``. The descriptions of model-typed fields,
which the client drops, come from a table generated from upstream's published spec
(:mod:`kubelab.sandbox.api.openapi_descriptions`); the enums kube-apiserver serves for Go
``+enum`` types (values and a "Possible enum values" paragraph) from a table generated from
``k8s.io/api``'s sources (:mod:`kubelab.sandbox.api.openapi_enums`).

Building everything takes a few hundred milliseconds once the client is imported (seconds on
a busy machine), so it happens lazily, on the first request for a document, and is cached per
group-version, in memory and on disk for the next sandbox (:mod:`.openapi_cache`); nothing
here runs at import time.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import importlib
import inspect
import json
import re
import threading
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from kubelab.sandbox.api import openapi_cache
from kubelab.sandbox.api.kinds import ALSO_SERVED, KINDS, KindInfo, Subresource
from kubelab.sandbox.api.openapi_descriptions import DESCRIPTIONS
from kubelab.sandbox.api.openapi_enums import ENUMS

# --------------------------------------------------------------------------------------------
# Schema names: client model name -> upstream definition name.
# --------------------------------------------------------------------------------------------

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
TIME = f"{META}.Time"
MICRO_TIME = f"{META}.MicroTime"
FIELDS_V1 = f"{META}.FieldsV1"
PATCH = f"{META}.Patch"

# Models of ``k8s.io/apimachinery/pkg/apis/meta/v1`` (the client names them ``V1<Type>``).
_META_TYPES = frozenset({
    "APIResource", "APIResourceList", "Condition", "DeleteOptions", "LabelSelector",
    "LabelSelectorRequirement", "ListMeta", "ManagedFieldsEntry", "ObjectMeta",
    "OwnerReference", "Preconditions", "ShardInfo", "Status", "StatusCause", "StatusDetails",
})

# ``V1<Type>`` models outside core/v1: exact type names, then name prefixes per group.
_GROUP_TYPES: dict[str, str] = {
    "Scale": "autoscaling", "ScaleSpec": "autoscaling", "ScaleStatus": "autoscaling",
    "Eviction": "policy",
    "Endpoint": "discovery", "EndpointConditions": "discovery", "EndpointHints": "discovery",
    "EndpointSlice": "discovery", "EndpointSliceList": "discovery", "ForNode": "discovery",
    "ForZone": "discovery",
    **dict.fromkeys(("AggregationRule", "ClusterRole", "ClusterRoleBinding",
                     "ClusterRoleBindingList", "ClusterRoleList", "PolicyRule", "Role",
                     "RoleBinding", "RoleBindingList", "RoleList", "RoleRef"), "rbac"),
    **dict.fromkeys(("FieldSelectorAttributes", "FieldSelectorRequirement",
                     "LabelSelectorAttributes", "LocalSubjectAccessReview",
                     "NonResourceAttributes", "NonResourceRule", "ResourceAttributes",
                     "ResourceRule", "SelfSubjectAccessReview", "SelfSubjectAccessReviewSpec",
                     "SelfSubjectRulesReview", "SelfSubjectRulesReviewSpec",
                     "SubjectAccessReview", "SubjectAccessReviewSpec",
                     "SubjectAccessReviewStatus", "SubjectRulesReviewStatus"), "authorization"),
    **dict.fromkeys(("SelfSubjectReview", "SelfSubjectReviewStatus", "TokenReview",
                     "TokenReviewSpec", "TokenReviewStatus", "UserInfo", "BoundObjectReference",
                     "TokenRequestSpec", "TokenRequestStatus"), "authentication"),
}
_GROUP_PREFIXES: tuple[tuple[str, str], ...] = (
    ("ControllerRevision", "apps"), ("DaemonSet", "apps"), ("Deployment", "apps"),
    ("ReplicaSet", "apps"), ("RollingUpdate", "apps"), ("StatefulSet", "apps"),
    ("Lease", "coordination"), ("StorageClass", "storage"),
    ("CronJob", "batch"), ("Job", "batch"), ("PodFailurePolicy", "batch"),
    ("SuccessPolicy", "batch"), ("UncountedTerminatedPods", "batch"),
    ("HorizontalPodAutoscaler", "autoscaling"), ("CrossVersionObjectReference", "autoscaling"),
    ("HPAScaling", "autoscaling"), ("Metric", "autoscaling"), ("ResourceMetric", "autoscaling"),
    ("ContainerResourceMetric", "autoscaling"), ("ExternalMetric", "autoscaling"),
    ("ObjectMetric", "autoscaling"), ("PodsMetric", "autoscaling"),
    ("Ingress", "networking"), ("HTTPIngress", "networking"),
    ("ServiceBackendPort", "networking"),
    ("PodDisruptionBudget", "policy"),
)


_MODEL_NAME = re.compile(r"^([A-Z][a-z]+)?V(\d+(?:alpha\d+|beta\d+)?)([A-Z]\w*)$")


def _split_model_name(name: str) -> tuple[str, str, str]:
    """``CoreV1Event`` -> ("Core", "v1", "Event"); ``V1Pod`` -> ("", "v1", "Pod")."""
    match = _MODEL_NAME.match(name)
    if match is None:
        raise KeyError(name)
    return match.group(1) or "", "v" + match.group(2), match.group(3)


def definition_name(model_name: str) -> str:
    """Upstream definition name of a client model.

    The rule: the client drops ``io.k8s.api.<group>.`` and keeps ``V<n><Type>``, except where
    two groups define the same type, then it prefixes the group (``CoreV1Event``,
    ``EventsV1Event``, ``DiscoveryV1EndpointPort``). The group of the rest comes from the
    tables above; anything not listed is core/v1.

    >>> definition_name("V1Deployment")
    'io.k8s.api.apps.v1.Deployment'
    >>> definition_name("CoreV1Event")
    'io.k8s.api.core.v1.Event'
    """
    prefix, version, type_name = _split_model_name(model_name)
    if prefix == "Apiregistration" or type_name.startswith("APIService"):
        # kube-aggregator's types live outside k8s.io/api.
        return f"io.k8s.kube-aggregator.pkg.apis.apiregistration.{version}.{type_name}"
    if prefix:
        return f"io.k8s.api.{prefix.lower()}.{version}.{type_name}"
    if type_name in _META_TYPES:
        return f"{META}.{type_name}"
    group = _GROUP_TYPES.get(type_name)
    if group is None:
        group = next((g for p, g in _GROUP_PREFIXES if type_name.startswith(p)), "core")
    return f"io.k8s.api.{group}.{version}.{type_name}"


# --------------------------------------------------------------------------------------------
# Facts the client models lose.
# --------------------------------------------------------------------------------------------

# ``resource.Quantity`` fields; the client types them ``str`` (or ``Dict[str, str]``).
QUANTITY_FIELDS = frozenset({
    ("V1ContainerStatus", "allocatedResources"), ("V1EmptyDirVolumeSource", "sizeLimit"),
    ("V1NodeAllocatableMappedResources", "quantity"),
    ("V1NodeAllocatableOverheadResources", "perContainer"),
    ("V1NodeAllocatableOverheadResources", "perPod"),
    ("V1NodeStatus", "allocatable"), ("V1NodeStatus", "capacity"),
    ("V1PodSpec", "overhead"), ("V1PodStatus", "allocatedResources"),
    ("V1ResourceFieldSelector", "divisor"), ("V1ResourceQuotaSpec", "hard"),
    ("V1ResourceQuotaStatus", "hard"), ("V1ResourceQuotaStatus", "used"),
    ("V1ResourceRequirements", "limits"), ("V1ResourceRequirements", "requests"),
    ("V1VolumeResourceRequirements", "limits"), ("V1VolumeResourceRequirements", "requests"),
    ("V1PersistentVolumeClaimStatus", "capacity"),
    ("V1PersistentVolumeClaimStatus", "allocatedResources"),
    ("V2MetricTarget", "value"), ("V2MetricTarget", "averageValue"),
    ("V2MetricValueStatus", "value"), ("V2MetricValueStatus", "averageValue"),
    ("V2HPAScalingRules", "tolerance"),
})

# ``metav1.MicroTime`` fields; the client types them ``datetime`` like ``metav1.Time``.
MICRO_TIME_FIELDS = frozenset({
    ("CoreV1Event", "eventTime"), ("CoreV1EventSeries", "lastObservedTime"),
    ("EventsV1Event", "eventTime"), ("EventsV1EventSeries", "lastObservedTime"),
    ("V1LeaseSpec", "acquireTime"), ("V1LeaseSpec", "renewTime"),
})

OBJECT_METADATA_DESCRIPTION = (
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md"
    "#metadata")

# Descriptions of the leaf schemas, as upstream words them.
_LEAF_SCHEMAS: dict[str, dict[str, Any]] = {
    TIME: {
        "description": "Time is a wrapper around time.Time which supports correct marshaling "
                       "to YAML and JSON.  Wrappers are provided for many of the factory "
                       "methods that the time package offers.",
        "format": "date-time", "type": "string",
    },
    MICRO_TIME: {
        "description": "MicroTime is version of Time with microsecond level precision.",
        "format": "date-time", "type": "string",
    },
    QUANTITY: {
        "description": "Quantity is a fixed-point representation of a number. It provides "
                       "convenient marshaling/unmarshaling in JSON and YAML, in addition to "
                       "String() and AsInt64() accessors.",
        "oneOf": [{"type": "string"}, {"type": "number"}],
    },
    INT_OR_STRING: {
        "description": "IntOrString is a type that can hold an int32 or a string.  When used "
                       "in JSON or YAML marshalling and unmarshalling, it produces or consumes "
                       "the inner type.  This allows you to have, for example, a JSON field "
                       "that can accept a name or number.",
        "format": "int-or-string",
        "oneOf": [{"type": "integer"}, {"type": "string"}],
    },
    FIELDS_V1: {
        "description": "FieldsV1 stores a set of fields in a data structure like a Trie, in "
                       "JSON format.",
        "type": "object",
    },
    PATCH: {
        "description": "Patch is provided to give a concrete name and type to the Kubernetes "
                       "PATCH request body.",
        "type": "object",
    },
}

# --------------------------------------------------------------------------------------------
# Field types, read from the pydantic annotations.
# --------------------------------------------------------------------------------------------

SCALARS = ("string", "integer", "number", "boolean", "byte", "object")
LEAF_REFS = {"time": TIME, "micro-time": MICRO_TIME, "quantity": QUANTITY,
             "int-or-string": INT_OR_STRING, "fields-v1": FIELDS_V1}


@dataclass(frozen=True)
class FieldType:
    """The shape of one field: a scalar, a leaf schema, a model, or an array/map of one."""

    kind: str  # a SCALARS or LEAF_REFS key, or "model", "array", "map"
    model: str = ""  # client model name when kind == "model"
    item: FieldType | None = None  # element type when kind is "array" or "map"


@dataclass(frozen=True)
class ModelField:
    wire: str  # the JSON name, e.g. ``minReadySeconds``
    type: FieldType
    required: bool
    description: str


def client_models() -> types.ModuleType:
    """The client's model module (importing it takes about half a second: done lazily)."""
    return importlib.import_module("kubernetes.client.models")


def client_version() -> str:
    return str(importlib.import_module("kubernetes").__version__)


def model_class(name: str) -> Any:
    cls = getattr(client_models(), name, None)
    if cls is None or not hasattr(cls, "model_fields"):
        raise KeyError(name)
    return cls


def has_model(name: str) -> bool:
    known = _facts()["has"].get(name)
    if isinstance(known, bool):
        return known
    try:
        model_class(name)
    except KeyError:
        found = False
    else:
        found = True
    with _FACTS_LOCK:
        _facts()["has"][name] = found
        _facts_changed.set()
    return found


def _classify(annotation: Any) -> FieldType:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _classify(args[0])
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        if len(members) == 1:
            return _classify(members[0])
        kinds = {_classify(m).kind for m in members}
        if kinds == {"integer", "string"}:
            return FieldType("int-or-string")
        if kinds == {"byte", "string"}:
            return FieldType("byte")
        return FieldType("object")
    if origin in (list, typing.List):  # noqa: UP006 - the client uses typing.List
        return FieldType("array", item=_classify(args[0]))
    if origin in (dict, typing.Dict):  # noqa: UP006
        return FieldType("map", item=_classify(args[1]))
    if inspect.isclass(annotation):
        if hasattr(annotation, "model_fields"):
            return FieldType("model", model=annotation.__name__)
        if issubclass(annotation, bool):
            return FieldType("boolean")
        if issubclass(annotation, int):
            return FieldType("integer")
        if issubclass(annotation, float):
            return FieldType("number")
        if issubclass(annotation, str):
            return FieldType("string")
        if issubclass(annotation, bytes | bytearray):
            return FieldType("byte")
        if issubclass(annotation, _dt.datetime | _dt.date):
            return FieldType("time")
    return FieldType("object")


def _override(model: str, wire: str, ftype: FieldType) -> FieldType:
    """Apply the facts the annotations lose (Quantity, MicroTime, FieldsV1)."""
    if (model, wire) in QUANTITY_FIELDS:
        if ftype.kind == "map":
            return FieldType("map", item=FieldType("quantity"))
        return FieldType("quantity")
    if (model, wire) in MICRO_TIME_FIELDS:
        return FieldType("micro-time")
    if model == "V1ManagedFieldsEntry" and wire == "fieldsV1":
        return FieldType("fields-v1")
    return ftype


@cache
def model_fields(model: str) -> tuple[ModelField, ...]:
    """The fields of a client model with their wire names, in the model's order."""
    known = _facts()["fields"].get(model)
    if isinstance(known, list):
        with contextlib.suppress(TypeError, ValueError, KeyError, IndexError):
            return tuple(ModelField(w, _field_type(t), bool(r), str(d)) for w, t, r, d in known)
    cls = model_class(model)
    out: list[ModelField] = []
    for name, info in cls.model_fields.items():
        wire = info.serialization_alias or (
            cls.attribute_map.get(name, name) if hasattr(cls, "attribute_map") else name)
        ftype = _override(model, wire, _classify(info.annotation))
        out.append(ModelField(wire, ftype, info.is_required(), info.description or ""))
    with _FACTS_LOCK:
        _facts()["fields"][model] = [[f.wire, _field_type_json(f.type), f.required,
                                      f.description] for f in out]
        _facts_changed.set()
    return tuple(out)


# The facts read from the client's models (which exist, and their fields) are kept on disk
# with the documents (:mod:`.openapi_cache`): importing the models and building their pydantic
# classes costs a second or more, paid by every new sandbox's first `kubectl get` (column
# descriptions), `apply` (strict field validation) and decoding otherwise.
_FACTS_LOCK = threading.RLock()
_FACTS: dict[str, dict[str, Any]] = {}
_facts_changed = threading.Event()


def _facts() -> dict[str, dict[str, Any]]:
    if not _FACTS:
        with _FACTS_LOCK:
            if not _FACTS:
                stored = openapi_cache.read("models")
                ok = isinstance(stored, dict) and all(
                    isinstance(stored.get(k), dict) for k in ("has", "fields"))
                _FACTS.update(stored if ok else {"has": {}, "fields": {}})
    return _FACTS


def _field_type_json(ftype: FieldType) -> list[Any]:
    return [ftype.kind, ftype.model, None if ftype.item is None else _field_type_json(ftype.item)]


def _field_type(data: list[Any]) -> FieldType:
    kind, model, item = data
    return FieldType(str(kind), str(model), None if item is None else _field_type(item))


def keep_model_facts() -> None:
    """Write the model facts learnt since the last call to the on-disk cache."""
    if not _facts_changed.is_set():
        return
    with _FACTS_LOCK:
        _facts_changed.clear()
        snapshot = json.loads(json.dumps(_facts()))
    openapi_cache.write("models", snapshot)


def model_description(model: str) -> str:
    """The class docstring without the generator's ``Attributes:`` boilerplate."""
    doc = inspect.cleandoc(model_class(model).__doc__ or "")
    head, _, _ = doc.partition("\n\nAttributes:")
    return head.strip()


def _resolve(model: str, path: str) -> tuple[str, str] | None:
    """The (model, field) a patch_keys path ends at, e.g. ``spec.template.spec.containers[]
    .ports`` from V1Deployment -> ("V1Container", "ports"); None if the path is not there."""
    parts = path.split(".")
    for i, part in enumerate(parts):
        wire = part.removesuffix("[]")
        field = next((f for f in model_fields(model) if f.wire == wire), None)
        if field is None:
            return None
        if i == len(parts) - 1:
            return model, wire
        ftype = field.type
        while ftype.kind in ("array", "map") and ftype.item is not None:
            ftype = ftype.item
        if ftype.kind != "model":
            return None
        model = ftype.model
    return None


@cache
def patch_extensions() -> dict[tuple[str, str], dict[str, Any]]:
    """(model, field) -> the ``x-kubernetes-patch-*``/``list-*`` extensions of that field.

    The facts come from :mod:`kubelab.sandbox.api.patch_keys` (kept per kind and path for the
    patch engine); here they are moved onto the model that declares the field, which is where
    upstream's schemas carry them.
    """
    from kubelab.sandbox.api import patch_keys

    out: dict[tuple[str, str], dict[str, Any]] = {}
    for info in KINDS:
        if not info.model or not has_model(info.model):
            continue
        for path, meta in patch_keys.table_for(info.api_version, info.kind).items():
            target = _resolve(info.model, path)
            if target is None:
                continue
            ext: dict[str, Any] = {}
            if meta.map_keys or meta.merge_key or meta.strategy == "merge":
                ext["x-kubernetes-list-type"] = meta.list_type
                if meta.list_type == "map":
                    ext["x-kubernetes-list-map-keys"] = list(meta.ssa_keys)
            if meta.merge_key:
                ext["x-kubernetes-patch-merge-key"] = meta.merge_key
            strategy = ",".join(s for s in (meta.strategy, "retainKeys" if meta.retain_keys
                                            else "") if s)
            if strategy:
                ext["x-kubernetes-patch-strategy"] = strategy
            if ext:
                out[target] = ext
    return out


# --------------------------------------------------------------------------------------------
# Schemas.
# --------------------------------------------------------------------------------------------

def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _type_schema(ftype: FieldType, *, in_container: bool = False) -> dict[str, Any]:
    if ftype.kind == "model":
        target = _ref(definition_name(ftype.model))
        return {"allOf": [target], "default": {}} if in_container else {"allOf": [target]}
    if ftype.kind in LEAF_REFS:
        target = _ref(LEAF_REFS[ftype.kind])
        return target if in_container else {"allOf": [target]}
    if ftype.kind in ("array", "map"):
        assert ftype.item is not None
        inner = _type_schema(ftype.item, in_container=True)
        if ftype.kind == "array":
            return {"type": "array", "items": inner}
        return {"type": "object", "additionalProperties": inner}
    if ftype.kind == "byte":
        return {"type": "string", "format": "byte"}
    if ftype.kind == "number":
        return {"type": "number", "format": "double"}
    return {"type": ftype.kind}


def _gvk_of(model: str) -> list[dict[str, str]] | None:
    for info in (*KINDS, *ALSO_SERVED):
        if info.model == model:
            return [{"group": info.group, "kind": info.kind, "version": info.version}]
        if info.model + "List" == model:
            return [{"group": info.group, "kind": info.list_kind, "version": info.version}]
    for sub in _subresource_models():
        if sub[1] == model:
            return [{"group": sub[0].group, "kind": sub[0].kind,
                     "version": sub[0].version}]
    if model in ("V1Status", "V1DeleteOptions"):
        kind = model[2:]
        return [{"group": "", "kind": kind, "version": "v1"}]
    return None


@cache
def model_schema(model: str) -> dict[str, Any]:
    """The OpenAPI v3 schema of one client model, shaped like upstream's."""
    props: dict[str, Any] = {}
    required: list[str] = []
    for field in model_fields(model):
        prop = _type_schema(field.type)
        # The client drops descriptions of fields whose type is a model; upstream puts them
        # beside the ``allOf`` and ``kubectl explain`` prints them (the field list shows only
        # the property's own description, never the referenced type's).
        description = field.description or DESCRIPTIONS.get(
            (definition_name(model), field.wire), "")
        if not description and field.wire == "metadata" and _gvk_of(model) is not None \
                and field.type.model == "V1ObjectMeta":
            description = OBJECT_METADATA_DESCRIPTION
        enum = ENUMS.get((definition_name(model), field.wire))
        if enum is not None:
            # What kube-openapi adds for a Go ``+enum`` type: the values (on the items of a
            # list) and a paragraph naming each, which ``kubectl explain`` prints.
            is_list, values = enum
            (prop["items"] if is_list and "items" in prop else prop)["enum"] = [
                v for v, _ in values]
            lines = [f" - `{json.dumps(v)}` {text}" if text else f" - `{json.dumps(v)}`"
                     for v, text in values]
            description = "\n\n".join(p for p in (description, "Possible enum values:\n"
                                                    + "\n".join(lines)) if p)
        if description:
            prop["description"] = description
        prop.update(patch_extensions().get((model, field.wire), {}))
        props[field.wire] = prop
        if field.required:
            required.append(field.wire)
    schema: dict[str, Any] = {}
    description = model_description(model)
    if description:
        schema["description"] = description
    schema["properties"] = dict(sorted(props.items()))
    if required:
        schema["required"] = required
    schema["type"] = "object"
    gvk = _gvk_of(model)
    if gvk is not None:
        schema["x-kubernetes-group-version-kind"] = gvk
    return schema


def _references(ftype: FieldType) -> Iterable[str]:
    if ftype.kind == "model":
        yield ftype.model
    elif ftype.item is not None:
        yield from _references(ftype.item)


def schemas_for(models: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Every schema the given models reach, keyed by upstream definition name, sorted."""
    out: dict[str, dict[str, Any]] = {}
    pending = list(models)
    seen: set[str] = set()
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        out[definition_name(model)] = model_schema(model)
        for field in model_fields(model):
            if field.type.kind in LEAF_REFS:
                out[LEAF_REFS[field.type.kind]] = _LEAF_SCHEMAS[LEAF_REFS[field.type.kind]]
            elif field.type.item is not None and field.type.item.kind in LEAF_REFS:
                name = LEAF_REFS[field.type.item.kind]
                out[name] = _LEAF_SCHEMAS[name]
            pending.extend(_references(field.type))
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------------------------
# Paths and operations.
# --------------------------------------------------------------------------------------------

def _subresource_model(sub: Subresource, owner: KindInfo) -> str:
    """The client model a subresource reads and writes, or "" if it has none."""
    if sub.name == "status":
        return owner.model
    if sub.kind in ("Scale", "Eviction", "Binding"):
        return f"V1{sub.kind}"
    return ""


@cache
def _subresource_models() -> tuple[tuple[Subresource, str], ...]:
    out = []
    for info in KINDS:
        for sub in info.subresources:
            model = _subresource_model(sub, info)
            if model and sub.name != "status":
                out.append((sub, model))
    return tuple(out)


def _gv_camel(group: str, version: str) -> str:
    """``apps``/``v1`` -> ``AppsV1``; ``coordination.k8s.io`` -> ``CoordinationV1``."""
    base = group.removesuffix(".k8s.io") if group else "core"
    return "".join(p[:1].upper() + p[1:] for p in base.split(".")) + version.capitalize()


def _tag(group: str, version: str) -> str:
    base = group.removesuffix(".k8s.io") if group else "core"
    return base.replace(".", "_") + "_" + version


def _param(name: str, where: str, description: str, schema: dict[str, Any],
           required: bool = False) -> dict[str, Any]:
    param: dict[str, Any] = {"description": description, "in": where, "name": name,
                             "schema": schema}
    if required:
        param["required"] = True
    return param


_STR = {"type": "string", "uniqueItems": True}
_BOOL = {"type": "boolean", "uniqueItems": True}
_INT = {"type": "integer", "uniqueItems": True}

PRETTY = _param("pretty", "query", "If 'true', then the output is pretty printed.", _STR)
DRY_RUN = _param("dryRun", "query",
                 "When present, indicates that modifications should not be persisted. Valid "
                 "values are: - All: all dry run stages will be processed", _STR)
FIELD_MANAGER = _param("fieldManager", "query",
                       "fieldManager is a name associated with the actor or entity that is "
                       "making these changes.", _STR)
FIELD_VALIDATION = _param(
    "fieldValidation", "query",
    "fieldValidation instructs the server on how to handle objects in the request "
    "(POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore, "
    "- Warn, - Strict: this will fail the request with a BadRequest error if any unknown "
    "fields would be dropped from the object, or if any duplicate fields are present.", _STR)
FORCE = _param("force", "query",
               "Force is going to \"force\" Apply requests. It means user will re-acquire "
               "conflicting fields owned by other people.", _BOOL)
_LIST_PARAMS = [
    _param("allowWatchBookmarks", "query",
           "allowWatchBookmarks requests watch events with type \"BOOKMARK\".", _BOOL),
    _param("continue", "query",
           "The continue option should be set when retrieving more results from the server.",
           _STR),
    _param("fieldSelector", "query",
           "A selector to restrict the list of returned objects by their fields.", _STR),
    _param("labelSelector", "query",
           "A selector to restrict the list of returned objects by their labels.", _STR),
    _param("limit", "query", "limit is a maximum number of responses to return for a list "
           "call.", _INT),
    _param("resourceVersion", "query",
           "resourceVersion sets a constraint on what resource versions a request may be "
           "served from.", _STR),
    _param("resourceVersionMatch", "query",
           "resourceVersionMatch determines how resourceVersion is applied to list calls.",
           _STR),
    _param("sendInitialEvents", "query",
           "`sendInitialEvents=true` may be set together with `watch=true`: the stream begins "
           "with synthetic events for the current state, then a bookmark annotated "
           "\"k8s.io/initial-events-end\": \"true\".", _BOOL),
    _param("timeoutSeconds", "query",
           "Timeout for the list/watch call, regardless of any activity or inactivity.", _INT),
    _param("watch", "query",
           "Watch for changes to the described resources and return them as a stream of add, "
           "update, and remove notifications.", _BOOL),
]
_DELETE_PARAMS = [
    DRY_RUN,
    _param("gracePeriodSeconds", "query",
           "The duration in seconds before the object should be deleted.", _INT),
    _param("orphanDependents", "query",
           "Deprecated: please use the PropagationPolicy.", _BOOL),
    _param("propagationPolicy", "query",
           "Whether and how garbage collection will be performed: 'Orphan', 'Background' or "
           "'Foreground'.", _STR),
]
_MEDIA = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
PATCH_MEDIA_TYPES = ("application/apply-patch+yaml", "application/json-patch+json",
                     "application/merge-patch+json", "application/strategic-merge-patch+json")


def _content(schema_name: str, media: Iterable[str] = _MEDIA) -> dict[str, Any]:
    return {m: {"schema": _ref(schema_name)} for m in media}


def _responses(schema_name: str, *codes: str) -> dict[str, Any]:
    text = {"200": "OK", "201": "Created", "202": "Accepted"}
    out = {c: {"content": _content(schema_name), "description": text[c]} for c in codes}
    out["401"] = {"description": "Unauthorized"}
    return out


def _operation(info: KindInfo, gvk_source: tuple[str, str, str], action: str,
               op_id: str, description: str, response: str, codes: tuple[str, ...],
               params: list[dict[str, Any]] | None = None,
               body: dict[str, Any] | None = None) -> dict[str, Any]:
    group, version, kind = gvk_source
    op: dict[str, Any] = {"description": description, "operationId": op_id}
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = body
    op["responses"] = _responses(response, *codes)
    op["tags"] = [_tag(info.group, info.version)]
    op["x-kubernetes-action"] = action
    op["x-kubernetes-group-version-kind"] = {"group": group, "kind": kind, "version": version}
    return op


def _paths_for(info: KindInfo) -> dict[str, dict[str, Any]]:
    prefix = info.path_prefix()
    gv = _gv_camel(info.group, info.version)
    kind_name = definition_name(info.model)
    list_name = definition_name(info.model + "List") if has_model(info.model + "List") else ""
    status = f"{META}.Status"
    gvk = (info.group, info.version, info.kind)
    ns_param = _param("namespace", "path",
                      "object name and auth scope, such as for teams and projects", _STR, True)
    name_param = _param("name", "path", f"name of the {info.kind}", _STR, True)
    scope = "Namespaced" if info.namespaced else ""
    base = f"{prefix}/namespaces/{{namespace}}/{info.plural}" if info.namespaced \
        else f"{prefix}/{info.plural}"
    verbs = set(info.verbs)
    write_params = [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION]
    body_of = {"content": {"*/*": {"schema": _ref(kind_name)}}, "required": True}
    patch_body = {"content": {m: {"schema": _ref(PATCH)} for m in PATCH_MEDIA_TYPES},
                  "required": True}
    delete_body = {"content": {"*/*": {"schema": _ref(f"{META}.DeleteOptions")}}}
    paths: dict[str, dict[str, Any]] = {}

    collection: dict[str, Any] = {}
    if "deletecollection" in verbs:
        collection["delete"] = _operation(
            info, gvk, "deletecollection", f"delete{gv}Collection{scope}{info.kind}",
            f"delete collection of {info.kind}", status, ("200",),
            _DELETE_PARAMS + _LIST_PARAMS, delete_body)
    if "list" in verbs and list_name:
        collection["get"] = _operation(
            info, gvk, "list", f"list{gv}{scope}{info.kind}",
            f"list or watch objects of kind {info.kind}", list_name, ("200",), _LIST_PARAMS)
    if "create" in verbs:
        collection["post"] = _operation(
            info, gvk, "post", f"create{gv}{scope}{info.kind}", f"create a {info.kind}",
            kind_name, ("200", "201", "202"), write_params, body_of)
    if collection:
        collection["parameters"] = ([ns_param] if info.namespaced else []) + [PRETTY]
        paths[base] = collection

    item: dict[str, Any] = {}
    if "delete" in verbs:
        item["delete"] = _operation(
            info, gvk, "delete", f"delete{gv}{scope}{info.kind}", f"delete a {info.kind}",
            status, ("200", "202"), _DELETE_PARAMS, delete_body)
    if "get" in verbs:
        item["get"] = _operation(
            info, gvk, "get", f"read{gv}{scope}{info.kind}",
            f"read the specified {info.kind}", kind_name, ("200",))
    if "patch" in verbs:
        item["patch"] = _operation(
            info, gvk, "patch", f"patch{gv}{scope}{info.kind}",
            f"partially update the specified {info.kind}", kind_name, ("200", "201"),
            [*write_params, FORCE], patch_body)
    if "update" in verbs:
        item["put"] = _operation(
            info, gvk, "put", f"replace{gv}{scope}{info.kind}",
            f"replace the specified {info.kind}", kind_name, ("200", "201"), write_params,
            body_of)
    if item:
        item["parameters"] = [name_param] + ([ns_param] if info.namespaced else []) + [PRETTY]
        paths[f"{base}/{{name}}"] = item

    if info.namespaced and "list" in verbs and list_name:
        paths[f"{prefix}/{info.plural}"] = {
            "get": _operation(info, gvk, "list", f"list{gv}{info.kind}ForAllNamespaces",
                              f"list or watch objects of kind {info.kind}", list_name, ("200",),
                              _LIST_PARAMS),
            "parameters": [PRETTY],
        }

    for sub in info.subresources:
        model = _subresource_model(sub, info)
        if not model:
            continue
        sub_name = definition_name(model)
        sub_gvk = gvk if sub.name == "status" else (sub.group, sub.version, sub.kind)
        suffix = sub.name[:1].upper() + sub.name[1:]
        sub_body = {"content": {"*/*": {"schema": _ref(sub_name)}}, "required": True}
        ops: dict[str, Any] = {}
        if "get" in sub.verbs:
            ops["get"] = _operation(
                info, sub_gvk, "get", f"read{gv}{scope}{info.kind}{suffix}",
                f"read {sub.name} of the specified {info.kind}", sub_name, ("200",))
        if "patch" in sub.verbs:
            ops["patch"] = _operation(
                info, sub_gvk, "patch", f"patch{gv}{scope}{info.kind}{suffix}",
                f"partially update {sub.name} of the specified {info.kind}", sub_name,
                ("200", "201"), [*write_params, FORCE], patch_body)
        if "update" in sub.verbs:
            ops["put"] = _operation(
                info, sub_gvk, "put", f"replace{gv}{scope}{info.kind}{suffix}",
                f"replace {sub.name} of the specified {info.kind}", sub_name, ("200", "201"),
                write_params, sub_body)
        if "create" in sub.verbs:
            ops["post"] = _operation(
                info, sub_gvk, "post", f"create{gv}{scope}{info.kind}{suffix}",
                f"create {sub.name} of a {info.kind}", sub_name, ("200", "201", "202"),
                write_params, sub_body)
        if ops:
            sub_name_param = _param("name", "path", f"name of the {sub.kind or info.kind}",
                                    _STR, True)
            ops["parameters"] = ([sub_name_param] + ([ns_param] if info.namespaced else [])
                                 + [PRETTY])
            paths[f"{base}/{{name}}/{sub.name}"] = ops
    return paths


# --------------------------------------------------------------------------------------------
# Documents.
# --------------------------------------------------------------------------------------------

def _parse_path(path: str) -> tuple[str, str] | None:
    parts = path.strip("/").split("/")
    if len(parts) == 2 and parts[0] == "api":
        return "", parts[1]
    if len(parts) == 3 and parts[0] == "apis":
        return parts[1], parts[2]
    return None


def _gv_kinds(group: str, version: str) -> list[KindInfo]:
    return [k for k in (*KINDS, *ALSO_SERVED) if k.group == group and k.version == version
            and k.model and has_model(k.model)]


def served_paths() -> list[str]:
    """``api/v1``, ``apis/apps/v1``, … for every group-version with at least one kind."""
    seen: dict[str, None] = {}
    for info in (*KINDS, *ALSO_SERVED):
        if info.model:
            seen[f"apis/{info.group}/{info.version}" if info.group else f"api/{info.version}"] \
                = None
    return sorted(seen)


_LOCK = threading.Lock()
_DOCS: dict[str, tuple[dict[str, Any], str]] = {}


def _build(group: str, version: str) -> dict[str, Any]:
    kinds = _gv_kinds(group, version)
    paths: dict[str, Any] = {}
    models: list[str] = ["V1Status", "V1DeleteOptions"]
    for info in kinds:
        paths.update(_paths_for(info))
        models.append(info.model)
        if has_model(info.model + "List"):
            models.append(info.model + "List")
        for sub in info.subresources:
            model = _subresource_model(sub, info)
            if model:
                models.append(model)
    schemas = schemas_for(models)
    schemas[PATCH] = _LEAF_SCHEMAS[PATCH]
    return {
        "components": {"schemas": dict(sorted(schemas.items()))},
        "info": {"title": "Kubernetes", "version": client_version()},
        "openapi": "3.0.0",
        "paths": dict(sorted(paths.items())),
    }


def _document(path: str) -> tuple[dict[str, Any], str] | None:
    key = path.strip("/")
    cached = _DOCS.get(key)
    if cached is not None:
        return cached
    gv = _parse_path(key)
    if gv is None or key not in served_paths():
        return None
    with _LOCK:
        cached = _DOCS.get(key)
        if cached is None:
            cached = openapi_cache.load(key)
        if cached is None:
            doc = _build(*gv)
            blob = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
            cached = (doc, hashlib.sha512(blob).hexdigest().upper())
            openapi_cache.save(key, *cached)
        _DOCS[key] = cached
    return cached


def v3_group_version(path: str) -> dict[str, Any] | None:
    """The document for ``api/v1`` or ``apis/<group>/<version>``; None if not served.

    The returned dict is shared: callers serialise it and must not modify it.
    """
    found = _document(path)
    return found[0] if found is not None else None


def v3_hash(path: str) -> str:
    """Uppercase hex SHA-512 of the document's canonical JSON, like kube-openapi's ETag."""
    found = _document(path)
    if found is None:
        raise KeyError(path)
    return found[1]


def v3_root(server_prefix: str = "") -> dict[str, Any]:
    """The ``/openapi/v3`` index: each group-version with its immutable ``?hash=`` URL."""
    prefix = server_prefix.rstrip("/")
    return {"paths": {
        p: {"serverRelativeURL": f"{prefix}/openapi/v3/{p}?hash={v3_hash(p)}"}
        for p in served_paths()
    }}
