"""Pod requests as kube-scheduler counts them (``component-helpers/resource.PodRequests``)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from kubelab.apimachinery import resources


def _pod(*containers: dict[str, Any], init: tuple[dict[str, Any], ...] = (),
         overhead: dict[str, str] | None = None, uid: str = "", rv: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": list(containers)}
    if init:
        spec["initContainers"] = list(init)
    if overhead:
        spec["overhead"] = overhead
    meta = {"name": "p", "uid": uid, "resourceVersion": rv} if uid else {"name": "p"}
    return {"metadata": meta, "spec": spec}


def _c(name: str, restart: str | None = None, **requests: str) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "resources": {"requests": dict(requests)}}
    if restart:
        c["restartPolicy"] = restart
    return c


@pytest.mark.parametrize(("text", "value"), [
    ("100m", Fraction(1, 10)), ("1", Fraction(1)), ("1.5", Fraction(3, 2)),
    ("100Mi", Fraction(100 * 2**20)), ("1Gi", Fraction(2**30)), ("1k", Fraction(1000)),
    ("2832084Ki", Fraction(2832084 * 1024)), ("1e3", Fraction(1000)),
])
def test_parse_quantity(text: str, value: Fraction) -> None:
    assert resources.parse_quantity(text) == value


def test_parse_quantity_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        resources.parse_quantity("lots")


def test_units_are_thousandths_of_each_unit() -> None:
    assert resources.pod_requests(_pod(_c("a", cpu="250m", memory="1Ki"))) == {
        "cpu": 250, "memory": 1024 * 1000}
    assert resources.milli_to_units(250) == Decimal("0.25")


def test_the_largest_init_container_wins_over_a_smaller_sum() -> None:
    pod = _pod(_c("app", cpu="100m"),
               init=(_c("init", cpu="500m"), _c("small", cpu="50m", memory="1Gi")))
    assert resources.pod_requests(pod) == {"cpu": 500, "memory": 2**30 * 1000}


def test_a_sidecar_adds_to_the_containers_sum() -> None:
    # Upstream (PodRequests, and the "Resource sharing within containers" rules of the
    # sidecar containers documentation): a restartable init container runs beside the app
    # containers, so a 200m app with a 100m sidecar requests 300m. A count that takes the
    # maximum with every init container instead gives 200m, and a node with 250m free
    # would look able to take a pod the scheduler refuses.
    pod = _pod(_c("app", cpu="200m"), init=(_c("proxy", "Always", cpu="100m"),))
    assert resources.pod_requests(pod)["cpu"] == 300


def test_an_init_container_after_a_sidecar_runs_beside_it() -> None:
    pod = _pod(_c("app", cpu="100m"),
               init=(_c("proxy", "Always", cpu="100m"), _c("migrate", cpu="400m")))
    # The migration runs while the sidecar already runs: 500m peak beats the 200m steady sum.
    assert resources.pod_requests(pod)["cpu"] == 500


def test_overhead_is_added_on_top() -> None:
    pod = _pod(_c("a", cpu="100m", memory="64Mi"), _c("b", cpu="250m"),
               init=(_c("i", cpu="500m", memory="32Mi"),), overhead={"cpu": "10m"})
    assert resources.pod_requests(pod) == {"cpu": 510, "memory": 64 * 2**20 * 1000}


def test_limits_count_as_requests_when_requests_are_unset() -> None:
    pod = _pod({"name": "a", "resources": {"limits": {"cpu": "200m"}}})
    assert resources.pod_requests(pod) == {"cpu": 200}


def test_non_zero_defaults_fill_missing_cpu_and_memory_only() -> None:
    pod = _pod(_c("a"), _c("b", cpu="300m"))
    assert resources.pod_requests(pod) == {"cpu": 300}
    assert resources.pod_requests(pod, non_zero=True) == {
        "cpu": 400, "memory": 2 * resources.DEFAULT_MEMORY_REQUEST_MILLI}


def test_cached_per_uid_and_version() -> None:
    old = _pod(_c("a", cpu="100m"), uid="u1", rv="5")
    assert resources.pod_requests(old) == {"cpu": 100}
    new = _pod(_c("a", cpu="700m"), uid="u1", rv="6")
    assert resources.pod_requests(new) == {"cpu": 700}
    assert resources.pod_requests(old) is resources.pod_requests(old)


def test_malformed_quantities_are_skipped() -> None:
    assert resources.pod_requests(_pod(_c("a", cpu="lots", memory="1Mi"))) == {
        "memory": 2**20 * 1000}
