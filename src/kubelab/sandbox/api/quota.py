"""ResourceQuota usage: what each object costs, what a namespace uses, whether a create fits.

Mirrors ``pkg/quota/v1/evaluator/core`` (the pod, service and object-count evaluators) and the
check of ``plugin/pkg/admission/resourcequota`` (``CheckRequest``): a pod costs ``pods=1`` plus
its ``requests.*``/``limits.*`` (and ``cpu``/``memory`` as aliases of the requests); a Service
costs ``services=1`` (plus ``services.loadbalancers``/``services.nodeports``); any object costs
``count/<resource>[.<group>]``, and the legacy names ``configmaps``, ``secrets``,
``replicationcontrollers``, ``resourcequotas``, ``persistentvolumeclaims``.

Pure functions over plain objects: the API server's admission step and the quota controller
(which writes ``status.used``) share them, so what is admitted and what is reported agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from kubelab.apimachinery import quantity
from kubelab.apimachinery.types import Obj
from kubelab.sandbox.api.kinds import KindInfo

Usage = dict[str, Fraction]

_LEGACY_COUNTS = {"configmaps": "configmaps", "secrets": "secrets",
                  "resourcequotas": "resourcequotas",
                  "replicationcontrollers": "replicationcontrollers",
                  "persistentvolumeclaims": "persistentvolumeclaims"}
_COMPUTE = ("cpu", "memory", "ephemeral-storage")


def _terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def _container_resources(pod: Obj, kind: str) -> Usage:
    """Σ containers, at least the largest init container (``PodRequests``/``PodLimits``)."""
    spec = pod.get("spec") or {}
    total: Usage = {}
    for container in spec.get("containers") or []:
        for name, value in ((container.get("resources") or {}).get(kind) or {}).items():
            total[name] = total.get(name, Fraction(0)) + _parse(value)
    for init in spec.get("initContainers") or []:
        for name, value in ((init.get("resources") or {}).get(kind) or {}).items():
            total[name] = max(total.get(name, Fraction(0)), _parse(value))
    return total


def _parse(value: Any) -> Fraction:
    try:
        return quantity.parse_quantity(str(value))
    except ValueError:
        return Fraction(0)


def usage_of(info: KindInfo, obj: Obj) -> Usage:
    """What one object counts against quotas (``Evaluator.Usage``)."""
    resource = info.plural if not info.group else f"{info.plural}.{info.group}"
    used: Usage = {f"count/{resource}": Fraction(1)}
    if info.plural in _LEGACY_COUNTS and not info.group:
        used[_LEGACY_COUNTS[info.plural]] = Fraction(1)
    if info.kind == "Pod" and not info.group:
        if _terminal(obj):
            return {}
        used["pods"] = Fraction(1)
        requests = _container_resources(obj, "requests")
        limits = _container_resources(obj, "limits")
        for name in _COMPUTE:
            request = requests.get(name, limits.get(name))
            if request is not None:
                used[f"requests.{name}"] = request
                used[name] = request
            if name in limits:
                used[f"limits.{name}"] = limits[name]
    if info.kind == "Service" and not info.group:
        used["services"] = Fraction(1)
        kind = (obj.get("spec") or {}).get("type", "ClusterIP")
        ports = len((obj.get("spec") or {}).get("ports") or [])
        if kind == "LoadBalancer":
            used["services.loadbalancers"] = Fraction(1)
        if kind in ("NodePort", "LoadBalancer"):
            used["services.nodeports"] = Fraction(ports)
    return used


def namespace_usage(objects: Iterable[tuple[KindInfo, Obj]], tracked: Iterable[str]) -> Usage:
    """Σ usage of ``objects`` for the ``tracked`` resource names (zero when unused)."""
    wanted = set(tracked)
    total: Usage = {name: Fraction(0) for name in wanted}
    for info, obj in objects:
        if (obj.get("metadata") or {}).get("deletionTimestamp") and info.kind == "Pod":
            continue
        for name, value in usage_of(info, obj).items():
            if name in wanted:
                total[name] += value
    return total


def format_value(name: str, value: Fraction) -> str:
    """``500m``, ``1Gi``, ``4``: quantities as kubectl prints them."""
    if name in ("cpu", "requests.cpu", "limits.cpu"):
        return quantity.format_quantity(value, "DecimalSI")
    if any(name.endswith(s) for s in ("memory", "ephemeral-storage")):
        return quantity.format_quantity(value, "BinarySI")
    return quantity.format_quantity(value, "DecimalSI")


def _pretty(usage: Mapping[str, Fraction], names: Iterable[str]) -> str:
    return ",".join(f"{n}={format_value(n, usage.get(n, Fraction(0)))}" for n in sorted(names))


#: The resources whose quota obliges every container to state them (``validationSet`` in
#: ``pkg/quota/v1/evaluator/core/pods.go``: a backward-compatibility rule for cpu and memory
#: only, not ephemeral-storage or extended resources).
MUST_SPECIFY = frozenset({"cpu", "memory", "requests.cpu", "requests.memory",
                          "limits.cpu", "limits.memory"})


def _stated(container: Obj) -> set[str]:
    """The compute names a container's own resources count for (``podComputeUsageHelper``).
    A limit without a request counts as the request too: API defaulting has copied it."""
    resources = container.get("resources") or {}
    requests = resources.get("requests") or {}
    limits = resources.get("limits") or {}
    stated: set[str] = set()
    for name in ("cpu", "memory"):
        if name in requests or name in limits:
            stated |= {name, f"requests.{name}"}
        if name in limits:
            stated.add(f"limits.{name}")
    return stated


def missing_resources(info: KindInfo, obj: Obj, hard: Iterable[str]) -> list[str]:
    """``<resource> for: <containers>`` for each cpu/memory name a quota tracks that some
    container (init containers too) does not state, sorted as upstream's string sets are
    (the pod evaluator's ``Constraints``)."""
    if info.kind != "Pod" or info.group:
        return []
    required = MUST_SPECIFY.intersection(hard)
    spec = obj.get("spec") or {}
    lacking: dict[str, set[str]] = {}
    for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        for name in required - _stated(container):
            lacking.setdefault(name, set()).add(str(container.get("name", "")))
    return [f"{name} for: {','.join(sorted(lacking[name]))}" for name in sorted(lacking)]


def constraints(quota: Obj, info: KindInfo, obj: Obj) -> str | None:
    """``failed quota: <name>: must specify …`` when ``obj`` leaves out what ``quota``
    obliges it to state; checked for every quota before any usage is compared, as the
    admission plugin's ``CheckRequest`` does."""
    hard = (quota.get("spec") or {}).get("hard") or {}
    missing = missing_resources(info, obj, hard)
    if not missing:
        return None
    name = (quota.get("metadata") or {}).get("name", "")
    return f"failed quota: {name}: must specify {'; '.join(missing)}"


def check(quota: Obj, info: KindInfo, obj: Obj, used: Usage) -> str | None:
    """Why ``obj`` may not be created under ``quota`` given current ``used``; None if it fits.

    The message is the admission plugin's, without the ``<kind> "<name>" is forbidden: ``
    prefix the API server adds.
    """
    name = (quota.get("metadata") or {}).get("name", "")
    hard_spec = (quota.get("spec") or {}).get("hard") or {}
    hard = {k: _parse(v) for k, v in hard_spec.items()}
    failed = constraints(quota, info, obj)
    if failed is not None:
        return failed
    delta = usage_of(info, obj)
    if not any(k in hard for k in delta):
        return None
    exceeded = [k for k, v in delta.items()
                if k in hard and used.get(k, Fraction(0)) + v > hard[k]]
    if not exceeded:
        return None
    return (f"exceeded quota: {name}, requested: {_pretty(delta, exceeded)}, "
            f"used: {_pretty(used, exceeded)}, limited: {_pretty(hard, exceeded)}")
