"""The OpenAPI v2 (Swagger 2.0) document at ``/openapi/v2``, in JSON and in protobuf.

kube-apiserver serves one Swagger 2.0 document for every served group-version
(``k8s.io/kube-openapi/pkg/handler``): JSON for ``Accept: application/json``, and the gnostic
``openapi.v2.Document`` protobuf for ``Accept:
application/com.github.proto-openapi.spec.v2@v1.0+protobuf``, each with a quoted uppercase
SHA-512 ``ETag`` so a client can revalidate with ``If-None-Match`` (304).

kubectl asks for the protobuf form when its OpenAPI v3 check cannot vouch for an object
(``cli-runtime``'s ``queryParamVerifierV3`` answers "param unsupported": the apiVersion is not
in the ``/openapi/v3`` index, or its document has no such kind, or the object is a ``List``):
it then validates client-side from v2 (``k8s.io/kube-openapi/pkg/util/proto/validation``,
``ValidationError(Job.spec): unknown field …``) and skips kinds v2 does not know, so the API
server's own "no matches for kind" is what the user reads. client-go unmarshals the body with
no JSON fallback, so a 404 here fails every such ``apply -f``.

The document is not a second source of truth: it is converted from the OpenAPI v3 documents of
:mod:`kubelab.sandbox.api.openapi` (one per served group-version, so a kind added to the kinds
table appears here too), the way kube-openapi's v2 and v3 builders render the same Go types:
``#/components/schemas/`` references become ``#/definitions/``, a single-``allOf`` property
becomes a ``$ref`` with its description beside it, ``Quantity``/``IntOrString`` are
``string`` schemas, a request body becomes a ``body`` parameter and response media types
``produces``.

The protobuf messages are gnostic's ``openapiv2/OpenAPIv2.proto`` (package ``openapi.v2``),
described here as a table (names, field numbers and types, only the messages and fields this
document uses) and built into a descriptor at run time for the ``protobuf`` library: no
generated code, no protoc. Like gnostic's compiler, every ``x-`` extension, ``default`` and
``enum`` value is carried as an ``Any`` holding YAML text, which is how kubectl reads them.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

import yaml
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

from kubelab.sandbox.api import openapi

PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
#: The Content-Type kube-openapi answers the protobuf with ("@" is not a token character).
PROTOBUF_RETURNED = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
JSON = "application/json"

_V3_REF = "#/components/schemas/"
_V2_REF = "#/definitions/"

# --------------------------------------------------------------------------------------------
# The Swagger 2.0 document, converted from the v3 documents.
# --------------------------------------------------------------------------------------------


def _schema(v3: Any) -> Any:
    """A v3 schema as kube-openapi's v2 builder renders the same type."""
    if not isinstance(v3, dict):
        return v3
    out: dict[str, Any] = {}
    all_of = v3.get("allOf")
    for key, value in v3.items():
        if key == "$ref":
            out["$ref"] = value.replace(_V3_REF, _V2_REF)
        elif key == "allOf" and len(value) == 1 and "$ref" in value[0]:
            out["$ref"] = value[0]["$ref"].replace(_V3_REF, _V2_REF)
        elif key == "allOf":
            out["allOf"] = [_schema(s) for s in value]
        elif key == "default" and all_of and value == {}:
            continue  # v3's "default: {}" beside a reference has no v2 counterpart
        elif key == "oneOf":
            # Quantity and IntOrString: v2 has no oneOf; upstream types both "string".
            out.setdefault("type", "string")
        elif key == "properties":
            out["properties"] = {name: _schema(s) for name, s in value.items()}
        elif key in ("items", "additionalProperties"):
            out[key] = _schema(value)
        elif key == "nullable":
            continue
        else:
            out[key] = value
    return dict(sorted(out.items()))


def _parameter(v3: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in v3.items() if k != "schema"}
    out.update(v3.get("schema") or {})
    return dict(sorted(out.items()))


