"""Fencepost arithmetic, hashes, revision annotations and availability (deployment_util)."""

from __future__ import annotations

import pytest

from kubelab.sandbox.clock import ManualClock, rfc3339
from kubelab.sandbox.controllers import common
from kubelab.sandbox.controllers import deployment_util as du


@pytest.mark.parametrize(("surge", "unavailable", "replicas", "expected"), [
    ("25%", "25%", 3, (1, 0)),
    ("25%", "25%", 4, (1, 1)),
    ("25%", "25%", 10, (3, 2)),
    ("25%", "25%", 1, (1, 0)),
    ("25%", "25%", 0, (0, 1)),        # both zero → unavailable 1
    (1, 1, 3, (1, 1)),               # the workshop's kdemo
    (0, 0, 5, (0, 1)),               # ints, both zero → unavailable 1
    ("0%", "0%", 5, (0, 1)),
    ("50%", "50%", 3, (2, 1)),        # 1.5 → surge up to 2, unavailable down to 1
    ("10%", "10%", 9, (1, 0)),        # 0.9: up → 1, down → 0
    ("100%", "0%", 7, (7, 0)),
    (2, "30%", 10, (2, 3)),
    ("33%", "33%", 10, (4, 3)),
], ids=lambda v: str(v))
def test_resolve_fenceposts(surge: object, unavailable: object, replicas: int,
                            expected: tuple[int, int]) -> None:
    """maxSurge rounds up, maxUnavailable rounds down, and both-zero means unavailable 1."""
    assert du.resolve_fenceposts(surge, unavailable, replicas) == expected  # type: ignore[arg-type]


def test_resolve_fenceposts_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        du.resolve_fenceposts("lots", 1, 3)


