"""Decode Kubernetes protobuf request bodies into the JSON-shaped objects the API works on.

kubectl >= 1.32 sends ``Content-Type: application/vnd.kubernetes.protobuf`` bodies for the
objects it builds with the typed clientset (``kubectl create deployment|namespace|configmap|
secret|service|serviceaccount|quota``, the Eviction of ``kubectl drain``) and has no JSON
fallback, so the sandbox must read them. This module mirrors the read side of
``k8s.io/apimachinery/pkg/runtime/serializer/protobuf`` (``Serializer.Decode``): the
``k8s\\x00`` magic, the ``runtime.Unknown`` envelope (``typeMeta``, ``raw``,
``contentEncoding``, ``contentType``), then the object itself decoded field by field with
the tables of :mod:`kubelab.sandbox.api.protobuf_schema`.

The result is what the JSON path would see for the same object: the Go structs' JSON
encoding rules (``omitempty``, pointers, inline structs) are applied while decoding, and the
apimachinery special types take their JSON forms: ``Quantity`` and ``IntOrString`` become a
string or an int, ``Time``/``MicroTime`` RFC 3339 strings (``null`` when zero), ``bytes``
fields base64 strings, ``RawExtension``/``FieldsV1`` the JSON they hold. Pure functions over
bytes: no I/O.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from kubelab.sandbox.api.protobuf_schema import KINDS, MESSAGES, SPECIALS, Field, Message

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"

VARINT, I64, LEN, I32 = 0, 1, 2, 5
_WIRE_NAMES = {VARINT: "varint", I64: "fixed64", LEN: "length-delimited", I32: "fixed32"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ProtobufError(ValueError):
    """A request body that is not a well-formed Kubernetes protobuf message."""

    def __init__(self, message: str) -> None:
        super().__init__(f"protobuf body: {message}")


def known_kinds() -> set[tuple[str, str]]:
    """The ``(apiVersion, kind)`` pairs whose protobuf bodies can be decoded."""
    return set(KINDS)


def decode_request(body: bytes) -> dict[str, Any]:
    """Decode a ``k8s\\x00``-prefixed protobuf body into its JSON-shaped object.

    ``apiVersion`` and ``kind`` come from the envelope. Raises :class:`ProtobufError` for a
    missing magic, truncated or garbled data, a wrong wire type or a kind without a table.
    """
    if not body:
        raise ProtobufError("empty data")
    if not body.startswith(MAGIC):
        prefix = " ".join(str(b) for b in MAGIC)
        raise ProtobufError(
            f"provided data does not appear to be a protobuf message, expected prefix [{prefix}]"
        )
    if len(body) == len(MAGIC):
        raise ProtobufError("empty body")
    try:
        return _decode_unknown(body[len(MAGIC) :], len(MAGIC))
    except RecursionError:  # RawExtensions nested without end
        raise ProtobufError("objects nested too deeply") from None


def decode_message(data: bytes, message: str) -> dict[str, Any]:
    """Decode one bare message (no magic, no envelope) of the named table."""
    if message not in MESSAGES:
        raise ProtobufError(f"no protobuf schema for message {message}")
    try:
        return _decode_message(data, 0, MESSAGES[message], message)
    except RecursionError:
        raise ProtobufError("objects nested too deeply") from None


# --------------------------------------------------------------------------- envelope


def _decode_unknown(data: bytes, base: int) -> dict[str, Any]:
    api_version = kind = encoding = ""
    raw = b""
    raw_base = base
    for number, wire, value, offset in _fields(data, base):
        if number in (1, 2, 3, 4):
            _expect(wire, LEN, f"Unknown field {number}", offset)
            assert isinstance(value, bytes)
            if number == 1:
                for n2, w2, v2, o2 in _fields(value, offset):
                    if n2 in (1, 2):
                        _expect(w2, LEN, f"TypeMeta field {n2}", o2)
                        assert isinstance(v2, bytes)
                        if n2 == 1:
                            api_version = _text(v2)
                        else:
                            kind = _text(v2)
            elif number == 2:
                raw, raw_base = value, offset
            elif number == 3:
                encoding = _text(value)
    if encoding:
        raise ProtobufError(f"unsupported content encoding {encoding!r}")
    if not kind:
        raise ProtobufError("Object 'Kind' is missing in the envelope")
    if not api_version:
        raise ProtobufError("Object 'apiVersion' is missing in the envelope")
    message = KINDS.get((api_version, kind))
    if message is None:
        raise ProtobufError(f"no protobuf schema for {api_version}, Kind={kind}")
    obj = _decode_message(raw, raw_base, MESSAGES[message], kind)
    return {"apiVersion": api_version, "kind": kind, **obj}


# --------------------------------------------------------------------------- wire format


def _varint(data: bytes, pos: int, base: int) -> tuple[int, int]:
    result = shift = 0
    start = pos
    while True:
        if pos >= len(data):
            raise ProtobufError(f"truncated varint at byte {base + start}")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
        if shift >= 70:
            raise ProtobufError(f"varint longer than 10 bytes at byte {base + start}")


def _fields(data: bytes, base: int) -> Iterator[tuple[int, int, int | bytes, int]]:
    """Yield ``(number, wire type, value, offset of value)``; LEN values are bytes."""
    pos = 0
    while pos < len(data):
        tag_at = pos
        tag, pos = _varint(data, pos, base)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise ProtobufError(f"invalid field number 0 at byte {base + tag_at}")
        if wire == VARINT:
            value, end = _varint(data, pos, base)
            yield number, wire, value, base + pos
            pos = end
        elif wire in (I64, I32):
            size = 8 if wire == I64 else 4
            if pos + size > len(data):
                raise ProtobufError(
                    f"truncated {_WIRE_NAMES[wire]} field {number} at byte {base + pos}"
                )
            yield number, wire, int.from_bytes(data[pos : pos + size], "little"), base + pos
            pos += size
        elif wire == LEN:
            length, start = _varint(data, pos, base)
            if length > len(data) - start:
                raise ProtobufError(
                    f"field {number} at byte {base + tag_at} claims {length} bytes "
                    f"but only {len(data) - start} remain"
                )
            yield number, wire, data[start : start + length], base + start
            pos = start + length
        else:
            raise ProtobufError(
                f"unsupported wire type {wire} for field {number} at byte {base + tag_at}"
            )


def _expect(wire: int, want: int, what: str, offset: int) -> None:
    if wire != want:
        raise ProtobufError(
            f"{what} has wire type {_WIRE_NAMES.get(wire, wire)}, "
            f"want {_WIRE_NAMES[want]} (at byte {offset})"
        )


def _text(value: bytes) -> str:
    # Go strings may hold any bytes; encoding/json writes invalid UTF-8 as U+FFFD.
    return value.decode("utf-8", errors="replace")


def _scalar(type_: str, value: int | bytes) -> Any:
    if isinstance(value, bytes):
        return _text(value) if type_ == "string" else base64.b64encode(value).decode("ascii")
    if type_ == "bool":
        return value != 0
    if type_ == "int32":
        value &= 0xFFFFFFFF
        return value - (1 << 32) if value >= 1 << 31 else value
    if type_ == "int64":
        return value - (1 << 64) if value >= 1 << 63 else value
    if type_ == "uint32":
        return value & 0xFFFFFFFF
    if type_ == "double":
        return struct.unpack("<d", value.to_bytes(8, "little"))[0]
    if type_ == "float":
        return struct.unpack("<f", value.to_bytes(4, "little"))[0]
    return value  # uint64


def _scalar_wire(type_: str) -> int:
    if type_ in ("string", "bytes"):
        return LEN
    if type_ == "double":
        return I64
    if type_ == "float":
        return I32
    return VARINT


def _zero(type_: str) -> Any:
    if type_ in ("string", "bytes"):
        return ""
    if type_ == "bool":
        return False
    if type_ in ("double", "float"):
        return 0.0
    return 0


def _packed(type_: str, data: bytes, base: int) -> list[Any]:
    values: list[Any] = []
    pos = 0
    wire = _scalar_wire(type_)
    while pos < len(data):
        if wire == VARINT:
            raw, pos = _varint(data, pos, base)
        else:
            size = 8 if wire == I64 else 4
            if pos + size > len(data):
                raise ProtobufError(f"truncated packed {type_} at byte {base + pos}")
            raw = int.from_bytes(data[pos : pos + size], "little")
            pos += size
        values.append(_scalar(type_, raw))
    return values


# --------------------------------------------------------------------------- messages


def _decode_message(data: bytes, base: int, message: Message, path: str) -> dict[str, Any]:
    seen: dict[int, list[Any]] = {}
    for number, wire, value, offset in _fields(data, base):
        field = message.fields.get(number)
        if field is None:
            continue  # unknown fields are skipped, as the generated Go unmarshallers do
        seen.setdefault(number, []).extend(
            _occurrence(field, wire, value, offset, f"{path}.{field.name}")
        )
    out: dict[str, Any] = {}
    for field in message.fields.values():
        _render(field, seen.get(field.number), out, base, f"{path}.{field.name}")
    return out


def _occurrence(field: Field, wire: int, value: int | bytes, offset: int, path: str) -> list[Any]:
    """Decode one occurrence of a field on the wire into the values it contributes."""
    what = f"field {path} ({field.number})"
    if field.map:
        _expect(wire, LEN, what, offset)
        assert isinstance(value, bytes)
        return [_map_entry(field, value, offset, path)]
    if field.is_message:
        _expect(wire, LEN, what, offset)
        assert isinstance(value, bytes)
        if field.repeated:
            return [_value(field.type, value, offset, path)]
        return [(value, offset)]  # singular messages merge: decoded at render time
    if field.repeated and wire == LEN and field.type not in ("string", "bytes"):
        assert isinstance(value, bytes)
        return _packed(field.type, value, offset)
    _expect(wire, _scalar_wire(field.type), what, offset)
    return [_scalar(field.type, value)]


def _map_entry(field: Field, data: bytes, base: int, path: str) -> tuple[str, Any]:
    key = ""
    value: Any = None
    for number, wire, raw, offset in _fields(data, base):
        if number == 1:
            _expect(wire, LEN, f"map key of {path}", offset)
            assert isinstance(raw, bytes)
            key = _text(raw)
        elif number == 2:
            if field.is_message:
                _expect(wire, LEN, f"map value of {path}", offset)
                assert isinstance(raw, bytes)
                value = _value(field.type, raw, offset, f"{path}[{key}]")
            else:
                _expect(wire, _scalar_wire(field.type), f"map value of {path}", offset)
                value = _scalar(field.type, raw)
    if value is None:
        value = _value(field.type, b"", base, path) if field.is_message else _zero(field.type)
    return key, value


def _render(
    field: Field, values: list[Any] | None, out: dict[str, Any], base: int, path: str
) -> None:
    """Apply Go's JSON encoding rules for one field of a decoded struct."""
    name = field.name
    if field.map:
        entries = dict(values or [])
        if entries:
            out[name] = entries
        elif field.req:
            out[name] = None
        return
    if field.repeated:
        if values:
            out[name] = values
        elif field.req:
            out[name] = None
        return
    if not field.is_message:
        if values:
            value = values[-1]
            if field.ptr or field.req or value != _zero(field.type):
                out[name] = value
        elif field.req:
            out[name] = None if field.ptr else _zero(field.type)
        return
    if values:
        data = b"".join(chunk for chunk, _ in values)
        value = _value(field.type, data, values[0][1], path)
    elif field.ptr:
        if field.req:
            out[name] = None
        return
    else:
        value = _value(field.type, b"", base, path)
    if field.omitzero and value in (None, {}):
        return
    if field.inline and isinstance(value, dict):
        out.update(value)
    else:
        out[name] = value


