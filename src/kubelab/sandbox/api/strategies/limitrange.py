"""v1 LimitRanges: defaulting and validation with upstream wording.

Mirrors ``SetDefaults_LimitRangeItem`` in ``pkg/apis/core/v1/defaults.go`` (a Container item
gets ``default`` from ``max`` and ``defaultRequest`` from ``default``, else from ``min``),
``ValidateLimitRange`` in ``pkg/apis/core/validation/validation.go`` (resource names per
type, one item per type, min <= defaultRequest <= default <= max, ratios of at least 1 and
at most max/min, no defaults for the ``Pod`` type, storage bounds for claims) and
``pkg/registry/core/limitrange/strategy.go`` (no status; all of it is spec). What a
LimitRange does to pods is the LimitRanger admission plugin's, in
:mod:`kubelab.sandbox.api.limitranger`.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from kubelab.apimachinery import quantity
from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.strategies.pod import STANDARD_CONTAINER_RESOURCES, canonical_resource_list
from kubelab.sandbox.api.validation import (
    duplicate,
    forbidden,
    invalid,
    qualified_name_errors,
    required,
    validate_object_meta,
)

CONTAINER, POD, CLAIM = "Container", "Pod", "PersistentVolumeClaim"
_FIELDS = ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio")
#: ``ValidateLimitRange``'s ordering rules, in its order: (the field that must not be
#: greater, the one it is compared with, the field the error names, the field whose value
#: it shows, the message).
_ORDERING = (
    ("min", "max", "min", "min", "min value {min} is greater than max value {max}"),
    ("min", "defaultRequest", "defaultRequest", "defaultRequest",
     "min value {min} is greater than default request value {defaultRequest}"),
    ("defaultRequest", "max", "defaultRequest", "defaultRequest",
     "default request value {defaultRequest} is greater than max value {max}"),
    ("defaultRequest", "default", "defaultRequest", "defaultRequest",
     "default request value {defaultRequest} is greater than default limit value {default}"),
    ("min", "default", "default", "min",
     "min value {min} is greater than default value {default}"),
    ("default", "max", "default", "max",
     "default value {default} is greater than max value {max}"),
)


def default_limit_range_item(item: dict[str, Any]) -> None:
    """``SetDefaults_LimitRangeItem``: only Container items get defaults."""
    if item.get("type") != CONTAINER:
        return
    default = dict(item.get("default") or {})
    default_request = dict(item.get("defaultRequest") or {})
    for key, value in (item.get("max") or {}).items():
        default.setdefault(key, value)
    for key, value in default.items():
        default_request.setdefault(key, value)
    for key, value in (item.get("min") or {}).items():
        default_request.setdefault(key, value)
    if default:
        item["default"] = default
    if default_request:
        item["defaultRequest"] = default_request


def _resource_name_errors(limit_type: str, name: str, path: str) -> list[Cause]:
    """``validateLimitRangeResourceName``: standard names per type, or an extended one."""
    causes = [invalid(path, name, e) for e in qualified_name_errors(name)]
    if causes or "/" in name:
        return causes
    if limit_type == CLAIM:
        if name != "storage":
            return [invalid(path, name, "must be a standard limit type or fully qualified")]
        return []
    if name not in STANDARD_CONTAINER_RESOURCES and not name.startswith("hugepages-"):
        return [invalid(path, name, "must be a standard limit type or fully qualified")]
    return []


def _parsed(values: Any) -> dict[str, Fraction]:
    out: dict[str, Fraction] = {}
    for key, value in (values or {}).items():
        try:
            out[key] = quantity.parse_quantity(str(value))
        except ValueError:
            continue
    return out


def validate_limit_range_item(item: dict[str, Any], path: str) -> list[Cause]:
    """The per-item checks of ``ValidateLimitRange``."""
    limit_type = str(item.get("type") or "")
    causes = [invalid(f"{path}.type", limit_type, e) for e in qualified_name_errors(limit_type)]
    for name in ("max", "min", "default", "defaultRequest"):
        for key in sorted(item.get(name) or {}):
            causes += _resource_name_errors(limit_type, key, f"{path}.{name}[{key}]")
    if limit_type == POD:
        if item.get("default"):
            causes.append(forbidden(f"{path}.default", "may not be specified when `type` is 'Pod'"))
        if item.get("defaultRequest"):
            causes.append(forbidden(f"{path}.defaultRequest",
                                    "may not be specified when `type` is 'Pod'"))
    else:
        for key in sorted(item.get("maxLimitRequestRatio") or {}):
            causes += _resource_name_errors(limit_type, key, f"{path}.maxLimitRequestRatio[{key}]")
    if limit_type == CLAIM and "storage" not in (item.get("min") or {}) \
            and "storage" not in (item.get("max") or {}):
        causes.append(required(f"{path}.limits", "either minimum or maximum storage value is "
                                                 "required, but neither was provided"))
    raw = {name: dict(item.get(name) or {}) for name in _FIELDS}
    if limit_type == POD:
        raw["maxLimitRequestRatio"] = {}
    values = {name: _parsed(raw[name]) for name in _FIELDS}
    lo, hi, ratio = values["min"], values["max"], values["maxLimitRequestRatio"]
    shown = {name: {k: quantity.canonicalize(str(v)) for k, v in raw[name].items()
                    if k in values[name]} for name in _FIELDS}
    keys = sorted(set().union(*(set(v) for v in values.values())))
    for key in keys:
        s = {name: shown[name].get(key, "") for name in _FIELDS}
        for lower, upper, field, shown_field, message in _ORDERING:
            small, large = values[lower], values[upper]
            if key in small and key in large and small[key] > large[key]:
                causes.append(invalid(f"{path}.{field}[{key}]", s[shown_field],
                                      message.format(**s)))
        if key in ratio and ratio[key] < 1:
            causes.append(invalid(f"{path}.maxLimitRequestRatio[{key}]",
                                  s["maxLimitRequestRatio"],
                                  f"ratio {s['maxLimitRequestRatio']} is less than 1"))
        if key in ratio and key in lo and key in hi and lo[key] > 0:
            bound = hi[key] / lo[key]
            if ratio[key] > bound:
                causes.append(invalid(f"{path}.maxLimitRequestRatio[{key}]",
                                      s["maxLimitRequestRatio"],
                                      f"ratio {s['maxLimitRequestRatio']} is greater than "
                                      f"max/min = {float(bound):f}"))
    return causes


class LimitRangeStrategy(Strategy):
    """``limitrangeStrategy``: no status, quantities stored in canonical form."""

    def default(self, obj: Obj) -> None:
        for item in (obj.get("spec") or {}).get("limits") or []:
            if not isinstance(item, dict):
                continue
            for name in _FIELDS:
                canonical_resource_list(item.get(name), "LimitRange")
            default_limit_range_item(item)

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        causes = validate_object_meta(obj, info)
        seen: set[str] = set()
        for i, item in enumerate((obj.get("spec") or {}).get("limits") or []):
            path = f"spec.limits[{i}]"
            item = item if isinstance(item, dict) else {}
            limit_type = str(item.get("type") or "")
            if limit_type in seen:
                causes.append(duplicate(f"{path}.type", limit_type))
            seen.add(limit_type)
            causes += validate_limit_range_item(item, path)
        return causes


register("v1", "LimitRange", LimitRangeStrategy())