def _deploy(replicas: int, surge: object, unavailable: object, strategy: str = "RollingUpdate"
            ) -> dict:
    return {"spec": {"replicas": replicas, "strategy": {
        "type": strategy, "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}}}


def test_max_unavailable_is_capped_by_replicas_and_zero_for_recreate() -> None:
    assert du.max_unavailable(_deploy(2, 0, 5)) == 2
    assert du.max_unavailable(_deploy(0, 1, 1)) == 0
    assert du.max_unavailable(_deploy(3, 1, 1, "Recreate")) == 0
    assert du.max_surge(_deploy(3, 1, 1, "Recreate")) == 0


@pytest.mark.parametrize(("replicas", "surge", "old", "new", "expected"), [
    (3, 1, [3], 0, 1),      # room for one extra pod
    (3, 1, [3], 1, 1),      # at the ceiling: stay
    (3, 1, [2], 1, 2),      # old scaled down → new may grow
    (3, 1, [], 0, 3),       # no old pods: jump straight to replicas
    (10, "25%", [10], 0, 3),
    (10, "25%", [8], 3, 5),
    (3, 0, [3], 0, 0),
])
def test_new_rs_new_replicas(replicas: int, surge: object, old: list[int], new: int,
                             expected: int) -> None:
    d = _deploy(replicas, surge, 1)
    olds = [{"spec": {"replicas": n}} for n in old]
    new_rs = {"spec": {"replicas": new}}
    assert du.new_rs_new_replicas(d, [*olds, new_rs], new_rs) == expected


def test_new_rs_new_replicas_recreate_is_full_size() -> None:
    d = _deploy(4, 1, 1, "Recreate")
    new_rs = {"spec": {"replicas": 0}}
    assert du.new_rs_new_replicas(d, [{"spec": {"replicas": 4}}, new_rs], new_rs) == 4


def test_round_half_away_from_zero() -> None:
    assert [du.round_half_away(v) for v in (0.5, 1.5, 2.5, -0.5, -2.5, 2.4)] == \
        [1, 2, 3, -1, -3, 2]


TEMPLATE = {"metadata": {"creationTimestamp": None, "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1"}]}}


def test_compute_hash_looks_like_upstream_and_is_stable() -> None:
    h = du.compute_hash(TEMPLATE)
    assert h == du.compute_hash({**TEMPLATE})
    assert 1 <= len(h) <= 10
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert set(h) <= set("456789bcdf")  # decimal digits map into this subset
    other = {**TEMPLATE, "spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}
    assert du.compute_hash(other) != h
    assert du.compute_hash(TEMPLATE, 1) != h
    assert du.compute_hash(TEMPLATE, 1) != du.compute_hash(TEMPLATE, 2)


def test_safe_encode_maps_digits_like_upstream() -> None:
    assert du.safe_encode("0123456789") == "456789bcdf"


def test_fnv32a_known_vectors() -> None:
    assert du.fnv32a(b"") == 0x811C9DC5
    assert du.fnv32a(b"a") == 0xE40C292C


def test_equal_ignore_hash() -> None:
    with_hash = {"metadata": {"labels": {"app": "web", "pod-template-hash": "abc"}},
                 "spec": TEMPLATE["spec"]}
    assert du.equal_ignore_hash(TEMPLATE, with_hash)
    changed = {"metadata": {"labels": {"app": "web"}},
               "spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}
    assert not du.equal_ignore_hash(TEMPLATE, changed)
    relabelled = {"metadata": {"labels": {"app": "other"}}, "spec": TEMPLATE["spec"]}
    assert not du.equal_ignore_hash(TEMPLATE, relabelled)


def test_revision_bump_records_history() -> None:
    """An old RS that becomes new again gets max+1 and remembers its old number."""
    d = {"metadata": {"annotations": {"kubernetes.io/change-cause": "v1",
                                      du.LAST_APPLIED_ANNOTATION: "{}"}},
         "spec": {"replicas": 3}}
    rs = {"metadata": {"annotations": {du.REVISION_ANNOTATION: "1"}}}
    assert du.set_new_replica_set_annotations(d, rs, 3, True)
    ann = rs["metadata"]["annotations"]
    assert ann[du.REVISION_ANNOTATION] == "3"
    assert ann[du.REVISION_HISTORY_ANNOTATION] == "1"
    assert ann["kubernetes.io/change-cause"] == "v1"
    assert du.LAST_APPLIED_ANNOTATION not in ann
    assert du.DESIRED_REPLICAS_ANNOTATION not in ann  # only set on creation
    assert du.set_new_replica_set_annotations(d, rs, 5, True)
    assert ann[du.REVISION_HISTORY_ANNOTATION] == "1,3"
    assert not du.set_new_replica_set_annotations(d, rs, 4, True)  # never lowered


def test_new_rs_annotations_on_creation() -> None:
    d = {"metadata": {}, "spec": {"replicas": 10, "strategy": {"type": "RollingUpdate"}}}
    rs: dict = {"metadata": {}}
    du.set_new_replica_set_annotations(d, rs, 1, False)
    assert rs["metadata"]["annotations"] == {du.REVISION_ANNOTATION: "1",
                                             du.DESIRED_REPLICAS_ANNOTATION: "10",
                                             du.MAX_REPLICAS_ANNOTATION: "13"}


def test_is_pod_available_waits_strictly_more_than_min_ready_seconds() -> None:
    clock = ManualClock()
    pod = {"status": {"conditions": [{"type": "Ready", "status": "True",
                                      "lastTransitionTime": rfc3339(clock.now())}]}}
    assert du.is_pod_available(pod, 0, clock)
    assert not du.is_pod_available(pod, 30, clock)
    clock.advance(30)
    assert not du.is_pod_available(pod, 30, clock)
    assert common.available_in(pod, 30, clock) == pytest.approx(0.001)
    clock.advance(1)
    assert du.is_pod_available(pod, 30, clock)
    not_ready = {"status": {"conditions": [{"type": "Ready", "status": "False"}]}}
    assert not du.is_pod_available(not_ready, 0, clock)


def test_progress_deadline_defaults_and_unset() -> None:
    assert du.progress_deadline_seconds({"spec": {}}) == 600
    assert du.progress_deadline_seconds({"spec": {"progressDeadlineSeconds": 2**31 - 1}}) \
        is None
    assert du.revision_history_limit({"spec": {}}) == 10
