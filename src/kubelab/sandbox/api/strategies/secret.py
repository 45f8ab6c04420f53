"""Secrets: ``type: Opaque`` by default, base64 data, keys like file names, at most 1 MiB.

Mirrors ``SetDefaults_Secret``, the v1 conversion that folds ``stringData`` into ``data``
(``pkg/apis/core/v1/conversion.go``), ``ValidateSecret``/``ValidateSecretUpdate`` in
``pkg/apis/core/validation`` and ``pkg/registry/core/secret/strategy.go`` (``type`` is
selectable). ``data`` values that are not base64 never reach validation upstream: the JSON
decoder fails first with a 400, ``Secret in version "v1" cannot be handled as a Secret:
illegal base64 data at input byte N``, which a learner who pastes plain text meets; the
byte offset follows Go's ``encoding/base64``.
"""

from __future__ import annotations

import base64

from kubelab.sandbox.api.errors import Cause, bad_request
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.validation import (
    FIELD_IMMUTABLE,
    config_key_errors,
    forbidden,
    invalid,
    key_path,
    required,
    too_long,
    validate_object_meta,
)

MAX_SECRET_SIZE = 1024 * 1024
_ALPHABET = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_NEWLINES = (ord("\n"), ord("\r"))
_REQUIRED_KEYS = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}


def base64_error_offset(text: str) -> int | None:
    """Where Go's ``base64.StdEncoding`` gives up on ``text`` (``None`` when it decodes)."""
    src = text.encode()
    n, si = len(src), 0
    while True:
        j = 0
        while j < 4:
            if si == n:
                return None if j == 0 else si - j
            c = src[si]
            si += 1
            if c in _NEWLINES:
                continue
            if c in _ALPHABET:
                j += 1
                continue
            if c != ord("="):
                return si - 1
            if j in (0, 1):
                return si - 1
            if j == 2:
                while si < n and src[si] in _NEWLINES:
                    si += 1
                if si == n:
                    return n
                if src[si] != ord("="):
                    return si - 1
                si += 1
            while si < n and src[si] in _NEWLINES:
                si += 1
            return si if si < n else None


class SecretStrategy(Strategy):
    """``secretStrategy``: no spec/status, no generation."""

    def default(self, obj: Obj) -> None:
        if not obj.get("type"):
            obj["type"] = "Opaque"
        data = obj.get("data")
        if isinstance(data, dict):
            for value in data.values():
                offset = base64_error_offset(value) if isinstance(value, str) else 0
                if offset is not None:
                    raise bad_request('Secret in version "v1" cannot be handled as a Secret: '
                                      f"illegal base64 data at input byte {offset}")
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict) and string_data:
            data = obj.get("data")
            if not isinstance(data, dict):
                data = obj["data"] = {}
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        causes = validate_object_meta(obj, info)
        data = obj.get("data") or {}
        total = 0
        for key in sorted(data):
            causes += [invalid(key_path("data", key), key, e) for e in config_key_errors(key)]
            try:
                total += len(base64.b64decode(data[key] or ""))
            except ValueError:
                total += len(str(data[key]))
        for key in _REQUIRED_KEYS.get(obj.get("type", ""), ()):
            if key not in data:
                causes.append(required(key_path("data", key)))
        if obj.get("type") == "kubernetes.io/basic-auth" and \
                "username" not in data and "password" not in data:
            causes.append(required("data[username]"))
        if total > MAX_SECRET_SIZE:
            causes.append(too_long("data", MAX_SECRET_SIZE))
        return causes

    def validate_update(self, obj: Obj, old: Obj, info: KindInfo) -> list[Cause]:
        causes = self.validate(obj, info)
        if obj.get("type") != old.get("type"):
            causes.append(invalid("type", obj.get("type", ""), FIELD_IMMUTABLE))
        if old.get("immutable"):
            if not obj.get("immutable"):
                causes.append(forbidden("immutable", "field is immutable when `immutable` is set"))
            if obj.get("data") != old.get("data"):
                causes.append(forbidden("data", "field is immutable when `immutable` is set"))
        return causes

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        return super().selectable_fields(obj) | {"type": obj.get("type", "")}


register("v1", "Secret", SecretStrategy())
