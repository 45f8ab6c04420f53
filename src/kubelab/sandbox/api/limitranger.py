"""The LimitRanger admission plugin: a namespace's LimitRanges applied to new pods.

Mirrors ``plugin/pkg/admission/limitranger/admission.go`` of kube-apiserver, as pure
functions of the pod and the namespace's LimitRanges:

* :func:`admit_pod` (``PodMutateLimitFunc``): a container (or init container) without a
  request or limit for a resource a ``Container`` item defaults gets ``defaultRequest`` /
  ``default``, and the pod the annotation ``kubernetes.io/limit-ranger`` saying what was
  set;
* :func:`validate_pod` (``PodValidateLimitFunc``): each container against a ``Container``
  item's ``min``, ``max`` and ``maxLimitRequestRatio``, the pod's summed requests and limits
  against a ``Pod`` item's; the first LimitRange with a violation refuses the pod with
  upstream's wording (``maximum cpu usage per Container is 500m, but limit is 1``), which
  the caller wraps in a 403 ``pods "x" is forbidden: …``;
* :func:`validate_claim` (``PersistentVolumeClaimValidateLimitFunc``): a claim's storage
  request against a ``PersistentVolumeClaim`` item.

Only creates are admitted (upstream skips pod updates: containers' resources are
immutable). The mutation runs before validation and the validation before ResourceQuota,
so a LimitRange's defaults satisfy a quota's "must specify limits.cpu".
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from kubelab.apimachinery import quantity
from kubelab.apimachinery.types import Obj

ANNOTATION = "kubernetes.io/limit-ranger"
CONTAINER, POD, CLAIM = "Container", "Pod", "PersistentVolumeClaim"


def _items(limit_range: Obj, limit_type: str) -> list[dict[str, Any]]:
    return [item for item in (limit_range.get("spec") or {}).get("limits") or []
            if isinstance(item, dict) and item.get("type") == limit_type]


def _q(value: Any) -> Fraction:
    return quantity.parse_quantity(str(value))


def _shown(value: Any) -> str:
    """``Quantity.String()``: the canonical form."""
    return quantity.canonicalize(str(value))


def default_requirements(limit_range: Obj) -> tuple[dict[str, str], dict[str, str]]:
    """``defaultContainerResourceRequirements``: (requests, limits) of Container items."""
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    for item in _items(limit_range, CONTAINER):
        requests.update(item.get("defaultRequest") or {})
        limits.update(item.get("default") or {})
    return requests, limits


def _merge_container(container: dict[str, Any], requests: dict[str, str],
                     limits: dict[str, str], what: str) -> list[str]:
    """``mergeContainerResources``: fill what is missing; say what was set."""
    resources = container.get("resources")
    if not isinstance(resources, dict):
        resources = container["resources"] = {}
    notes: list[str] = []
    set_requests = [k for k in requests if k not in (resources.get("requests") or {})]
    set_limits = [k for k in limits if k not in (resources.get("limits") or {})]
    if set_limits:
        resources["limits"] = {**(resources.get("limits") or {}),
                               **{k: limits[k] for k in set_limits}}
    if set_requests:
        resources["requests"] = {**(resources.get("requests") or {}),
                                 **{k: requests[k] for k in set_requests}}
    name = container.get("name", "")
    if set_requests:
        notes.append(f"{', '.join(sorted(set_requests))} request for {what} {name}")
    if set_limits:
        notes.append(f"{', '.join(sorted(set_limits))} limit for {what} {name}")
    return notes


def admit_pod(pod: Obj, limit_ranges: Iterable[Obj]) -> None:
    """Apply every LimitRange's container defaults to ``pod`` in place."""
    spec = pod.get("spec") or {}
    for limit_range in limit_ranges:
        requests, limits = default_requirements(limit_range)
        notes: list[str] = []
        for container in spec.get("containers") or []:
            if isinstance(container, dict):
                notes += _merge_container(container, requests, limits, "container")
        for container in spec.get("initContainers") or []:
            if isinstance(container, dict):
                notes += _merge_container(container, requests, limits, "init container")
        if notes:
            annotations = pod.setdefault("metadata", {}).setdefault("annotations", {})
            annotations[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)


def _min(kind: str, name: str, enforced: Any, requests: dict[str, Any],
         limits: dict[str, Any]) -> str | None:
    """``minConstraint``."""
    if name not in requests:
        return f"minimum {name} usage per {kind} is {_shown(enforced)}.  No request is specified"
    if _q(enforced) > _q(requests[name]):
        return (f"minimum {name} usage per {kind} is {_shown(enforced)}, but request is "
                f"{_shown(requests[name])}")
    if name in limits and _q(enforced) > _q(limits[name]):
        return (f"minimum {name} usage per {kind} is {_shown(enforced)}, but limit is "
                f"{_shown(limits[name])}")
    return None


def _max(kind: str, name: str, enforced: Any, requests: dict[str, Any],
         limits: dict[str, Any]) -> str | None:
    """``maxConstraint``."""
    if name not in limits:
        return f"maximum {name} usage per {kind} is {_shown(enforced)}.  No limit is specified"
    if _q(limits[name]) > _q(enforced):
        return (f"maximum {name} usage per {kind} is {_shown(enforced)}, but limit is "
                f"{_shown(limits[name])}")
    if name in requests and _q(requests[name]) > _q(enforced):
        return (f"maximum {name} usage per {kind} is {_shown(enforced)}, but request is "
                f"{_shown(requests[name])}")
    return None


