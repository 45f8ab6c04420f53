"""Resource quantities and pod requests, as the scheduler counts them.

``parse_quantity`` reads the Kubernetes quantity syntax (``apimachinery/pkg/api/resource``:
decimal SI ``m k M G T P E``, binary ``Ki Mi Gi Ti Pi Ei``, exponents ``1e3``) into exact
fractions. ``pod_requests`` mirrors ``k8s.io/component-helpers/resource``'s
``PodRequests``: the sum over containers, at least the largest init container (restartable
"sidecar" init containers add to the sum), plus ``spec.overhead``. Scoring uses the
scheduler's non-zero defaults (``pkg/scheduler/util``: 100m CPU, 200Mi memory) for
containers that request nothing, exactly as upstream does.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import Any

from kubelab.sandbox.api import quantity

Obj = dict[str, Any]

DEFAULT_MILLI_CPU_REQUEST = Fraction(1, 10)
DEFAULT_MEMORY_REQUEST = Fraction(200 * 2**20)
#: The resources the scheduler's fit filter compares (extended resources are out of scope).
FIT_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def parse_quantity(value: object) -> Fraction:
    """``"100m"`` → 1/10, ``"1Gi"`` → 1073741824; raise ValueError on a malformed quantity."""
    if isinstance(value, int | float):
        return Fraction(value)
    return _parse_text(str(value).strip())


@functools.lru_cache(maxsize=4096)
def _parse_text(text: str) -> Fraction:
    # Clusters repeat a handful of quantities ("100m", "100Mi"): parse each once, with the
    # API's own exact parser (the one validation uses), so both agree on every quantity.
    return quantity.parse_quantity(text)


def _container_requests(container: Obj) -> dict[str, Fraction]:
    resources = container.get("resources") or {}
    requests = dict(resources.get("limits") or {})
    requests.update(resources.get("requests") or {})
    out: dict[str, Fraction] = {}
    for name, value in requests.items():
        try:
            out[name] = parse_quantity(value)
        except ValueError:
            continue
    return out


def _add(total: dict[str, Fraction], more: dict[str, Fraction]) -> None:
    for name, value in more.items():
        total[name] = total.get(name, Fraction(0)) + value


_REQUESTS_CACHE: dict[tuple[str, str, bool], dict[str, Fraction]] = {}
_MILLI_CACHE: dict[tuple[str, str, bool], dict[str, int]] = {}


def to_milli(value: Fraction) -> int:
    """``Quantity.MilliValue()``: the scheduler's int64 arithmetic, rounding up."""
    return math.ceil(value * 1000)


def pod_requests_milli(pod: Obj, *, non_zero: bool = False) -> dict[str, int]:
    """:func:`pod_requests` in integer milli-units, as the scheduler's framework keeps them
    (``Resource.MilliCPU``, every resource times 1000 here), cached per pod version."""
    meta = pod.get("metadata") or {}
    key = (str(meta.get("uid", "")), str(meta.get("resourceVersion", "")), non_zero)
    cached = _MILLI_CACHE.get(key) if key[0] and key[1] else None
    if cached is None:
        cached = {k: to_milli(v) for k, v in pod_requests(pod, non_zero=non_zero).items()}
        if key[0] and key[1]:
            if len(_MILLI_CACHE) > 50_000:
                _MILLI_CACHE.clear()
            _MILLI_CACHE[key] = cached
    return cached


def pod_requests(pod: Obj, *, non_zero: bool = False) -> dict[str, Fraction]:
    """The pod's effective requests (``non_zero``: scoring defaults for unset cpu/memory).

    Cached by (uid, resourceVersion): a pod's spec never changes without a new version, and
    the scheduler asks for every pod's requests on every decision. Callers must not mutate
    the returned dict.
    """
    meta = pod.get("metadata") or {}
    key = (str(meta.get("uid", "")), str(meta.get("resourceVersion", "")), non_zero)
    if key[0] and key[1]:
        cached = _REQUESTS_CACHE.get(key)
        if cached is None:
            if len(_REQUESTS_CACHE) > 50_000:
                _REQUESTS_CACHE.clear()
            cached = _REQUESTS_CACHE[key] = _compute_requests(pod, non_zero)
        return cached
    return _compute_requests(pod, non_zero)


def _compute_requests(pod: Obj, non_zero: bool) -> dict[str, Fraction]:
    spec = pod.get("spec") or {}
    total: dict[str, Fraction] = {}
    for container in spec.get("containers") or []:
        requests = _container_requests(container)
        if non_zero:
            requests.setdefault("cpu", DEFAULT_MILLI_CPU_REQUEST)
            requests.setdefault("memory", DEFAULT_MEMORY_REQUEST)
        _add(total, requests)
    sidecars: dict[str, Fraction] = {}
    init_peak: dict[str, Fraction] = {}
    for init in spec.get("initContainers") or []:
        requests = _container_requests(init)
        if init.get("restartPolicy") == "Always":
            _add(sidecars, requests)
            continue
        for name, value in requests.items():
            running = value + sidecars.get(name, Fraction(0))
            init_peak[name] = max(init_peak.get(name, Fraction(0)), running)
    _add(total, sidecars)
    for name, value in init_peak.items():
        total[name] = max(total.get(name, Fraction(0)), value)
    for name, value in (spec.get("overhead") or {}).items():
        _add(total, {name: parse_quantity(value)})
    return total