def _value(type_: str, data: bytes, base: int, path: str) -> Any:
    if type_ in SPECIALS:
        return _special(type_, data, base)
    return _decode_message(data, base, MESSAGES[type_], path)


def _special(type_: str, data: bytes, base: int) -> Any:
    ints: dict[int, int] = {}
    blobs: dict[int, bytes] = {}
    for number, wire, value, _offset in _fields(data, base):
        if isinstance(value, bytes):
            blobs[number] = value
        elif wire == VARINT:
            ints[number] = value
    if type_ in ("Time", "MicroTime"):
        # metav1.Time marshals a zero time as an empty message; JSON shows it as null.
        if not data:
            return None
        seconds = _scalar("int64", ints.get(1, 0))
        nanos = _scalar("int32", ints.get(2, 0))
        try:
            when = _EPOCH + timedelta(seconds=seconds)
        except OverflowError:
            raise ProtobufError(f"time out of range at byte {base}") from None
        if type_ == "Time":  # seconds precision, as metav1.Time keeps it
            return when.strftime("%Y-%m-%dT%H:%M:%SZ")
        return when.strftime("%Y-%m-%dT%H:%M:%S") + f".{max(nanos, 0) // 1000:06d}Z"
    if type_ == "Quantity":
        return _text(blobs.get(1, b"")) or "0"
    if type_ == "IntOrString":
        if ints.get(1, 0) == 1:
            return _text(blobs.get(3, b""))
        return _scalar("int32", ints.get(2, 0))
    # RawExtension / FieldsV1: field 1 holds the embedded document (JSON; a RawExtension
    # may also hold a whole protobuf-encoded object).
    raw = blobs.get(1, b"")
    if not raw:
        return None
    if type_ == "RawExtension" and raw.startswith(MAGIC):
        return decode_request(raw)
    try:
        return json.loads(raw)
    except ValueError:
        raise ProtobufError(f"{type_} at byte {base} does not hold JSON") from None
