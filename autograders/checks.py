"""Declarative checks: "deployment hello-world has 5 ready replicas", in one line each.

Each builder returns a :class:`~autograders.engine.Check` whose probe reads the cluster
through the API (or a notebook variable) and says what it found. Builders describe
*expectations about state*, never how the learner should get there, so any correct route
(``kubectl create``, ``kubectl apply``, the Python client) passes.

Settledness: objects the learner creates directly (Deployments, Services, Secrets, …) exist
as soon as the creating command returns, so "not found" and wrong specs are settled;
anything a controller, the scheduler or a kubelet produces (ReplicaSets, Pods, readiness,
endpoints, events, logs) may still be on its way and is waited for.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from typing import Any

from autograders.engine import Check, Context, Outcome, ok, unanswered, wrong
from autograders.kube import Obj, dig
from kubelab.apimachinery.selectors import selector_string

# Kinds whose objects appear only when a learner's command creates them.
LEARNER_KINDS = {"deployment", "service", "secret", "configmap", "namespace", "pod",
                 "resourcequota", "job", "cronjob", "persistentvolumeclaim", "statefulset",
                 "horizontalpodautoscaler"}


def _ref(kind: str, name: str, namespace: str) -> str:
    where = "" if namespace in ("default", "") or kind in ("namespace", "node") \
        else f" in namespace {namespace}"
    return f"{kind} {name}{where}"


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _missing(kind: str, name: str, namespace: str) -> Outcome:
    return wrong(f"there is no {_ref(kind, name, namespace)}", missing=kind in LEARNER_KINDS)


def exists(kind: str, name: str, *, namespace: str = "default", points: float = 1,
           hint: str | tuple[str, ...] = "", description: str = "") -> Check:
    def probe(ctx: Context) -> Outcome:
        obj = ctx.snapshot.get(kind, name, namespace)
        return ok() if obj is not None else _missing(kind, name, namespace)

    return Check(description or f"{_ref(kind, name, namespace)} exists", probe, points, hint)


def absent(kind: str, name: str, *, namespace: str = "default", points: float = 1,
           hint: str | tuple[str, ...] = "") -> Check:
    def probe(ctx: Context) -> Outcome:
        obj = ctx.snapshot.get(kind, name, namespace)
        if obj is None:
            return ok()
        terminating = bool(dig(obj, "metadata.deletionTimestamp"))
        return wrong(f"{_ref(kind, name, namespace)} is still there"
                     + (" (terminating)" if terminating else ""), settled=not terminating)

    return Check(f"{_ref(kind, name, namespace)} is deleted", probe, points, hint)


def field(kind: str, name: str, path: str, expected: Any = None, *,
          test: Callable[[Any], bool] | None = None, namespace: str = "default",
          points: float = 1, hint: str | tuple[str, ...] = "", description: str = "",
          settled: bool | None = None) -> Check:
    """``kind/name``'s field at ``path`` equals ``expected`` (or satisfies ``test``)."""
    predicate = test if test is not None else (lambda v: _same(v, expected))
    spec_field = settled if settled is not None else not path.startswith("status")

    def probe(ctx: Context) -> Outcome:
        obj = ctx.snapshot.get(kind, name, namespace)
        if obj is None:
            return _missing(kind, name, namespace)
        value = dig(obj, path)
        if predicate(value):
            return ok(_show(value))
        return wrong(f"{path} is {_show(value)}", settled=spec_field)

    text = description or f"{_ref(kind, name, namespace)}: {path} = {_show(expected)}"
    return Check(text, probe, points, hint)


def _same(value: Any, expected: Any) -> bool:
    if isinstance(expected, int) and not isinstance(expected, bool) \
            and isinstance(value, str) and value.isdigit():
        return int(value) == expected
    return bool(value == expected)


def labels_include(kind: str, name: str, labels: dict[str, str], *, path: str = "metadata.labels",
                   namespace: str = "default", points: float = 1, hint: str | tuple[str, ...] = "",
                   description: str = "") -> Check:
    wanted = ",".join(f"{k}={v}" for k, v in labels.items())

    def probe(ctx: Context) -> Outcome:
        obj = ctx.snapshot.get(kind, name, namespace)
        if obj is None:
            return _missing(kind, name, namespace)
        have = dig(obj, path) or {}
        missing = {k: v for k, v in labels.items() if have.get(k) != v}
        if not missing:
            return ok()
        shown = ",".join(f"{k}={v}" for k, v in sorted(have.items())) or "no labels"
        return wrong(f"{path} has {shown}", settled=True)

    return Check(description or f"{_ref(kind, name, namespace)} has {path} {wanted}",
                 probe, points, hint)


