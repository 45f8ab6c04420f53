"""ConfigMaps: keys like file names, ``data`` and ``binaryData`` disjoint, at most 1 MiB.

Mirrors ``pkg/registry/core/configmap/strategy.go`` and ``ValidateConfigMap`` /
``ValidateConfigMapUpdate`` in ``pkg/apis/core/validation`` (including ``immutable``).
"""

from __future__ import annotations

import base64

from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.validation import (
    config_key_errors,
    forbidden,
    invalid,
    key_path,
    too_long,
    validate_object_meta,
)

MAX_CONFIGMAP_SIZE = 1024 * 1024


class ConfigMapStrategy(Strategy):
    """``strategy`` of ``pkg/registry/core/configmap``: plain data, no generation."""

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        causes = validate_object_meta(obj, info)
        data = obj.get("data") or {}
        binary = obj.get("binaryData") or {}
        total = 0
        for key in sorted(data):
            path = key_path("data", key)
            causes += [invalid(path, key, e) for e in config_key_errors(key)]
            if key in binary:
                causes.append(invalid(path, key, "duplicate of key present in binaryData"))
            total += len(str(data[key] or "").encode())
        for key in sorted(binary):
            causes += [invalid(key_path("binaryData", key), key, e)
                       for e in config_key_errors(key)]
            try:
                total += len(base64.b64decode(binary[key] or ""))
            except ValueError:
                total += len(str(binary[key]))
        if total > MAX_CONFIGMAP_SIZE:
            causes.append(too_long("", MAX_CONFIGMAP_SIZE))
        return causes

    def validate_update(self, obj: Obj, old: Obj, info: KindInfo) -> list[Cause]:
        causes = self.validate(obj, info)
        if old.get("immutable"):
            if not obj.get("immutable"):
                causes.append(forbidden("immutable", "field is immutable when `immutable` is set"))
            if obj.get("data") != old.get("data"):
                causes.append(forbidden("data", "field is immutable when `immutable` is set"))
            if obj.get("binaryData") != old.get("binaryData"):
                causes.append(forbidden("binaryData",
                                        "field is immutable when `immutable` is set"))
        return causes


register("v1", "ConfigMap", ConfigMapStrategy())
