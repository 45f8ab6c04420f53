"""A pod's effective resource requests, as kube-scheduler counts them.

Mirrors ``PodRequests`` in ``k8s.io/component-helpers/resource`` (the function the
scheduler's ``NodeResourcesFit``, the kubelet's admission and ``kubectl describe node`` all
use): the sum over the regular containers; restartable init containers ("sidecars",
``restartPolicy: Always``) add to that sum, because they keep running beside the app; every
other init container runs alone (with the sidecars started before it), so the pod needs at
least the largest such peak; ``spec.overhead`` is added on top. A pod with a 200m app
container and a 100m sidecar therefore requests 300m, not 200m.

Units: every resource is an integer number of *thousandths of its unit*, the result of
``Quantity.MilliValue()`` (rounded up): cpu in millicores (``"250m"`` → 250, ``"1"`` → 1000),
memory and ephemeral-storage in thousandths of a byte (``"1Ki"`` → 1024000). One integer
arithmetic then covers every resource exactly, the way the scheduler's framework keeps
``MilliCPU``; divide by 1000 for bytes or cores (:func:`milli_to_units`).

``non_zero`` applies the scheduler's scoring defaults (``pkg/scheduler/util``'s
``DefaultMilliCPURequest`` 100m and ``DefaultMemoryRequest`` 200Mi) to containers that request
no cpu or memory, as ``NodeResourcesFit`` scoring and ``BalancedAllocation`` do. A container
with a limit and no request counts its limit, as API defaulting would have set it.
"""

from __future__ import annotations

import functools
import math
from decimal import Decimal
from fractions import Fraction

from kubelab.apimachinery import quantity
from kubelab.apimachinery.types import ObjView

#: ``DefaultMilliCPURequest``: 100m.
DEFAULT_MILLI_CPU_REQUEST = 100
#: ``DefaultMemoryRequest``: 200Mi, in thousandths of a byte.
DEFAULT_MEMORY_REQUEST_MILLI = 200 * 2**20 * 1000
#: The resources the scheduler's fit filter compares (extended resources are out of scope).
FIT_RESOURCES = ("cpu", "memory", "ephemeral-storage")

_CACHE_LIMIT = 50_000
_CACHE: dict[tuple[str, str, bool], dict[str, int]] = {}


def parse_quantity(value: object) -> Fraction:
    """``"100m"`` → 1/10, ``"1Gi"`` → 1073741824 exactly; raise ValueError if malformed."""
    if isinstance(value, int | float):
        return Fraction(value)
    return _parse_text(str(value).strip())


@functools.lru_cache(maxsize=4096)
def _parse_text(text: str) -> Fraction:
    # Clusters repeat a handful of quantities ("100m", "128Mi"): parse each once.
    return quantity.parse_quantity(text)


def to_milli(value: Fraction) -> int:
    """``Quantity.MilliValue()``: thousandths of the unit, rounded up."""
    return math.ceil(value * 1000)


def milli_value(value: object) -> int:
    """A quantity's ``MilliValue()``; raise ValueError if it is malformed."""
    if isinstance(value, str):
        return _milli_of_text(value)
    return to_milli(parse_quantity(value))


@functools.lru_cache(maxsize=4096)
def _milli_of_text(text: str) -> int:
    """Parsed once per distinct text: a cluster's pods repeat a handful of quantities
    (``100m``, ``128Mi``), and the exact arithmetic (fractions) dominated summing requests."""
    return to_milli(parse_quantity(text))


def milli_to_units(milli: int) -> Decimal:
    """Back from thousandths to the unit (cores, bytes), exactly: 250 → ``Decimal("0.25")``."""
    return Decimal(milli) / 1000


def container_requests(container: ObjView) -> dict[str, int]:
    """One container's requests (its limits where a request is unset), malformed ones skipped."""
    resources = container.get("resources") or {}
    wanted = dict(resources.get("limits") or {})
    wanted.update(resources.get("requests") or {})
    out: dict[str, int] = {}
    for name, value in wanted.items():
        try:
            out[name] = milli_value(value)
        except ValueError:
            continue
    return out


def _add(total: dict[str, int], more: dict[str, int]) -> None:
    for name, value in more.items():
        total[name] = total.get(name, 0) + value


def compute_pod_requests(pod: ObjView, *, non_zero: bool = False) -> dict[str, int]:
    """:func:`pod_requests` without the per-version cache (a fresh dict, the caller's to keep)."""
    spec = pod.get("spec") or {}
    total: dict[str, int] = {}
    for container in spec.get("containers") or []:
        requests = container_requests(container)
        if non_zero:
            requests.setdefault("cpu", DEFAULT_MILLI_CPU_REQUEST)
            requests.setdefault("memory", DEFAULT_MEMORY_REQUEST_MILLI)
        _add(total, requests)
    sidecars: dict[str, int] = {}
    init_peak: dict[str, int] = {}
    for init in spec.get("initContainers") or []:
        requests = container_requests(init)
        if init.get("restartPolicy") == "Always":
            _add(sidecars, requests)
            continue
        for name, value in requests.items():
            running = value + sidecars.get(name, 0)
            init_peak[name] = max(init_peak.get(name, 0), running)
    _add(total, sidecars)
    for name, value in init_peak.items():
        total[name] = max(total.get(name, 0), value)
    for name, value in (spec.get("overhead") or {}).items():
        try:
            _add(total, {name: milli_value(value)})
        except ValueError:
            continue
    return total


def pod_requests(pod: ObjView, *, non_zero: bool = False) -> dict[str, int]:
    """The pod's effective requests in thousandths of each unit (see the module docstring).

    Cached by (uid, resourceVersion): a stored pod's spec never changes without a new
    version, and the scheduler asks for every pod's requests on every decision. The result
    is shared: callers must not mutate it (copy it, or use :func:`compute_pod_requests`).
    """
    meta = pod.get("metadata") or {}
    uid, version = str(meta.get("uid") or ""), str(meta.get("resourceVersion") or "")
    if not (uid and version):
        return compute_pod_requests(pod, non_zero=non_zero)
    key = (uid, version, non_zero)
    cached = _CACHE.get(key)
    if cached is None:
        if len(_CACHE) > _CACHE_LIMIT:
            _CACHE.clear()
        cached = _CACHE[key] = compute_pod_requests(pod, non_zero=non_zero)
    return cached