def _live(pods: Iterable[Obj]) -> list[Obj]:
    return [p for p in pods if not dig(p, "metadata.deletionTimestamp")]


def _ready(pod: Obj) -> bool:
    for cond in dig(pod, "status.conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


STUCK_REASONS = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName")


def _stuck(pods: Iterable[Obj]) -> str:
    """Why pods can never start (an image that cannot be pulled), or ""."""
    for pod in pods:
        for status in dig(pod, "status.containerStatuses") or []:
            reason = dig(status, "state.waiting.reason")
            if reason in STUCK_REASONS:
                return f"{reason} for image {status.get('image')}"
    return ""


def _troubled(pods: Iterable[Obj]) -> bool:
    """Whether any pod shows more than ordinary start-up (unschedulable, a waiting reason
    other than creating, a restart, unready while running): only then is a diagnosis worth
    its extra API reads, so a rollout that is merely converging costs nothing more."""
    for pod in pods:
        for cond in dig(pod, "status.conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                return True
        if dig(pod, "status.phase") == "Running" and not _ready(pod):
            return True
        for status in dig(pod, "status.containerStatuses") or []:
            waiting = dig(status, "state.waiting.reason")
            if waiting not in (None, "ContainerCreating", "PodInitializing") \
                    or int(status.get("restartCount") or 0) > 0:
                return True
    return False


def _why(ctx: Context, target: str, namespace: str) -> str:
    """The plain-words cause of a stuck object and its fix (:mod:`kubelab.why`), or "".

    Read only when a check fails, from the same API snapshot, so the feedback names the
    cause ("… the image nginx:1.99-typo does not exist …") instead of "not ready yet".
    """
    from kubelab.why import Objects, diagnose

    snap = ctx.snapshot
    try:
        objects = Objects(
            pods=snap.list("pod", namespace), events=snap.list("event", namespace),
            nodes=snap.list("node", None), replicasets=snap.list("replicaset", namespace),
            deployments=snap.list("deployment", namespace),
            services=snap.list("service", namespace) if target.startswith("svc/") else [])
        found = diagnose(target, objects, namespace)
    except Exception:  # feedback is best effort: the check's own verdict stands
        return ""
    return "" if found.ok or found.reason == "NotFound" else found.sentence()


def ready_replicas(name: str, count: int, *, namespace: str = "default", points: float = 1,
                   hint: str | tuple[str, ...] = "") -> Check:
    """The Deployment is fully rolled out: ``count`` replicas, all updated and ready."""

    def probe(ctx: Context) -> Outcome:
        obj = ctx.snapshot.get("deployment", name, namespace)
        if obj is None:
            return _missing("deployment", name, namespace)
        status = obj.get("status") or {}
        ready = int(status.get("readyReplicas") or 0)
        updated = int(status.get("updatedReplicas") or 0)
        total = int(status.get("replicas") or 0)
        if ready == count and updated == count and total == count:
            return ok(f"{ready} ready")
        found = (f"{ready} ready, {updated} up to date, {total} in total "
                 f"(spec asks for {dig(obj, 'spec.replicas')})")
        match = dig(obj, "spec.selector.matchLabels") or {}
        if match:
            # All of the selector (matchExpressions too), as LabelSelectorAsSelector prints it.
            selector = selector_string(dig(obj, "spec.selector"))
            live = _live(ctx.snapshot.list("pod", namespace, selector))
            stuck = _stuck(live)
            if stuck:
                cause = _why(ctx, f"deploy/{name}", namespace)
                return wrong(f"{found}; pods are stuck: {cause or stuck}", settled=True)
        # Fewer pods than asked for: the ReplicaSet may be refused (a quota's FailedCreate).
        troubled = not match or _troubled(live) or len(live) < count \
            or bool(dig(obj, "spec.paused")) \
            or dig(obj, "status.conditions[ReplicaFailure].status") == "True" \
            or dig(obj, "status.conditions[Progressing].reason") == "ProgressDeadlineExceeded"
        cause = _why(ctx, f"deploy/{name}", namespace) if troubled else ""
        return wrong(f"{found}; {cause}" if cause else found,
                     settled=dig(obj, "spec.replicas") != count)

    return Check(f"deployment {name} has {count} ready replicas", probe, points, hint)


def pods(selector: str, *, count: int | None = None, at_least: int | None = None,
         ready: bool | None = None, phase: str | None = None,
         field_path: str | None = None, value: Any = None, namespace: str = "default",
         owner: str | None = None, points: float = 1, hint: str | tuple[str, ...] = "",
         description: str = "") -> Check:
    """Pods matching a label selector: how many, and (optionally) that all share a property.

    ``count``/``at_least`` count live (not terminating) pods that meet ``ready``, ``phase``
    and ``field_path == value``. With ``owner``, the check fails while that Deployment does
    not exist (so "no Pending pods" cannot pass in an empty namespace).
    """

    def qualifies(p: Obj) -> bool:
        if ready is not None and _ready(p) != ready:
            return False
        if phase is not None and dig(p, "status.phase") != phase:
            return False
        return not (field_path is not None and dig(p, field_path) != value)

    def probe(ctx: Context) -> Outcome:
        if owner is not None and ctx.snapshot.get("deployment", owner, namespace) is None:
            return _missing("deployment", owner, namespace)
        live = _live(ctx.snapshot.list("pod", namespace, selector))
        good = [p for p in live if qualifies(p)]
        n = len(good)
        if count is not None and n == count and (count == 0 or len(live) == count):
            return ok(f"{n} pods")
        if count is None and at_least is not None and n >= at_least:
            return ok(f"{n} pods")
        if count is None and at_least is None and live and n == len(live):
            return ok(f"{n} pods")
        found = f"{len(live)} pods match {selector}, {n} of them as expected"
        odd = next((p for p in live if not qualifies(p)), None)
        cause = _why(ctx, f"pod/{dig(odd, 'metadata.name')}", namespace) \
            if odd is not None and _troubled([odd]) else ""
        return wrong(f"{found}; {cause}" if cause else found)

    if not description:
        what = []
        if phase:
            what.append(phase)
        if ready is not None:
            what.append("ready" if ready else "not ready")
        how_many = (f"exactly {count}" if count is not None else
                    f"at least {at_least}" if at_least is not None else "all")
        description = f"{how_many} {' '.join(what) + ' ' if what else ''}pods with {selector}"
        if field_path is not None:
            description += f" have {field_path} {_show(value)}"
    return Check(description, probe, points, hint)


def serves(service: str, port: int | str, *, path: str = "/", contains: str,
           namespace: str = "default", points: float = 1, hint: str | tuple[str, ...] = "",
           description: str = "") -> Check:
    """An HTTP GET through the API server's service proxy answers 200 with ``contains``."""

    def probe(ctx: Context) -> Outcome:
        if ctx.snapshot.get("service", service, namespace) is None:
            return _missing("service", service, namespace)
        resp = ctx.snapshot.proxy(service, port, path, namespace)
        if resp.status == 200 and contains in resp.text:
            return ok()
        first = resp.text.strip().splitlines()[0][:120] if resp.text.strip() else "no body"
        # A 5xx from the service proxy: no endpoint answered; say why the Service has none.
        cause = _why(ctx, f"svc/{service}", namespace) if resp.status >= 500 else ""
        return wrong(f"HTTP {resp.status}: {first}" + (f"; {cause}" if cause else ""))

    return Check(description or f"service {service}:{port}{path} answers with {contains!r}",
                 probe, points, hint)


def endpoints(service: str, count: int, *, namespace: str = "default", points: float = 1,
              hint: str | tuple[str, ...] = "") -> Check:
    """The Service has ``count`` ready endpoint addresses (its selector matches ready pods)."""

    def probe(ctx: Context) -> Outcome:
        ep = ctx.snapshot.get("endpoints", service, namespace)
        if ctx.snapshot.get("service", service, namespace) is None:
            return _missing("service", service, namespace)
        addresses = [a for s in (dig(ep, "subsets") or []) for a in (s.get("addresses") or [])]
        if len(addresses) == count:
            return ok(f"{count} endpoints")
        cause = _why(ctx, f"svc/{service}", namespace) if len(addresses) < count else ""
        return wrong(f"{len(addresses)} ready endpoints" + (f"; {cause}" if cause else ""))

    return Check(f"service {service} sends traffic to {count} ready pods", probe, points, hint)


def event(reason: str, *, message_contains: str = "", name_prefix: str = "",
          namespace: str = "default", points: float = 1, hint: str | tuple[str, ...] = "",
          description: str = "") -> Check:
    """An Event with this reason (and message fragment) about an object named ``name_prefix…``."""

    def probe(ctx: Context) -> Outcome:
        seen = [e for e in ctx.snapshot.list("event", namespace)
                if e.get("reason") == reason
                and message_contains in (e.get("message") or e.get("note") or "")
                and str(dig(e, "involvedObject.name") or "").startswith(name_prefix)]
        return ok(f"{len(seen)} events") if seen else wrong(f"no {reason} event yet")

    return Check(description or f"an event {reason} was recorded", probe, points, hint)


def log_contains(pod: str, text: str, *, namespace: str = "default", points: float = 1,
                 hint: str | tuple[str, ...] = "") -> Check:
    def probe(ctx: Context) -> Outcome:
        obj = ctx.snapshot.get("pod", pod, namespace)
        if obj is None:
            return wrong(f"there is no pod {pod}", missing=True)
        log = ctx.snapshot.log(pod, namespace) or ""
        if text in log:
            return ok()
        cause = _why(ctx, f"pod/{pod}", namespace) if _troubled([obj]) else ""
        if cause and not log.strip():
            return wrong(f"the pod has no log: {cause}")
        last = log.strip().splitlines()[-1][:120] if log.strip() else "an empty log"
        return wrong(f"the log shows {last!r}" + (f"; {cause}" if cause else ""))

    return Check(f"pod {pod} logs {text!r}", probe, points, hint)


def secret_value(name: str, key: str, expected: str, *, namespace: str = "default",
                 points: float = 1, hint: str | tuple[str, ...] = "") -> Check:
    def probe(ctx: Context) -> Outcome:
        obj = ctx.snapshot.get("secret", name, namespace)
        if obj is None:
            return _missing("secret", name, namespace)
        raw = dig(obj, f"data.{key}")
        if raw is None:
            return wrong(f"it has no key {key!r} (keys: {', '.join(sorted(obj.get('data') or {}))})",
                         settled=True)
        try:
            value = base64.b64decode(raw).decode()
        except ValueError:
            return wrong(f"{key} is not valid base64", settled=True)
        return ok() if value == expected else wrong(f"{key} decodes to {value!r}", settled=True)

    return Check(f"secret {name} holds {key}", probe, points, hint)


def variable(name: str, *, expected: Any = None,
             compute: Callable[[Context], Any] | None = None,
             test: Callable[[Any], bool] | None = None, points: float = 1,
             hint: str | tuple[str, ...] = "", description: str = "", reveal: bool = False,
             converging: bool = False) -> Check:
    """A notebook variable holds the right answer.

    The answer is ``expected``, or ``compute(ctx)`` read from the cluster at check time, or
    whatever satisfies ``test``. Unless ``reveal`` is set, messages never show the answer.
    A variable that is undefined or still the placeholder ``...`` is "not answered yet".

    The learner's value does not change while the check waits, so a wrong value is settled
    (said at once) — unless ``converging``: the answer computed from the cluster is still
    moving (pods being scheduled, a quota being recounted), so a mismatch is waited out.
    """

    def probe(ctx: Context) -> Outcome:
        blank = unanswered(ctx.variables, name)
        if blank is not None:
            return blank
        value = ctx.variables[name]
        if test is not None:
            good = bool(test(value))
        else:
            answer = compute(ctx) if compute is not None else expected
            if answer is None:
                return wrong("the cluster has nothing to compare it with yet")
            good = _same(value, answer) if not isinstance(answer, list) else value == answer
            if not good and reveal:
                return wrong(f"{name} is {_show(value)}, expected {_show(answer)}")
        return ok() if good else wrong(f"{name} is {_show(value)}",
                                       settled=compute is None or not converging)

    return Check(description or f"variable {name} holds the right answer", probe, points, hint)
