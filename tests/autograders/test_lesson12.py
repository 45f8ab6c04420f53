"""Lesson 12 probes against a fake cluster: the claim's first STATUS follows its class's binding
mode, predictions compare as words, claims are Bound or say what they are."""

from __future__ import annotations

from typing import Any

from autograders.engine import NOT_ANSWERED, evaluate_once
from autograders.lessons import lesson12

from .fakes import context

DEFAULT = {"storageclass.kubernetes.io/is-default-class": "true"}


def storage_class(name: str, mode: str | None, *, default: bool = False) -> dict[str, Any]:
    sc: dict[str, Any] = {"metadata": {"name": name, "annotations": DEFAULT if default else {}}}
    if mode is not None:
        sc["volumeBindingMode"] = mode
    return sc


def claim(name: str = "notes", *, klass: str | None = None, phase: str = "Pending",
          deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    spec = {"storageClassName": klass} if klass else {}
    return {"metadata": meta, "spec": spec, "status": {"phase": phase}}


def classes(*items: dict[str, Any]) -> dict[tuple[str, Any, str], Any]:
    return {("storageclass", None, sc["metadata"]["name"]): sc for sc in items}


def test_first_status_follows_the_binding_mode_of_the_claims_class() -> None:
    kind = classes(storage_class("standard", "WaitForFirstConsumer", default=True))
    assert lesson12.first_status(context(kind)) == "Pending"
    # minikube's standard binds at once; a class without the field is Immediate.
    minikube = classes(storage_class("standard", "Immediate", default=True))
    assert lesson12.first_status(context(minikube)) == "Bound"
    assert lesson12.first_status(context(classes(
        storage_class("standard", None, default=True)))) == "Bound"
    # The claim's own class wins over the default; no class at all leaves it Pending.
    both = classes(storage_class("standard", "WaitForFirstConsumer", default=True),
                   storage_class("fast", "Immediate"))
    assert lesson12.first_status(context(
        {**both, ("persistentvolumeclaim", "default", "notes"): claim(klass="fast")})) == "Bound"
    assert lesson12.first_status(context(classes(
        storage_class("fast", "Immediate")))) == "Pending"


def test_prediction_compares_words_and_names_a_wrong_one() -> None:
    [check] = [c for c in lesson12.claim() if c.description.startswith("predicted_status")]
    kind = classes(storage_class("standard", "WaitForFirstConsumer", default=True))
    assert check.probe(context(kind, {"predicted_status": " pending "})).passed
    wrong = check.probe(context(kind, {"predicted_status": "Bound"}))
    assert not wrong.passed and wrong.settled and wrong.found == "predicted_status is 'Bound'"
    [blank_result] = evaluate_once([(check, False)], context(kind, {"predicted_status": ...}))
    blank = blank_result.outcome
    assert blank.missing and NOT_ANSWERED in blank.found
    [scale] = [c for c in lesson12.scale() if c.description.startswith("claims_after")]
    assert scale.probe(context({}, {"claims_after_scale_down": 2})).passed
    assert scale.probe(context({}, {"claims_after_scale_down": "2"})).passed
    assert scale.probe(context({}, {"claims_after_scale_down": 1})).found == \
        "claims_after_scale_down is 1"


def test_claim_bound_waits_for_binding_and_says_what_it_found() -> None:
    check = lesson12.claim_bound("notes", hint=("a", "b", "c"))
    missing = check.probe(context({}))
    assert missing.missing and missing.found == "there is no persistentvolumeclaim notes"
    pending = check.probe(context({("persistentvolumeclaim", "default", "notes"): claim()}))
    assert not pending.passed and not pending.settled and pending.found == "claim notes is Pending"
    assert check.probe(context({("persistentvolumeclaim", "default", "notes"):
                                claim(phase="Bound")})).passed
    going = check.probe(context({("persistentvolumeclaim", "default", "notes"):
                                 claim(phase="Bound", deleting=True)}))
    assert not going.passed and going.settled


def test_web0_ip_is_the_pods_own_address() -> None:
    pod = {"metadata": {"name": "web-0"}, "status": {"podIP": "10.244.2.7"}}
    assert lesson12.web0_ip(context({("pod", "default", "web-0"): pod})) == "10.244.2.7"
    assert lesson12.web0_ip(context({})) is None


def test_each_pod_mounts_its_own_claim() -> None:
    check = lesson12.own_claims()

    def web(ordinal: int, claim_name: str) -> dict[str, Any]:
        return {"metadata": {"name": f"web-{ordinal}"}, "spec": {"volumes": [
            {"name": "www", "persistentVolumeClaim": {"claimName": claim_name}},
            {"name": "kube-api-access-x", "projected": {}}]}}

    own = {("pod", "default", f"web-{i}"): web(i, f"www-web-{i}") for i in (0, 1)}
    assert check.probe(context(own)).passed
    shared = {**own, ("pod", "default", "web-1"): web(1, "www-web-0")}
    outcome = check.probe(context(shared))
    assert not outcome.passed and outcome.found == "pod web-1 mounts www-web-0"
    assert check.probe(context({})).missing


def test_the_mount_path_is_checked_in_the_self_check() -> None:
    [check] = [c for c in lesson12.statefulset() if "mounted where nginx" in c.description]
    sts = {"spec": {"template": {"spec": {"containers": [{"name": "nginx", "volumeMounts": [
        {"name": "www", "mountPath": "/data"}]}]}}}}
    outcome = check.probe(context({("statefulset", "default", "web"): sts}))
    assert not outcome.passed and "volumeMounts[www].mountPath is '/data'" in outcome.found
    sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0]["mountPath"] = \
        "/usr/share/nginx/html"
    assert check.probe(context({("statefulset", "default", "web"): sts})).passed
