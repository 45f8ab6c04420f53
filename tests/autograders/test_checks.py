"""Declarative checks against a fake cluster: what passes, what fails, and the messages."""

from __future__ import annotations

import base64

from autograders import checks as k
from autograders.kube import Response, dig

from .fakes import context, deployment, pod


def run(check: k.Check, ctx: k.Context) -> k.Outcome:
    return check.probe(ctx)


def test_dig_follows_paths_names_types_and_escaped_dots() -> None:
    obj = deployment("web")
    assert dig(obj, "spec.template.spec.containers[0].image") == "nginx:1.27"
    assert dig(obj, "spec.template.spec.containers[c].image") == "nginx:1.27"
    assert dig(obj, "status.conditions[Available].status") == "True"
    assert dig(obj, "metadata.annotations.deployment\\.kubernetes\\.io/revision") == "2"
    assert dig(obj, "spec.template.spec.containers[5].image") is None
    assert dig(obj, "spec.nothing.here") is None


def test_field_reports_the_value_found() -> None:
    ctx = context({("deployment", "default", "web"): deployment("web", replicas=5)})
    assert run(k.field("deployment", "web", "spec.replicas", 5), ctx).passed
    out = run(k.field("deployment", "web", "spec.replicas", 2), ctx)
    assert not out.passed and out.settled and out.found == "spec.replicas is 5"


def test_missing_learner_object_is_marked_missing() -> None:
    out = run(k.exists("deployment", "web"), context({}))
    assert not out.passed and out.missing and out.found == "there is no deployment web"


def test_ready_replicas_waits_while_rolling_but_not_for_a_bad_image() -> None:
    rolling = deployment("web", replicas=3, ready=1)
    ctx = context({("deployment", "default", "web"): rolling})
    out = run(k.ready_replicas("web", 3), ctx)
    assert not out.passed and not out.settled
    stuck = context({("deployment", "default", "web"): rolling,
                     ("pod", "default", "p1"): pod("p1", {"app": "web"}, ready=False,
                                                   waiting="ImagePullBackOff")})
    out = run(k.ready_replicas("web", 3), stuck)
    assert out.settled and "ImagePullBackOff" in out.found
    wrong_spec = context({("deployment", "default", "web"): deployment("web", replicas=2,
                                                                       ready=2)})
    assert run(k.ready_replicas("web", 3), wrong_spec).settled


def test_pods_counts_only_matching_live_pods() -> None:
    labels = {"run": "x"}
    objects = {("pod", "default", f"p{i}"): pod(f"p{i}", labels, ready=i < 2) for i in range(3)}
    ctx = context(objects)
    assert run(k.pods("run=x", count=3), ctx).passed
    assert not run(k.pods("run=x", count=3, ready=True), ctx).passed
    assert run(k.pods("run=x", at_least=2, ready=True), ctx).passed
    assert run(k.pods("run=x", count=0, phase="Pending"), ctx).passed
    assert not run(k.pods("run=x", count=0, phase="Pending", owner="web"), ctx).passed


def test_labels_include_lists_the_labels_found() -> None:
    ctx = context({("deployment", "default", "web"): deployment("web", labels={"app": "web"})})
    out = run(k.labels_include("deployment", "web", {"run": "x"},
                               path="spec.template.metadata.labels"), ctx)
    assert not out.passed and out.found == "spec.template.metadata.labels has app=web"


def test_secret_value_decodes_base64() -> None:
    secret = {"metadata": {"name": "s"}, "data": {"user": base64.b64encode(b"steven").decode()}}
    ctx = context({("secret", "default", "s"): secret})
    assert run(k.secret_value("s", "user", "steven"), ctx).passed
    out = run(k.secret_value("s", "user", "bob"), ctx)
    assert out.found == "user decodes to 'steven'"
    assert "no key 'password'" in run(k.secret_value("s", "password", "x"), ctx).found


def test_serves_reads_through_the_service_proxy() -> None:
    objects = {("service", "default", "web"): {"metadata": {"name": "web"}}}
    ok_ctx = context(objects, pages={("web", "/"): Response(200, "Hello Kubernetes!")})
    assert run(k.serves("web", 80, contains="Hello"), ok_ctx).passed
    out = run(k.serves("web", 80, contains="Hello"), context(objects))
    assert not out.passed and out.found.startswith("HTTP 503: no endpoints available; ")
    # The Service in this context has no selector: the feedback names that cause (kubelab.why).
    assert "Service web has no selector" in out.found


def test_variable_never_reveals_the_answer_unless_asked() -> None:
    check = k.variable("n", compute=lambda ctx: 3)
    out = run(check, context({}, {"n": 4}))
    assert not out.passed and out.found == "n is 4" and "3" not in out.found
    assert run(check, context({}, {"n": 3})).passed
    assert run(check, context({})).missing


def test_log_contains_and_events() -> None:
    objects = {("pod", "default", "p"): pod("p", {}),
               ("event", "default", "e"): {"metadata": {"name": "e", "labels": {}},
                                           "reason": "Unhealthy",
                                           "message": "Liveness probe failed: HTTP probe failed "
                                                      "with statuscode: 404",
                                           "involvedObject": {"name": "probes-demo-abc"}}}
    ctx = context(objects, logs={"p": "hello steven\n"})
    assert run(k.log_contains("p", "hello steven"), ctx).passed
    assert run(k.event("Unhealthy", message_contains="statuscode: 404",
                       name_prefix="probes-demo"), ctx).passed
    assert not run(k.event("FailedScheduling"), ctx).passed


def test_a_wrong_variable_is_said_at_once_unless_the_answer_converges() -> None:
    from autograders import checks as k

    from .fakes import context as make_context

    ctx = make_context({}, {"n": 3})
    fixed = k.variable("n", compute=lambda c: 5).probe(ctx)
    moving = k.variable("n", compute=lambda c: 5, converging=True).probe(ctx)
    assert not fixed.passed and fixed.settled
    assert not moving.passed and not moving.settled