def _max_request(kind: str, name: str, enforced: Any, requests: dict[str, Any]) -> str | None:
    """``maxRequestConstraint`` (claims: only requests count)."""
    if name not in requests:
        return f"maximum {name} usage per {kind} is {_shown(enforced)}.  No request is specified"
    if _q(requests[name]) > _q(enforced):
        return (f"maximum {name} usage per {kind} is {_shown(enforced)}, but request is "
                f"{_shown(requests[name])}")
    return None


def _ratio(kind: str, name: str, enforced: Any, requests: dict[str, Any],
           limits: dict[str, Any]) -> str | None:
    """``limitRequestRatioConstraint``; the ratio shown with six decimals."""
    head = f"{name} max limit to request ratio per {kind} is {_shown(enforced)}"
    if name not in requests or _q(requests[name]) == 0:
        return f"{head}, but no request is specified or request is 0"
    if name not in limits or _q(limits[name]) == 0:
        return f"{head}, but no limit is specified or limit is 0"
    request, limit = abs(_q(requests[name])), abs(_q(limits[name]))
    if limit > request * _q(enforced):
        return f"{head}, but provided ratio is {float(limit / request):.6f}"
    return None


def _check(kind: str, item: dict[str, Any], requests: dict[str, Any],
           limits: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    for name, enforced in sorted((item.get("min") or {}).items()):
        errors.append(_min(kind, name, enforced, requests, limits) or "")
    for name, enforced in sorted((item.get("max") or {}).items()):
        errors.append(_max(kind, name, enforced, requests, limits) or "")
    for name, enforced in sorted((item.get("maxLimitRequestRatio") or {}).items()):
        errors.append(_ratio(kind, name, enforced, requests, limits) or "")
    return [e for e in errors if e]


def _add(total: dict[str, Fraction], values: dict[str, Any],
         formats: dict[str, str] | None = None) -> None:
    """Sum into ``total``; ``formats`` keeps each sum's first format, as ``Quantity.Add``."""
    for name, value in values.items():
        amount, fmt = quantity.parse_quantity_format(str(value))
        total[name] = total.get(name, Fraction(0)) + amount
        if formats is not None:
            formats.setdefault(name, fmt)


def _pod_totals(spec: dict[str, Any], part: str) -> dict[str, str]:
    """``podRequests`` / ``podLimits``: containers summed, init containers as a floor
    (restartable init containers, sidecars, add up with the containers)."""
    total: dict[str, Fraction] = {}
    formats: dict[str, str] = {}
    for container in spec.get("containers") or []:
        _add(total, ((container or {}).get("resources") or {}).get(part) or {}, formats)
    sidecars: dict[str, Fraction] = {}
    init_floor: dict[str, Fraction] = {}
    for container in spec.get("initContainers") or []:
        values = ((container or {}).get("resources") or {}).get(part) or {}
        for name, value in values.items():
            formats.setdefault(name, quantity.parse_quantity_format(str(value))[1])
        if (container or {}).get("restartPolicy") == "Always":
            _add(total, values)
            _add(sidecars, values)
            current = dict(sidecars)
        else:
            current = dict(sidecars)
            _add(current, values)
        for name, value in current.items():
            init_floor[name] = max(init_floor.get(name, value), value)
    for name, value in init_floor.items():
        total[name] = max(total.get(name, value), value)
    return {name: quantity.format_quantity(value, formats.get(name, quantity.DECIMAL_SI))
            for name, value in total.items()}


def _aggregate(errors: list[str]) -> str | None:
    """``utilerrors.NewAggregate(errs).Error()``: one message, or ``[a, b]`` (duplicates
    dropped)."""
    unique = list(dict.fromkeys(errors))
    if not unique:
        return None
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def validate_pod(pod: Obj, limit_ranges: Iterable[Obj]) -> str | None:
    """Why the first LimitRange that refuses ``pod`` does, or None."""
    spec = pod.get("spec") or {}
    for limit_range in limit_ranges:
        errors: list[str] = []
        for item in (limit_range.get("spec") or {}).get("limits") or []:
            if not isinstance(item, dict):
                continue
            if item.get("type") == CONTAINER:
                for group in ("containers", "initContainers"):
                    for container in spec.get(group) or []:
                        resources = (container or {}).get("resources") or {}
                        errors += _check(CONTAINER, item, resources.get("requests") or {},
                                         resources.get("limits") or {})
            elif item.get("type") == POD:
                errors += _check(POD, item, _pod_totals(spec, "requests"),
                                 _pod_totals(spec, "limits"))
        why = _aggregate(errors)
        if why is not None:
            return why
    return None


def validate_claim(claim: Obj, limit_ranges: Iterable[Obj]) -> str | None:
    """Why the first LimitRange that refuses a PersistentVolumeClaim does, or None."""
    requests = (((claim.get("spec") or {}).get("resources") or {}).get("requests") or {})
    for limit_range in limit_ranges:
        errors: list[str] = []
        for item in _items(limit_range, CLAIM):
            for name, enforced in sorted((item.get("min") or {}).items()):
                errors.append(_min(CLAIM, name, enforced, requests, {}) or "")
            for name, enforced in sorted((item.get("max") or {}).items()):
                errors.append(_max_request(CLAIM, name, enforced, requests) or "")
        why = _aggregate([e for e in errors if e])
        if why is not None:
            return why
    return None