def _operation(v3: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    params = [_parameter(p) for p in v3.get("parameters", [])]
    body = v3.get("requestBody")
    consumes = ["*/*"]
    if body is not None:
        media = body["content"]
        consumes = list(media)
        param: dict[str, Any] = {"in": "body", "name": "body",
                                 "schema": _schema(next(iter(media.values()))["schema"])}
        if body.get("required"):
            param["required"] = True
        params.insert(0, param)
    responses: dict[str, Any] = {}
    produces: list[str] = []
    for code, response in v3.get("responses", {}).items():
        entry: dict[str, Any] = {"description": response.get("description", "")}
        content = response.get("content") or {}
        if content:
            entry["schema"] = _schema(next(iter(content.values()))["schema"])
            produces += [m for m in content if m not in produces]
        responses[code] = entry
    out["consumes"] = consumes
    out["description"] = v3.get("description", "")
    out["operationId"] = v3.get("operationId", "")
    if params:
        out["parameters"] = params
    out["produces"] = produces
    out["responses"] = responses
    out["schemes"] = ["https"]
    out["tags"] = v3.get("tags", [])
    out.update({k: v for k, v in v3.items() if k.startswith("x-")})
    return out


def _path_item(v3: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in v3.items():
        if key == "parameters":
            out["parameters"] = [_parameter(p) for p in value]
        elif key.startswith("x-"):
            out[key] = value
        else:
            out[key] = _operation(value)
    return out


def build(info_version: str | None = None) -> dict[str, Any]:
    """The Swagger 2.0 document of every group-version the v3 index lists."""
    paths: dict[str, Any] = {}
    definitions: dict[str, Any] = {}
    for gv in openapi.served_paths():
        doc = openapi.v3_group_version(gv)
        assert doc is not None
        for name, schema in doc["components"]["schemas"].items():
            definitions[name] = _schema(schema)
        for path, item in doc["paths"].items():
            paths[path] = _path_item(item)
    return {
        "definitions": dict(sorted(definitions.items())),
        "info": {"title": "Kubernetes", "version": info_version or openapi.client_version()},
        "paths": dict(sorted(paths.items())),
        "security": [{"BearerToken": []}],
        "securityDefinitions": {"BearerToken": {
            "description": "Bearer Token authentication", "in": "header",
            "name": "authorization", "type": "apiKey"}},
        "swagger": "2.0",
    }


# --------------------------------------------------------------------------------------------
# gnostic's openapi.v2 messages, as a table: "field=number:type", "*" marks a repeated field.
# --------------------------------------------------------------------------------------------

_PRIMITIVE_PARAM = (
    "type={t}:string format={f}:string items={i}:PrimitivesItems "
    "collection_format={c}:string default={d}:Any maximum={mx}:double "
    "exclusive_maximum={emx}:bool minimum={mn}:double exclusive_minimum={emn}:bool "
    "max_length={mxl}:int64 min_length={mnl}:int64 pattern={p}:string max_items={mxi}:int64 "
    "min_items={mni}:int64 unique_items={u}:bool enum={e}:*Any multiple_of={mo}:double "
    "vendor_extension={v}:*NamedAny")


def _numbered(start: int) -> str:
    """The 18 primitive-parameter fields numbered from ``start`` (their order is fixed)."""
    keys = ("t", "f", "i", "c", "d", "mx", "emx", "mn", "emn", "mxl", "mnl", "p", "mxi", "mni",
            "u", "e", "mo", "v")
    return _PRIMITIVE_PARAM.format(**{k: start + n for n, k in enumerate(keys)})


MESSAGES: dict[str, str] = {
    "AdditionalPropertiesItem": "schema=1:Schema boolean=2:bool",
    "Any": "value=1:google.protobuf.Any yaml=2:string",
    "ApiKeySecurity": "type=1:string name=2:string in=3:string description=4:string "
                      "vendor_extension=5:*NamedAny",
    "BodyParameter": "description=1:string name=2:string in=3:string required=4:bool "
                     "schema=5:Schema vendor_extension=6:*NamedAny",
    "Definitions": "additional_properties=1:*NamedSchema",
    "Document": "swagger=1:string info=2:Info host=3:string base_path=4:string "
                "schemes=5:*string consumes=6:*string produces=7:*string paths=8:Paths "
                "definitions=9:Definitions security=12:*SecurityRequirement "
                "security_definitions=13:SecurityDefinitions vendor_extension=16:*NamedAny",
    "Info": "title=1:string version=2:string description=3:string "
            "terms_of_service=4:string vendor_extension=7:*NamedAny",
    "ItemsItem": "schema=1:*Schema",
    "NamedAny": "name=1:string value=2:Any",
    "NamedPathItem": "name=1:string value=2:PathItem",
    "NamedResponseValue": "name=1:string value=2:ResponseValue",
    "NamedSchema": "name=1:string value=2:Schema",
    "NamedSecurityDefinitionsItem": "name=1:string value=2:SecurityDefinitionsItem",
    "NamedStringArray": "name=1:string value=2:StringArray",
    "NonBodyParameter": "header_parameter_sub_schema=1:HeaderParameterSubSchema "
                        "query_parameter_sub_schema=3:QueryParameterSubSchema "
                        "path_parameter_sub_schema=4:PathParameterSubSchema",
    "HeaderParameterSubSchema": "required=1:bool in=2:string description=3:string "
                                "name=4:string " + _numbered(5),
    "QueryParameterSubSchema": "required=1:bool in=2:string description=3:string "
                               "name=4:string allow_empty_value=5:bool " + _numbered(6),
    "PathParameterSubSchema": "required=1:bool in=2:string description=3:string "
                              "name=4:string " + _numbered(5),
    "PrimitivesItems": _numbered(1),
    "Operation": "tags=1:*string summary=2:string description=3:string "
                 "operation_id=5:string produces=6:*string consumes=7:*string "
                 "parameters=8:*ParametersItem responses=9:Responses schemes=10:*string "
                 "deprecated=11:bool vendor_extension=13:*NamedAny",
    "Parameter": "body_parameter=1:BodyParameter non_body_parameter=2:NonBodyParameter",
    "ParametersItem": "parameter=1:Parameter",
    "PathItem": "_ref=1:string get=2:Operation put=3:Operation post=4:Operation "
                "delete=5:Operation options=6:Operation head=7:Operation patch=8:Operation "
                "parameters=9:*ParametersItem vendor_extension=10:*NamedAny",
    "Paths": "vendor_extension=1:*NamedAny path=2:*NamedPathItem",
    "Properties": "additional_properties=1:*NamedSchema",
    "Response": "description=1:string schema=2:SchemaItem vendor_extension=5:*NamedAny",
    "ResponseValue": "response=1:Response",
    "Responses": "response_code=1:*NamedResponseValue vendor_extension=2:*NamedAny",
    "Schema": "_ref=1:string format=2:string title=3:string description=4:string "
              "default=5:Any multiple_of=6:double maximum=7:double exclusive_maximum=8:bool "
              "minimum=9:double exclusive_minimum=10:bool max_length=11:int64 "
              "min_length=12:int64 pattern=13:string max_items=14:int64 min_items=15:int64 "
              "unique_items=16:bool max_properties=17:int64 min_properties=18:int64 "
              "required=19:*string enum=20:*Any additional_properties=21:AdditionalPropertiesItem "
              "type=22:TypeItem items=23:ItemsItem all_of=24:*Schema properties=25:Properties "
              "discriminator=26:string read_only=27:bool example=30:Any "
              "vendor_extension=31:*NamedAny",
    "SchemaItem": "schema=1:Schema",
    "SecurityDefinitions": "additional_properties=1:*NamedSecurityDefinitionsItem",
    "SecurityDefinitionsItem": "api_key_security=2:ApiKeySecurity",
    "SecurityRequirement": "additional_properties=1:*NamedStringArray",
    "StringArray": "value=1:*string",
    "TypeItem": "value=1:*string",
}
#: Messages whose fields form gnostic's ``oneof oneof``.
ONEOFS = frozenset({"AdditionalPropertiesItem", "NonBodyParameter", "Parameter",
                    "ParametersItem", "ResponseValue", "SchemaItem", "SecurityDefinitionsItem"})

_FD = descriptor_pb2.FieldDescriptorProto
_SCALARS = {"string": _FD.TYPE_STRING, "bool": _FD.TYPE_BOOL, "double": _FD.TYPE_DOUBLE,
            "int64": _FD.TYPE_INT64}
_CLASS_LOCK = threading.Lock()
_CLASSES: dict[str, type[Message]] = {}


def file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    """``openapiv2/OpenAPIv2.proto`` as a descriptor, from :data:`MESSAGES`."""
    fdp = descriptor_pb2.FileDescriptorProto(
        name="openapiv2/OpenAPIv2.proto", package="openapi.v2", syntax="proto3",
        dependency=["google/protobuf/any.proto"])
    for name, spec in MESSAGES.items():
        message = fdp.message_type.add(name=name)
        if name in ONEOFS:
            message.oneof_decl.add(name="oneof")
        for item in spec.split():
            field_name, _, rest = item.partition("=")
            number, _, type_name = rest.partition(":")
            field = message.field.add(name=field_name, number=int(number))
            field.label = _FD.LABEL_REPEATED if type_name.startswith("*") else \
                _FD.LABEL_OPTIONAL
            type_name = type_name.lstrip("*")
            if type_name in _SCALARS:
                field.type = _SCALARS[type_name]
            else:
                field.type = _FD.TYPE_MESSAGE
                field.type_name = (".google.protobuf.Any" if type_name == "google.protobuf.Any"
                                   else f".openapi.v2.{type_name}")
            if name in ONEOFS:
                field.oneof_index = 0
    return fdp


def message_class(name: str) -> type[Message]:
    """The ``protobuf`` class of one ``openapi.v2`` message (built once, on first use)."""
    with _CLASS_LOCK:
        if not _CLASSES:
            pool = descriptor_pool.DescriptorPool()
            pool.AddSerializedFile(any_pb2.DESCRIPTOR.serialized_pb)
            pool.Add(file_descriptor())
            for message_name in MESSAGES:
                _CLASSES[message_name] = message_factory.GetMessageClass(
                    pool.FindMessageTypeByName(f"openapi.v2.{message_name}"))
        return _CLASSES[name]


def _new(name: str) -> Any:
    return message_class(name)()


# --------------------------------------------------------------------------------------------
# JSON -> protobuf, as gnostic's compiler fills the messages.
# --------------------------------------------------------------------------------------------

def _any(value: Any) -> Any:
    message = _new("Any")
    message.yaml = yaml.safe_dump(value, default_flow_style=False, sort_keys=False,
                                  allow_unicode=True)
    return message


def _extensions(target: Any, source: dict[str, Any]) -> None:
    for key, value in source.items():
        if key.startswith("x-"):
            target.vendor_extension.add(name=key).value.CopyFrom(_any(value))


_SCHEMA_SCALARS = {"format": "format", "title": "title", "description": "description",
                   "multipleOf": "multiple_of", "maximum": "maximum",
                   "exclusiveMaximum": "exclusive_maximum", "minimum": "minimum",
                   "exclusiveMinimum": "exclusive_minimum", "maxLength": "max_length",
                   "minLength": "min_length", "pattern": "pattern", "maxItems": "max_items",
                   "minItems": "min_items", "uniqueItems": "unique_items",
                   "maxProperties": "max_properties", "minProperties": "min_properties",
                   "discriminator": "discriminator", "readOnly": "read_only", "$ref": "_ref"}


def _schema_pb(schema: dict[str, Any]) -> Any:
    message = _new("Schema")
    for key, value in schema.items():
        if key in _SCHEMA_SCALARS:
            setattr(message, _SCHEMA_SCALARS[key], value)
        elif key in ("default", "example"):
            getattr(message, key).CopyFrom(_any(value))
        elif key == "required":
            message.required.extend(value)
        elif key == "enum":
            for item in value:
                message.enum.append(_any(item))
        elif key == "type":
            message.type.value.extend(value if isinstance(value, list) else [value])
        elif key == "items":
            for item in value if isinstance(value, list) else [value]:
                message.items.schema.append(_schema_pb(item))
        elif key == "allOf":
            for item in value:
                message.all_of.append(_schema_pb(item))
        elif key == "properties":
            for name, prop in value.items():
                message.properties.additional_properties.add(name=name).value.CopyFrom(
                    _schema_pb(prop))
        elif key == "additionalProperties":
            if isinstance(value, bool):
                message.additional_properties.boolean = value
            else:
                message.additional_properties.schema.CopyFrom(_schema_pb(value))
    _extensions(message, schema)
    return message


_PARAM_SCALARS = {"required": "required", "in": "in", "description": "description",
                  "name": "name", "allowEmptyValue": "allow_empty_value", "type": "type",
                  "format": "format", "collectionFormat": "collection_format",
                  "maximum": "maximum", "minimum": "minimum", "pattern": "pattern",
                  "uniqueItems": "unique_items", "maxLength": "max_length",
                  "minLength": "min_length"}
_SUB_SCHEMAS = {"query": "query_parameter_sub_schema", "path": "path_parameter_sub_schema",
                "header": "header_parameter_sub_schema"}


def _parameter_pb(param: dict[str, Any]) -> Any:
    item = _new("ParametersItem")
    if param.get("in") == "body":
        body = item.parameter.body_parameter
        for key in ("description", "name", "in", "required"):
            if key in param:
                setattr(body, key, param[key])
        body.schema.CopyFrom(_schema_pb(param["schema"]))
        _extensions(body, param)
        return item
    sub = getattr(item.parameter.non_body_parameter, _SUB_SCHEMAS[param["in"]])
    for key, value in param.items():
        if key in _PARAM_SCALARS:
            setattr(sub, _PARAM_SCALARS[key], value)
        elif key == "default":
            sub.default.CopyFrom(_any(value))
        elif key == "enum":
            for value_item in value:
                sub.enum.append(_any(value_item))
    _extensions(sub, param)
    return item


def _operation_pb(op: dict[str, Any]) -> Any:
    message = _new("Operation")
    message.tags.extend(op.get("tags", []))
    for key, attr in (("summary", "summary"), ("description", "description"),
                      ("operationId", "operation_id"), ("deprecated", "deprecated")):
        if key in op:
            setattr(message, attr, op[key])
    message.produces.extend(op.get("produces", []))
    message.consumes.extend(op.get("consumes", []))
    for param in op.get("parameters", []):
        message.parameters.append(_parameter_pb(param))
    for code, response in op.get("responses", {}).items():
        value = message.responses.response_code.add(name=code).value.response
        value.description = response.get("description", "")
        if "schema" in response:
            value.schema.schema.CopyFrom(_schema_pb(response["schema"]))
        _extensions(value, response)
    message.schemes.extend(op.get("schemes", []))
    _extensions(message, op)
    return message


_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")


def to_protobuf(doc: dict[str, Any]) -> bytes:
    """The document as a serialised ``openapi.v2.Document``."""
    message = _new("Document")
    message.swagger = doc["swagger"]
    message.info.title = doc["info"]["title"]
    message.info.version = doc["info"]["version"]
    for path, item in doc["paths"].items():
        entry = message.paths.path.add(name=path).value
        for method in _METHODS:
            if method in item:
                getattr(entry, method).CopyFrom(_operation_pb(item[method]))
        for param in item.get("parameters", []):
            entry.parameters.append(_parameter_pb(param))
        _extensions(entry, item)
    for name, schema in doc["definitions"].items():
        message.definitions.additional_properties.add(name=name).value.CopyFrom(
            _schema_pb(schema))
    for requirement in doc.get("security", []):
        added = message.security.add()
        for name, scopes in requirement.items():
            added.additional_properties.add(name=name).value.value.extend(scopes)
    for name, scheme in doc.get("securityDefinitions", {}).items():
        api_key = message.security_definitions.additional_properties.add(
            name=name).value.api_key_security
        for key in ("type", "name", "in", "description"):
            if key in scheme:
                setattr(api_key, key, scheme[key])
    return bytes(message.SerializeToString(deterministic=True))


# --------------------------------------------------------------------------------------------
# protobuf -> JSON: what a client reads back (kubectl's proto.NewOpenAPIData walks the same).
# --------------------------------------------------------------------------------------------

def _from_any(message: Any) -> Any:
    return yaml.safe_load(message.yaml)


def _read_extensions(message: Any, out: dict[str, Any]) -> None:
    for named in message.vendor_extension:
        out[named.name] = _from_any(named.value)


def _schema_json(message: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, attr in _SCHEMA_SCALARS.items():
        if getattr(message, attr):
            out[key] = getattr(message, attr)
    for key in ("default", "example"):
        if message.HasField(key):
            out[key] = _from_any(getattr(message, key))
    if message.required:
        out["required"] = list(message.required)
    if message.enum:
        out["enum"] = [_from_any(item) for item in message.enum]
    if message.type.value:
        values = list(message.type.value)
        out["type"] = values[0] if len(values) == 1 else values
    if message.HasField("items"):
        items = [_schema_json(s) for s in message.items.schema]
        out["items"] = items[0] if len(items) == 1 else items
    if message.all_of:
        out["allOf"] = [_schema_json(s) for s in message.all_of]
    if message.HasField("properties"):
        out["properties"] = {named.name: _schema_json(named.value)
                             for named in message.properties.additional_properties}
    if message.HasField("additional_properties"):
        which = message.additional_properties.WhichOneof("oneof")
        out["additionalProperties"] = (message.additional_properties.boolean
                                       if which == "boolean"
                                       else _schema_json(message.additional_properties.schema))
    _read_extensions(message, out)
    return dict(sorted(out.items()))


def _parameter_json(item: Any) -> dict[str, Any]:
    parameter = item.parameter
    out: dict[str, Any] = {}
    if parameter.WhichOneof("oneof") == "body_parameter":
        body = parameter.body_parameter
        for key in ("description", "name", "in", "required"):
            if getattr(body, key):
                out[key] = getattr(body, key)
        out["schema"] = _schema_json(body.schema)
        _read_extensions(body, out)
        return dict(sorted(out.items()))
    sub_name = parameter.non_body_parameter.WhichOneof("oneof")
    sub = getattr(parameter.non_body_parameter, sub_name)
    for key, attr in _PARAM_SCALARS.items():
        if hasattr(sub, attr) and getattr(sub, attr):
            out[key] = getattr(sub, attr)
    if sub.HasField("default"):
        out["default"] = _from_any(sub.default)
    if sub.enum:
        out["enum"] = [_from_any(v) for v in sub.enum]
    _read_extensions(sub, out)
    return dict(sorted(out.items()))


def _operation_json(message: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, attr in (("summary", "summary"), ("description", "description"),
                      ("operationId", "operation_id"), ("deprecated", "deprecated")):
        if getattr(message, attr) or key == "description":
            out[key] = getattr(message, attr)
    for key in ("tags", "produces", "consumes", "schemes"):
        out[key] = list(getattr(message, key))
    if message.parameters:
        out["parameters"] = [_parameter_json(p) for p in message.parameters]
    responses: dict[str, Any] = {}
    for named in message.responses.response_code:
        response = named.value.response
        entry: dict[str, Any] = {"description": response.description}
        if response.HasField("schema"):
            entry["schema"] = _schema_json(response.schema.schema)
        _read_extensions(response, entry)
        responses[named.name] = entry
    out["responses"] = responses
    _read_extensions(message, out)
    return out


def from_protobuf(data: bytes) -> dict[str, Any]:
    """Parse a serialised ``openapi.v2.Document`` back into its Swagger JSON shape."""
    message = _new("Document")
    message.ParseFromString(data)
    paths: dict[str, Any] = {}
    for named in message.paths.path:
        item: dict[str, Any] = {}
        for method in _METHODS:
            if named.value.HasField(method):
                item[method] = _operation_json(getattr(named.value, method))
        if named.value.parameters:
            item["parameters"] = [_parameter_json(p) for p in named.value.parameters]
        _read_extensions(named.value, item)
        paths[named.name] = item
    security_definitions: dict[str, Any] = {}
    for named in message.security_definitions.additional_properties:
        api_key = named.value.api_key_security
        security_definitions[named.name] = {k: getattr(api_key, k)
                                            for k in ("description", "in", "name", "type")
                                            if getattr(api_key, k)}
    return {
        "definitions": {named.name: _schema_json(named.value)
                        for named in message.definitions.additional_properties},
        "info": {"title": message.info.title, "version": message.info.version},
        "paths": paths,
        "security": [{n.name: list(n.value.value) for n in req.additional_properties}
                     for req in message.security],
        "securityDefinitions": security_definitions,
        "swagger": message.swagger,
    }


# --------------------------------------------------------------------------------------------
# The cached bodies and the content negotiation of kube-openapi's handler.
# --------------------------------------------------------------------------------------------

_BODY_LOCK = threading.Lock()
_BODIES: dict[str, tuple[bytes, str]] = {}


def etag_of(data: bytes) -> str:
    """kube-openapi's ETag: the uppercase hex SHA-512 of the body (quoted on the wire)."""
    return hashlib.sha512(data).hexdigest().upper()


def body(media: str) -> tuple[bytes, str]:
    """The document's bytes for ``JSON`` or ``PROTOBUF`` and their ETag, built once (the
    first request pays for building every group-version's schemas, about a second)."""
    with _BODY_LOCK:
        if not _BODIES:
            doc = build()
            for key, data in ((JSON, json.dumps(doc, separators=(",", ":")).encode()),
                              (PROTOBUF, to_protobuf(doc))):
                _BODIES[key] = (data, etag_of(data))
        return _BODIES[media]


def negotiate(accept: str) -> str | None:
    """The format for an ``Accept`` header: ``JSON``, ``PROTOBUF``, or None (406).

    kube-openapi takes the clauses in order of preference (q-value) and answers with the
    first of its two formats a clause names (``*`` matching either, JSON first); no header
    at all counts as ``*/*``.
    """
    offered = ((JSON, "application", "json"),
               (PROTOBUF, "application", "com.github.proto-openapi.spec.v2@v1.0+protobuf"))
    clauses: list[tuple[float, str]] = []
    for clause in (accept or "*/*").split(","):
        media, *params = (part.strip().lower() for part in clause.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            clauses.append((quality, media))
    for _quality, media in sorted(clauses, key=lambda c: -c[0]):
        main, _, sub = media.partition("/")
        for name, want_main, want_sub in offered:
            if main in (want_main, "*") and sub in (want_sub, "*"):
                return name
    return None
