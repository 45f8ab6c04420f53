"""Why is this pod (Deployment, Service, node) not working? A pure diagnosis from API objects.

What ``kubectl describe`` shows an experienced reader — the scheduler's ``FailedScheduling``
verdict, the kubelet's ``Failed``/``BackOff``/``Unhealthy`` events, a container's last
termination, the Deployment controller's ``Progressing`` condition, the node lifecycle
controller's ``Ready=Unknown`` — is turned here into one plain sentence for a beginner, the
quoted evidence, the command that shows it, and the likely fix.

The input is plain JSON dictionaries as the API serves them (``kubectl get -o json``), bundled
in :class:`Objects`; nothing here talks to a cluster (:mod:`kubelab.why.fetch` gathers the
objects), so the same function works on the sandbox, kind, minikube or GKE, and on objects
saved to a file. The wording follows the components that write each message:

* kube-scheduler's ``FitError`` (``0/3 nodes are available: 3 Insufficient cpu. preemption: …``,
  ``no nodes available to schedule pods``) and its filter plugins' reasons;
* the kubelet's image manager (``Failed to pull image "x": … not found`` /
  ``pull access denied``), its ``CreateContainerConfigError`` messages
  (``couldn't find key k in ConfigMap ns/name``, ``configmap "x" not found``), its probe
  events (``Readiness probe failed: …``) and ``CrashLoopBackOff``;
* the container runtime's termination (``OOMKilled``, exit 127/128 with
  ``exec: "x": executable file not found in $PATH``);
* the ReplicaSet controller's ``FailedCreate`` (``exceeded quota: …``) and the Deployment
  controller's ``ProgressDeadlineExceeded`` / ``DeploymentPaused``;
* the EndpointSlice controller (which pods a Service's selector picks, ready or not, and
  whether a named ``targetPort`` resolves).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubelab.apimachinery.resources import compute_pod_requests, milli_value

Obj = dict[str, Any]

# How a learner may name a kind (kubectl's short names included).
KINDS = {
    "pod": "pod", "pods": "pod", "po": "pod",
    "deployment": "deployment", "deployments": "deployment", "deploy": "deployment",
    "service": "service", "services": "service", "svc": "service",
    "node": "node", "nodes": "node", "no": "node",
}


@dataclass(frozen=True)
class Objects:
    """Everything a diagnosis may look at, as the API serves it (camelCase JSON).

    Lists hold one namespace's objects (nodes are cluster-wide). ``previous_logs`` maps
    ``"<pod>/<container>"`` to the log of the container's previous (crashed) instance, what
    ``kubectl logs <pod> -c <container> --previous`` prints.
    """

    pods: list[Obj] = field(default_factory=list)
    events: list[Obj] = field(default_factory=list)
    nodes: list[Obj] = field(default_factory=list)
    replicasets: list[Obj] = field(default_factory=list)
    deployments: list[Obj] = field(default_factory=list)
    services: list[Obj] = field(default_factory=list)
    endpointslices: list[Obj] = field(default_factory=list)
    resourcequotas: list[Obj] = field(default_factory=list)
    persistentvolumeclaims: list[Obj] = field(default_factory=list)
    previous_logs: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Objects:
        """From a saved snapshot (unknown keys, such as a fixture's ``leases``, are ignored)."""
        lists = {name: list(data.get(name) or []) for name in
                 ("pods", "events", "nodes", "replicasets", "deployments", "services",
                  "endpointslices", "resourcequotas", "persistentvolumeclaims")}
        return cls(**lists, previous_logs=dict(data.get("previous_logs") or {}))

    def to_dict(self) -> dict[str, Any]:
        return {"pods": self.pods, "events": self.events, "nodes": self.nodes,
                "replicasets": self.replicasets, "deployments": self.deployments,
                "services": self.services, "endpointslices": self.endpointslices,
                "resourcequotas": self.resourcequotas,
                "persistentvolumeclaims": self.persistentvolumeclaims,
                "previous_logs": self.previous_logs}


@dataclass(frozen=True)
class Diagnosis:
    """What is wrong with one object, in words a beginner can act on.

    ``problem`` is one plain sentence (or, when nothing is wrong, what is right);
    ``evidence`` quotes the event, condition or field that shows it; ``commands`` show it
    yourself; ``fix`` is the likely remedy; ``reason`` is a short tag (``ImagePullBackOff``,
    ``Unschedulable``…) for programs and tests.
    """

    subject: str
    namespace: str
    problem: str
    reason: str
    ok: bool = False
    evidence: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    fix: str = ""

    def sentence(self) -> str:
        """The problem and the fix, in one line (what a self-check appends)."""
        return self.problem if self.ok or not self.fix else f"{self.problem} Fix: {self.fix}"

    def text(self) -> str:
        lines = [("✓ " if self.ok else "✗ ") + self.problem]
        if self.evidence:
            lines.append("Evidence:")
            lines += [f"  {e}" for e in self.evidence]
        if self.commands:
            lines.append("See it yourself:")
            lines += [f"  {c}" for c in self.commands]
        if self.fix:
            lines.append(f"Fix: {self.fix}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())

    def _repr_html_(self) -> str:
        esc = html.escape
        colour = "#1a7f37" if self.ok else "#cf222e"
        # mathjax_ignore: JupyterLab typesets HTML outputs, and a command quoted in the
        # problem ("$QUEUE … $QUEUE") would otherwise be set as a formula.
        parts = [f"<div class='kubelab-why mathjax_ignore' style='border-left:4px solid {colour};"
                 "padding:4px 8px'>",
                 f"<div><strong>{esc(self.subject)}</strong>: {esc(self.problem)}</div>"]
        if self.evidence:
            items = "".join(f"<li><code>{esc(e)}</code></li>" for e in self.evidence)
            parts.append(f"<div>Evidence:<ul style='margin:2px 0'>{items}</ul></div>")
        if self.commands:
            items = "".join(f"<li><code>{esc(c)}</code></li>" for c in self.commands)
            parts.append(f"<div>See it yourself:<ul style='margin:2px 0'>{items}</ul></div>")
        if self.fix:
            parts.append(f"<div><strong>Fix:</strong> {esc(self.fix)}</div>")
        parts.append("</div>")
        return "".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "namespace": self.namespace, "ok": self.ok,
                "reason": self.reason, "problem": self.problem,
                "evidence": list(self.evidence), "commands": list(self.commands),
                "fix": self.fix}


# --------------------------------------------------------------------------- small helpers
# Quantities and pod requests come from kubelab.apimachinery; the label-selector match is a
# minimal private one until kubelab.apimachinery.selectors lands.

def _meta(obj: Obj, key: str, default: Any = "") -> Any:
    return (obj.get("metadata") or {}).get(key, default)


def _name(obj: Obj) -> str:
    return str(_meta(obj, "name"))


def _ns_flag(namespace: str) -> str:
    return "" if namespace in ("", "default") else f" -n {namespace}"


def _in(namespace: str) -> str:
    return "" if namespace in ("", "default") else f" in namespace {namespace}"


def _matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """A LabelSelector (``matchLabels`` and ``matchExpressions``) against labels."""
    if selector is None:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _selector_text(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _quantity(text: Any) -> float | None:
    """A resource.Quantity (``500m``, ``64``, ``128Mi``) as a number, ``None`` if malformed."""
    try:
        return milli_value(text) / 1000
    except ValueError:
        return None


def _cpu_words(cores: float) -> str:
    if cores >= 1 and float(cores).is_integer():
        return f"{int(cores)} CPU{'s' if cores != 1 else ''}"
    return f"{cores:g} CPU ({cores * 1000:g}m)"


def _memory_words(size: float) -> str:
    for unit, factor in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if size >= factor:
            return f"{size / factor:.3g}{unit}"
    return f"{size:g} bytes"


def _requests(pod: Obj, resource: str) -> float:
    """The pod's effective request, as the scheduler's NodeResourcesFit counts it."""
    return compute_pod_requests(pod).get(resource, 0) / 1000


def _condition(obj: Obj, kind: str) -> Obj | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return None


def _event_time(event: Obj) -> str:
    series = event.get("series") or {}
    return str(event.get("lastTimestamp") or series.get("lastObservedTime")
               or event.get("eventTime") or _meta(event, "creationTimestamp") or "")


def _events_for(objects: Objects, kind: str, name: str) -> list[Obj]:
    """Events about ``kind/name``, oldest first (``kubectl describe``'s Events table)."""
    found = [e for e in objects.events
             if (e.get("involvedObject") or e.get("regarding") or {}).get("kind") == kind
             and (e.get("involvedObject") or e.get("regarding") or {}).get("name") == name]
    return sorted(found, key=_event_time)


def _message(event: Obj) -> str:
    return str(event.get("message") or event.get("note") or "")


def _quote_event(event: Obj) -> str:
    count = event.get("count") or (event.get("series") or {}).get("count")
    times = f" (x{count})" if count and int(count) > 1 else ""
    return (f"{event.get('type', 'Normal')}  {event.get('reason', '')}  "
            f"{_message(event)}{times}")


def _last(events: Iterable[Obj], reason: str, contains: str = "") -> Obj | None:
    chosen = None
    for e in events:
        if e.get("reason") == reason and contains in _message(e):
            chosen = e
    return chosen


def _node_ready(node: Obj) -> tuple[bool, Obj | None]:
    cond = _condition(node, "Ready")
    return (cond is not None and cond.get("status") == "True"), cond


# --------------------------------------------------------------------------------- dispatch

def parse_target(target: str) -> tuple[str, str]:
    """``pod/x``, ``deploy/x``, ``svc/x``, ``node/x`` (or a bare ``x``: a pod) → (kind, name)."""
    kind, sep, name = target.partition("/")
    if not sep:
        return "pod", target
    canonical = KINDS.get(kind.lower())
    if canonical is None or not name:
        raise ValueError(f"cannot diagnose {target!r}: use pod/NAME, deploy/NAME, svc/NAME "
                         "or node/NAME")
    return canonical, name


def diagnose(target: str, objects: Objects, namespace: str = "default") -> Diagnosis:
    """Diagnose ``target`` (``pod/x``, ``deploy/x``, ``svc/x``, ``node/x``) from ``objects``."""
    kind, name = parse_target(target)
    if kind == "pod":
        return diagnose_pod(name, objects, namespace)
    if kind == "deployment":
        return diagnose_deployment(name, objects, namespace)
    if kind == "service":
        return diagnose_service(name, objects, namespace)
    return diagnose_node(name, objects)


def _not_found(kind: str, short: str, name: str, namespace: str) -> Diagnosis:
    where = _in(namespace) if kind != "node" else ""
    plural = {"pod": "pods", "deployment": "deployments", "service": "services",
              "node": "nodes"}[kind]
    flag = _ns_flag(namespace) if kind != "node" else ""
    return Diagnosis(
        f"{short}/{name}", namespace, f"There is no {kind} named {name}{where}.", "NotFound",
        commands=(f"kubectl get {plural}{flag}",),
        fix="Check the spelling and the namespace (-n), or create it first.")


# --------------------------------------------------------------------------------------- pods

def diagnose_pod(name: str, objects: Objects, namespace: str = "default") -> Diagnosis:
    """Why pod ``name`` is not running and ready (or that it is)."""
    pod = next((p for p in objects.pods if _name(p) == name), None)
    if pod is None:
        return _not_found("pod", "pod", name, namespace)
    return _PodDoctor(pod, objects, namespace).run()


class _PodDoctor:
    """One pod's diagnosis, in the order ``kubectl describe pod`` is read: deletion, the
    scheduler's verdict, each container's waiting or terminated state, readiness."""

    def __init__(self, pod: Obj, objects: Objects, namespace: str) -> None:
        self.pod = pod
        self.objects = objects
        self.namespace = namespace
        self.name = _name(pod)
        self.subject = f"pod/{self.name}"
        self.events = _events_for(objects, "Pod", self.name)
        self.describe = f"kubectl describe pod {self.name}{_ns_flag(namespace)}"
        self.spec = pod.get("spec") or {}
        self.status = pod.get("status") or {}
        self.claim_evidence: list[str] = []

    def result(self, problem: str, reason: str, *, evidence: Iterable[str] = (),
               commands: Iterable[str] = (), fix: str = "", ok: bool = False) -> Diagnosis:
        cmds = tuple(commands) or (self.describe,)
        return Diagnosis(self.subject, self.namespace, problem, reason, ok,
                         tuple(e for e in evidence if e), cmds, fix)

    def run(self) -> Diagnosis:
        if _meta(self.pod, "deletionTimestamp"):
            return self.terminating()
        phase = self.status.get("phase", "Pending")
        if not self.spec.get("nodeName"):
            return self.unscheduled()
        node_problem = self.node_trouble()
        for status in self._container_statuses():
            found = self.container(status)
            if found is not None:
                return found
        if phase == "Succeeded":
            return self.result(f"Pod {self.name} ran to completion (phase Succeeded).",
                               "Completed", ok=True, evidence=("Status: Succeeded",))
        if phase == "Failed":
            return self.failed()
        if node_problem is not None:
            return node_problem
        ready = _condition(self.pod, "Ready")
        if ready is not None and ready.get("status") == "True":
            node = self.spec.get("nodeName")
            return self.result(f"Pod {self.name} is running and ready.", "Ready", ok=True,
                               evidence=(f"Ready condition: True (node {node})",))
        if phase == "Running":
            return self.not_ready()
        return self.starting()

    def _container_statuses(self) -> list[Obj]:
        statuses = list(self.status.get("initContainerStatuses") or [])
        return statuses + list(self.status.get("containerStatuses") or [])

    # -- deletion
    def terminating(self) -> Diagnosis:
        finalizers = list(_meta(self.pod, "finalizers", []) or [])
        since = _meta(self.pod, "deletionTimestamp")
        evidence = [f"deletionTimestamp: {since}"]
        if finalizers:
            evidence.append(f"finalizers: {', '.join(finalizers)}")
            return self.result(
                f"Pod {self.name} was deleted but cannot go away: it still has the "
                f"finalizer{'s' if len(finalizers) > 1 else ''} {', '.join(finalizers)}, "
                "and Kubernetes removes an object only when its finalizers are gone.",
                "StuckTerminating", evidence=evidence,
                commands=(f"kubectl get pod {self.name}{_ns_flag(self.namespace)} "
                          "-o jsonpath='{.metadata.finalizers}'", self.describe),
                fix=("Whatever added the finalizer should remove it; if that controller is "
                     "gone, remove it yourself: kubectl patch pod "
                     f"{self.name}{_ns_flag(self.namespace)} --type=merge "
                     "-p '{\"metadata\":{\"finalizers\":null}}'."))
        node = self._node()
        if node is not None and not _node_ready(node)[0]:
            _, cond = _node_ready(node)
            evidence.append(f"node {_name(node)} Ready={cond.get('status') if cond else '?'}: "
                            f"{(cond or {}).get('message', '')}")
            return self.result(
                f"Pod {self.name} is stuck Terminating because its node {_name(node)} is not "
                "ready: no kubelet is there to confirm that the containers stopped.",
                "StuckTerminating", evidence=evidence,
                commands=(self.describe, f"kubectl get node {_name(node)}"),
                fix=("Bring the node back, or, if it is gone for good, delete the node "
                     f"(kubectl delete node {_name(node)}) or force the pod away: kubectl "
                     f"delete pod {self.name}{_ns_flag(self.namespace)} --force "
                     "--grace-period=0."))
        grace = _meta(self.pod, "deletionGracePeriodSeconds", None)
        grace_words = f" (grace period {grace}s)" if grace is not None else ""
        return self.result(
            f"Pod {self.name} is shutting down{grace_words}: its containers were asked to "
            "stop and the kubelet removes it when they have.", "Terminating", ok=True,
            evidence=evidence, fix="Wait a moment; a Deployment has already started a "
            "replacement if it needs one.")

    # -- scheduling
    def unscheduled(self) -> Diagnosis:
        cond = _condition(self.pod, "PodScheduled")
        event = _last(self.events, "FailedScheduling")
        message = str((cond or {}).get("message") or "") or (_message(event) if event else "")
        if not message:
            if self.spec.get("schedulingGates"):
                gates = ", ".join(g.get("name", "") for g in self.spec["schedulingGates"])
                return self.result(
                    f"Pod {self.name} is held back by scheduling gates ({gates}); the "
                    "scheduler ignores it until they are removed.", "SchedulingGated",
                    evidence=(f"spec.schedulingGates: {gates}",),
                    fix="Whatever added the gates removes them; check that controller.")
            return self.result(
                f"Pod {self.name} has not been given a node yet and the scheduler has said "
                "nothing about it: it is new, or the scheduler is not running.",
                "Pending", evidence=("Node: <none>",),
                commands=(self.describe, "kubectl get pods -n kube-system"),
                fix="Wait a few seconds; if it stays Pending with no events, check that "
                    "kube-scheduler is running.")
        # A cluster (or a describe printout) may give the condition without its message;
        # the verdict then comes from the FailedScheduling event alone.
        evidence = [f"PodScheduled=False: {message}" if (cond or {}).get("message") else ""]
        if event is not None:
            evidence.append(_quote_event(event))
        return self.schedule_verdict(message, [e for e in evidence if e])

    def schedule_verdict(self, message: str, evidence: list[str]) -> Diagnosis:
        verdict = message.split(" preemption:")[0].strip()
        if "no nodes available" in verdict:
            return self.result(
                f"Pod {self.name} cannot be scheduled because the cluster has no nodes that "
                "can run pods.", "NoNodes", evidence=evidence,
                commands=(self.describe, "kubectl get nodes"),
                fix="Add a node (or start the ones that are down), then the scheduler places "
                    "the pod by itself.")
        parsed = _verdict_reasons(verdict)
        if parsed is None:
            return self.result(f"Pod {self.name} cannot be scheduled: {verdict}",
                               "Unschedulable", evidence=evidence,
                               fix="Read the scheduler's message above.")
        total, reasons = parsed
        words_by_reason = [self._reason_words(count, reason) for count, reason in reasons]
        words = list(words_by_reason)
        # The control plane's own taint is expected: another reason is the one to fix.
        words.sort(key=lambda w: w[2] == "ControlPlane")
        phrases = [w[0] for w in words]
        tags = [w[2] for w in words]
        fixes: list[str] = []
        for _phrase, fix, tag in words:
            if fix not in fixes and (tag != "ControlPlane" or len(set(tags)) == 1):
                fixes.append(fix)
        # Older schedulers ran every predicate, so counts overlap: a reason every node has
        # is the one that must be fixed first.
        everywhere = [w[2] for w, (count, _) in zip(words_by_reason, reasons, strict=True)
                      if total is not None and count == total and w[2] != "ControlPlane"]
        main = everywhere[0] if everywhere else next(
            (t for t in ("InsufficientResources", "UnboundClaim", "NodeSelector",
                                 "Taint", "Unschedulable", "NodeName", "HostPort",
                                 "VolumeZone") if t in tags), "Taint" if tags == ["ControlPlane"]
             else tags[0])
        nodes = ("no node can" if total is None else "the cluster's only node cannot"
                 if total == 1 else f"none of the {total} nodes can")
        problem = (f"Pod {self.name} cannot be scheduled: {nodes} take it — "
                   f"{'; '.join(phrases)}.")
        evidence = evidence + self.claim_evidence
        return self.result(problem, main, evidence=evidence,
                           commands=(self.describe, "kubectl describe nodes"),
                           fix=" ".join(fixes))

    def _reason_words(self, count: int, reason: str) -> tuple[str, str, str]:
        nodes = f"{count} node{'s' if count != 1 else ''}"
        insufficient = re.match(r"Insufficient (\S+)", reason)
        if insufficient and insufficient.group(1) != "pods":
            resource = insufficient.group(1)
            asked = _requests(self.pod, resource)
            largest = max((_quantity((n.get("status") or {}).get("allocatable", {})
                                     .get(resource)) or 0.0 for n in self.objects.nodes),
                          default=0.0)
            words = _cpu_words if resource == "cpu" else _memory_words \
                if resource == "memory" else (lambda v: f"{v:g} {resource}")
            what = {"cpu": "CPU", "memory": "memory"}.get(resource, resource)
            phrase = f"{nodes} {'do' if count != 1 else 'does'} not have enough free {what}"
            if asked:
                phrase += f" (it asks for {words(asked)}"
                phrase += f"; the biggest node has {words(largest)} in all)" if largest \
                    else ")"
            fix = (f"Lower the {what} request (resources.requests.{resource}) to fit a node, "
                   "remove pods you no longer need, or add nodes.")
            if asked and largest and asked > largest:
                fix = (f"No node will ever have {words(asked)}: lower resources.requests."
                       f"{resource} below {words(largest)}, or add bigger nodes.")
            return phrase, fix, "InsufficientResources"
        if reason in ("Too many pods", "Insufficient pods"):
            return (f"{nodes} already {'run' if count != 1 else 'runs'} as many pods as "
                    f"{'they' if count != 1 else 'it'} may",
                    "Remove pods you no longer need or add nodes.", "InsufficientResources")
        taint = re.match(r"node\(s\) had untolerated taint\(?s?\)?\s*\{(.*)\}", reason)
        if taint:
            key = taint.group(1).split(":")[0].strip()
            value = taint.group(1).partition(":")[2].strip()
            shown = key + (f"={value}" if value else "")
            carry = "carry" if count != 1 else "carries"
            if key == "node-role.kubernetes.io/control-plane":
                return (f"{nodes} {'are' if count != 1 else 'is'} the control plane, which "
                        f"carries the taint {shown} that keeps ordinary pods away",
                        "Ordinary pods do not run on the control plane: target a worker node.",
                        "ControlPlane")
            if key.startswith("node.kubernetes.io/"):
                return (f"{nodes} {carry} the taint {shown}, which Kubernetes puts on nodes "
                        "that are not ready or under pressure",
                        "Bring those nodes back to Ready (kubectl describe node).", "Taint")
            return (f"{nodes} {carry} the taint {shown}, which the pod does not tolerate",
                    f"Add a toleration for {key} to the pod spec, or remove the taint "
                    f"(kubectl taint nodes <node> {key}-).", "Taint")
        # Before 1.25 the taint filter said "had taints that the pod didn't tolerate" (1.14+)
        # or "had taint {key: value}, that the pod didn't tolerate"; before 1.14 its predicate
        # was named PodToleratesNodeTaints.
        old_taint = re.match(r"node\(s\) had taint \{(.*)\}, that the pod didn't tolerate",
                             reason)
        if old_taint:
            return self._reason_words(
                count, f"node(s) had untolerated taint {{{old_taint.group(1)}}}")
        if reason in ("PodToleratesNodeTaints", "node(s) had taints that the pod didn't tolerate"):
            return (f"{nodes} {'carry' if count != 1 else 'carries'} a taint the pod does not "
                    "tolerate", "Add a toleration for the node's taint to the pod spec, or "
                    "remove the taint (kubectl describe nodes shows the taints).", "Taint")
        if "didn't match Pod's node affinity/selector" in reason \
                or "didn't match node selector" in reason or reason == "MatchNodeSelector":
            wanted = self.spec.get("nodeSelector") or {}
            what = (f"the pod's nodeSelector {_selector_text(wanted)}" if wanted
                    else "the pod's node affinity")
            return (f"{nodes} {'do' if count != 1 else 'does'} not match {what}",
                    "Change the nodeSelector/affinity to match a node's labels (kubectl get "
                    "nodes --show-labels), or label a node to match.", "NodeSelector")
        if "unbound immediate PersistentVolumeClaims" in reason \
                or "unbound PersistentVolumeClaims" in reason:
            return (self._claims_words(),
                    "Create a PersistentVolume that matches the claim, or use a "
                    "storageClassName that the cluster can provision (kubectl get "
                    "storageclass).", "UnboundClaim")
        if "were unschedulable" in reason:
            return (f"{nodes} {'are' if count != 1 else 'is'} cordoned (marked unschedulable)",
                    "Uncordon a node (kubectl uncordon <node>) or add nodes.", "Unschedulable")
        if "didn't match the requested node name" in reason:
            return (f"{nodes} {'are' if count != 1 else 'is'} not the node named in "
                    f"spec.nodeName", "Correct spec.nodeName.", "NodeName")
        if "didn't have free ports" in reason:
            return (f"{nodes} already use the hostPort the pod asks for",
                    "Drop the hostPort (a Service is the usual way in).", "HostPort")
        if "volume node affinity conflict" in reason:
            return (f"{nodes} cannot reach the pod's volume (it lives in another zone)",
                    "Schedule the pod in the volume's zone.", "VolumeZone")
        return (f"{nodes}: {reason}", "Read the scheduler's message in the evidence.",
                "Unschedulable")

    def _claims_words(self) -> str:
        names = [v["persistentVolumeClaim"].get("claimName", "")
                 for v in self.spec.get("volumes") or [] if v.get("persistentVolumeClaim")]
        claims = {_name(c): c for c in self.objects.persistentvolumeclaims}
        parts = []
        for claim in names:
            obj = claims.get(claim)
            if obj is None:
                parts.append(f"claim {claim} does not exist")
            else:
                phase = (obj.get("status") or {}).get("phase", "Pending")
                sc = (obj.get("spec") or {}).get("storageClassName")
                # The PersistentVolume controller says why it cannot provision.
                failed = _last(_events_for(self.objects, "PersistentVolumeClaim", claim),
                               "ProvisioningFailed")
                if failed is not None:
                    self.claim_evidence.append(_quote_event(failed))
                if failed is not None and sc and f'"{sc}" not found' in _message(failed):
                    parts.append(f"claim {claim} is {phase} (storage class {sc}), and no "
                                 f"storage class {sc} exists to provision it")
                else:
                    parts.append(f"claim {claim} is {phase}"
                                 + (f" (storage class {sc})" if sc else " (no storage class)"))
        detail = "; ".join(parts) if parts else "its PersistentVolumeClaim"
        return f"its storage is not ready: {detail} — no PersistentVolume is bound to it yet"

    # -- node
    def _node(self) -> Obj | None:
        node_name = self.spec.get("nodeName")
        return next((n for n in self.objects.nodes if _name(n) == node_name), None)

    def node_trouble(self) -> Diagnosis | None:
        node = self._node()
        if node is None:
            return None
        ready, cond = _node_ready(node)
        if ready:
            return None
        text = (cond or {}).get("message") or "no Ready condition"
        return self.result(
            f"Pod {self.name} runs on node {_name(node)}, which is NotReady: its kubelet "
            "does not report, so the pod's status is stale and it counts as not ready.",
            "NodeNotReady", evidence=(f"node {_name(node)} Ready="
                                      f"{(cond or {}).get('status', 'Unknown')}: {text}",),
            commands=(self.describe, f"kubectl describe node {_name(node)}"),
            fix="Bring the node back; a Deployment's pods are replaced on other nodes after "
                "the eviction timeout (5 minutes by default).")

    # -- containers
    def container(self, status: Obj) -> Diagnosis | None:
        cname = status.get("name", "")
        state = status.get("state") or {}
        waiting = state.get("waiting") or {}
        reason = waiting.get("reason", "")
        if reason in ("ErrImagePull", "ImagePullBackOff", "InvalidImageName",
                      "ErrImageNeverPull"):
            return self.image(status, reason)
        if reason == "CreateContainerConfigError":
            return self.config_error(status, str(waiting.get("message") or ""))
        if reason in ("CreateContainerError", "RunContainerError"):
            return self.result(
                f"Container {cname} of pod {self.name} could not be started: "
                f"{waiting.get('message', reason)}.", reason,
                evidence=(f"State: Waiting ({reason}): {waiting.get('message', '')}",),
                fix="Read the message; it names the field of the container spec to fix.")
        last = (status.get("lastState") or {}).get("terminated")
        if reason == "CrashLoopBackOff" or (last and int(status.get("restartCount") or 0) > 0
                                            and not status.get("ready")
                                            and not state.get("running")):
            return self.crash(status, last or {})
        terminated = state.get("terminated")
        if terminated and terminated.get("exitCode", 0) != 0 \
                and self.spec.get("restartPolicy") in ("Never", "OnFailure") \
                and self.status.get("phase") == "Failed":
            return self.crash(status, terminated, restarted=False)
        return None

    def image(self, status: Obj, reason: str) -> Diagnosis:
        image = status.get("image") or self._spec_image(status.get("name", ""))
        failed = _last(self.events, "Failed", "Failed to pull image") \
            or _last(self.events, "InspectFailed")
        error = _message(failed) if failed else str((status.get("state") or {})
                                                     .get("waiting", {}).get("message") or "")
        evidence = [f"State: Waiting ({reason})"]
        if failed is not None:
            evidence.append(_quote_event(failed))
        backoff = _last(self.events, "BackOff", "pulling image")
        if backoff is not None:
            evidence.append(_quote_event(backoff))
        repo, tag = _split_image(image)
        fix_cmd = (f"kubectl set image deployment/<name> {status.get('name', '<container>')}"
                   f"={repo}:<tag>")
        if reason == "InvalidImageName":
            return self.result(
                f"Pod {self.name} cannot start: {image!r} is not a valid image name.",
                reason, evidence=evidence,
                fix="Write the image as name:tag, e.g. nginx:1.27 (lower case, no spaces).")
        if reason == "ErrImageNeverPull":
            return self.result(
                f"Pod {self.name} cannot start: imagePullPolicy is Never and the image "
                f"{image} is not on the node.", reason, evidence=evidence,
                fix="Use imagePullPolicy: IfNotPresent, or load the image onto the node.")
        lowered = error.lower()
        # A real registry answers "pull access denied" for a repository it does not have and
        # "not found" for a missing tag; the sandbox says "this image is not simulated".
        unknown_repo = ("pull access denied" in lowered or "repository does not exist" in lowered
                        or "insufficient_scope" in lowered or "not simulated" in lowered)
        if "unauthorized" in lowered or "authentication required" in lowered:
            return self.result(
                f"Pod {self.name} cannot start: the registry refuses to give out the image "
                f"{image} without credentials.", "ImagePullBackOff", evidence=evidence,
                commands=(self.describe,),
                fix="Check the image name; for a private image add an imagePullSecret.")
        if unknown_repo:
            meant = re.search(r"did you mean ([^?\s]+)\?", error)
            if meant:
                fix_cmd = (f"kubectl set image deployment/<name> "
                           f"{status.get('name', '<container>')}={meant.group(1)}")
            return self.result(
                f"Pod {self.name} cannot start because the image {image} does not exist: the "
                f"registry has no repository called {repo} (a typo, or a private image).",
                "UnknownImage", evidence=evidence,
                commands=(self.describe, f"kubectl get pod {self.name}{_ns_flag(self.namespace)}"),
                fix=f"Correct the image name ({fix_cmd}, or edit the manifest and apply it).")
        if "not found" in lowered or "manifest unknown" in lowered:
            nearest = re.search(r"nearest: ([^)]*)\)", error)
            hint = f" (the nearest tags that exist: {nearest.group(1)})" if nearest else ""
            return self.result(
                f"Pod {self.name} cannot start because the image {image} does not exist: "
                f"{repo} has no tag {tag!r}{hint}.", "UnknownTag", evidence=evidence,
                commands=(self.describe,),
                fix=f"Use a tag that exists ({fix_cmd}, or fix the manifest and apply it).")
        if failed is None:
            return self.result(
                f"Pod {self.name} cannot pull the image {image} ({reason}); the kubelet is "
                "waiting before it tries again.", reason, evidence=evidence,
                fix="Look at the Failed event in kubectl describe for the registry's answer.")
        return self.result(
            f"Pod {self.name} cannot pull the image {image}: {error}", reason,
            evidence=evidence,
            fix="Check the image name and that the node can reach the registry.")

    def _spec_image(self, container: str) -> str:
        for c in (self.spec.get("containers") or []) + (self.spec.get("initContainers") or []):
            if c.get("name") == container:
                return str(c.get("image", ""))
        return ""

    def config_error(self, status: Obj, message: str) -> Diagnosis:
        cname = status.get("name", "")
        event = _last(self.events, "Failed", "Error: ")
        message = message or (_message(event).removeprefix("Error: ") if event else "")
        evidence = [f"State: Waiting (CreateContainerConfigError): {message}"]
        if event is not None:
            evidence.append(_quote_event(event))
        flag = _ns_flag(self.namespace)
        # Kubelets before 1.9 wrote "Couldn't find key …" (capital C).
        key = re.search(r"[Cc]ouldn't find key (\S+) in (ConfigMap|Secret) (\S+?)/(\S+)",
                        message)
        if key:
            k, kind, _ns, obj = key.groups()
            lower = kind.lower()
            return self.result(
                f"Container {cname} of pod {self.name} cannot start: it reads the key {k} "
                f"from {kind} {obj}, which has no such key.", "MissingKey",
                evidence=evidence,
                commands=(self.describe, f"kubectl describe {lower} {obj}{flag}"),
                fix=(f"Correct the key name in the pod's env (…KeyRef.key) or add the key {k} to "
                     f"{kind} {obj}; the kubelet retries by itself."))
        missing = re.search(r'(configmap|secret) "([^"]+)" not found', message)
        if missing:
            kind, obj = missing.groups()
            label = "ConfigMap" if kind == "configmap" else "Secret"
            create = (f"kubectl create configmap {obj}{flag} --from-literal=KEY=VALUE"
                      if kind == "configmap" else
                      f"kubectl create secret generic {obj}{flag} --from-literal=KEY=VALUE")
            return self.result(
                f"Container {cname} of pod {self.name} cannot start: it needs the {label} "
                f"{obj}, which does not exist{_in(self.namespace)}.",
                f"Missing{label}", evidence=evidence,
                commands=(self.describe, f"kubectl get {kind}s{flag}"),
                fix=f"Create it ({create}) or fix its name in the pod spec; the kubelet "
                    "retries by itself.")
        return self.result(
            f"Container {cname} of pod {self.name} cannot start: {message}",
            "CreateContainerConfigError", evidence=evidence,
            fix="Correct the configuration the message names; the kubelet retries by itself.")

    def crash(self, status: Obj, last: Obj, *, restarted: bool = True) -> Diagnosis:
        """A container that exited with an error. ``restarted``: ``last`` is the run before
        the current one (``lastState``), read with ``kubectl logs --previous``; otherwise it is
        the current, final run of a ``Never``/``OnFailure`` pod, whose log ``kubectl logs``
        reads without ``--previous`` (which a real kubelet refuses: there is no previous
        container)."""
        cname = status.get("name", "")
        code = last.get("exitCode")
        why = str(last.get("reason") or "")
        text = str(last.get("message") or "")
        restarts = int(status.get("restartCount") or 0)
        flag = _ns_flag(self.namespace)
        # kubectl logs without -c reads the pod's default (first) container, so an init
        # container, or one of several, must be named.
        multi = len(self.spec.get("containers") or []) > 1 or self._is_init(cname)
        logs_cmd = (f"kubectl logs {self.name}{flag}{f' -c {cname}' if multi else ''}"
                    + (" --previous" if restarted else ""))
        log = self.objects.previous_logs.get(f"{self.name}/{cname}", "")
        tail = [ln for ln in log.rstrip().splitlines() if ln.strip()][-3:]
        state = "Last State" if restarted else "State"
        evidence = [f"{state}: Terminated ({why or 'Error'}), Exit Code: {code}"
                    + (f", Message: {text.strip()}" if text.strip() else "")
                    if last else "", f"Restart Count: {restarts}"]
        backoff = _last(self.events, "BackOff", "restarting failed container")
        if backoff is not None:
            evidence.append(_quote_event(backoff))
        evidence += [f"log: {ln}" for ln in tail]
        killed = _last(self.events, "Killing", "failed liveness probe") \
            or _last(self.events, "Killing", "failed startup probe")
        command = " ".join(self._command(cname))
        looping = "keeps crashing" if restarts else "exited with an error"
        if why == "OOMKilled" or (code == 137 and "oom" in text.lower()):
            limit = self._limit(cname, "memory")
            return self.result(
                f"Container {cname} of pod {self.name} {looping}: it used more memory than "
                f"its limit{f' ({limit})' if limit else ''} and was killed (OOMKilled).",
                "OOMKilled", evidence=evidence, commands=(self.describe, logs_cmd),
                fix="Raise resources.limits.memory, or make the program use less memory.")
        not_found = re.search(r'exec: "([^"]+)": executable file not found', text) \
            or re.search(r"(?:sh: )?([^\s:]+): (?:command )?not found", " ".join(tail))
        if code in (126, 127, 128) and (not_found or why in ("StartError", "ContainerCannotRun")):
            program = not_found.group(1) if not_found else (command.split() or ["?"])[0]
            return self.result(
                f"Container {cname} of pod {self.name} {looping}: its command {program!r} "
                "does not exist in the image (exit code "
                f"{code}: command not found).", "CommandNotFound", evidence=evidence,
                commands=(self.describe, logs_cmd),
                fix="Correct the container's command or args (a typo, or a program the image "
                    "does not have).")
        if killed is not None:
            unhealthy = _last(self.events, "Unhealthy", "Liveness probe failed") \
                or _last(self.events, "Unhealthy", "Startup probe failed")
            evidence.insert(0, _quote_event(killed))
            if unhealthy is not None:
                evidence.insert(1, _quote_event(unhealthy))
            return self.result(
                f"Container {cname} of pod {self.name} keeps being restarted because its "
                "liveness probe fails, so the kubelet kills it"
                + (f" ({_message(unhealthy)})" if unhealthy else "") + ".",
                "LivenessProbe", evidence=evidence, commands=(self.describe, logs_cmd),
                fix="Point the livenessProbe at a path and port the app answers, or give it "
                    "more time (initialDelaySeconds, failureThreshold).")
        # "No log" only when the log was read (objects from a file may not carry it).
        known = f"{self.name}/{cname}" in self.objects.previous_logs
        said = f"; its last log line: {tail[-1]!r}" if tail else \
            "; it wrote no log" if known else ""
        if code is None:
            return self.result(
                f"Container {cname} of pod {self.name} keeps crashing: it has restarted "
                f"{restarts} times and the kubelet now waits longer before each restart.",
                "CrashLoopBackOff", evidence=evidence, commands=(self.describe, logs_cmd),
                fix="Read the log of the crashed run (the command above) and correct the "
                    "program, its command or its configuration.")
        if code == 0:
            return self.result(
                f"Container {cname} of pod {self.name} keeps restarting because its program "
                "finishes (exit code 0) and the pod's restartPolicy is Always: a container "
                "in a Deployment must keep running" + said + ".", "CrashLoopBackOff",
                evidence=evidence, commands=(self.describe, logs_cmd),
                fix="Run a program that stays up (a server), or use a Job for a task that "
                    "ends.")
        return self.result(
            f"Container {cname} of pod {self.name} {looping}: its program "
            f"{f'({command}) ' if command else ''}exits with code {code}{said}.",
            "CrashLoopBackOff" if restarts else "Error", evidence=evidence,
            commands=(self.describe, logs_cmd),
            fix="Read the log of the crashed run (the command above) and fix the program, "
                "its command or its configuration.")

    def _is_init(self, container: str) -> bool:
        return any(c.get("name") == container for c in self.spec.get("initContainers") or [])

    def _command(self, container: str) -> list[str]:
        for c in (self.spec.get("containers") or []) + (self.spec.get("initContainers") or []):
            if c.get("name") == container:
                return [str(x) for x in (c.get("command") or []) + (c.get("args") or [])]
        return []

    def _limit(self, container: str, resource: str) -> str:
        for c in (self.spec.get("containers") or []) + (self.spec.get("initContainers") or []):
            if c.get("name") == container:
                return str(((c.get("resources") or {}).get("limits") or {}).get(resource, ""))
        return ""

    def failed(self) -> Diagnosis:
        reason = self.status.get("reason", "")
        message = self.status.get("message", "")
        return self.result(
            f"Pod {self.name} has failed{f' ({reason})' if reason else ''}"
            f"{f': {message}' if message else ''}.", reason or "Failed",
            evidence=(f"Status: Failed {reason} {message}".strip(),),
            fix="A failed pod is not restarted; delete it (its Deployment makes a new one) "
                "after fixing the cause.")

    def not_ready(self) -> Diagnosis:
        unhealthy = _last(self.events, "Unhealthy", "Readiness probe failed") \
            or _last(self.events, "Unhealthy")
        cname = ""
        for status in self.status.get("containerStatuses") or []:
            if not status.get("ready"):
                cname = status.get("name", "")
                break
        probe = next((c.get("readinessProbe") for c in self.spec.get("containers") or []
                      if c.get("name") == cname), None)
        if unhealthy is not None:
            said = _message(unhealthy)
            where = _probe_target(probe) if probe else ""
            # The kubelet's prober writes "Readiness probe failed: " and then what the probe
            # printed; an exec probe that exits non-zero without output leaves nothing after
            # the colon (recorded on kind: exec [sh -c exit 1]), and "(Readiness probe
            # failed:)" tells a beginner nothing.
            detail = said.split("probe failed:", 1)[1].strip() if "probe failed:" in said \
                else said.strip()
            if detail:
                why = f"fails ({said})"
            elif probe and probe.get("exec"):
                why = "fails: the command exits with an error and prints nothing"
            else:
                why = "fails (the kubelet gives no reason)"
            return self.result(
                f"Pod {self.name} is running but not ready, so Services send it no traffic: "
                f"its readiness probe{where} {why}.", "ReadinessProbe",
                evidence=(_quote_event(unhealthy), "Ready condition: False"),
                commands=(self.describe,),
                fix="Make the probe's command exit 0 once the app is ready, or fix the app "
                    "so the command succeeds." if probe and probe.get("exec") else
                    "Make the probe match the app (the path and port it answers on), or fix "
                    "the app so the probe succeeds.")
        gates = self.spec.get("readinessGates") or []
        if gates:
            return self.result(
                f"Pod {self.name} is running but waits for readiness gates "
                f"({', '.join(g.get('conditionType', '') for g in gates)}).", "ReadinessGate",
                fix="Whatever sets those conditions (a load balancer controller) must do so.")
        return self.result(
            f"Pod {self.name} is running but not ready yet"
            + (": its readiness probe has not passed yet" if probe else "") + ".",
            "NotReady", evidence=("Ready condition: False",),
            fix="Give it a moment; if it stays so, look at the events in kubectl describe.")

    def starting(self) -> Diagnosis:
        mount = _last(self.events, "FailedMount")
        if mount is not None:
            said = _message(mount)
            missing = re.search(r'(configmap|secret) "([^"]+)" not found', said)
            fix = (f"Create the {missing.group(1)} {missing.group(2)} (or fix the volume's "
                   "name); the kubelet retries by itself." if missing
                   else "Correct the volume the message names.")
            return self.result(
                f"Pod {self.name} is stuck creating its containers: a volume cannot be "
                f"mounted ({said}).", "FailedMount", evidence=(_quote_event(mount),),
                fix=fix)
        sandbox = _last(self.events, "FailedCreatePodSandBox")
        if sandbox is not None:
            return self.result(
                f"Pod {self.name} is stuck creating: the node could not set up its sandbox "
                f"({_message(sandbox)}).", "FailedCreatePodSandBox",
                evidence=(_quote_event(sandbox),),
                fix="Usually the node's network plugin: kubectl describe node.")
        pulling = _last(self.events, "Pulling")
        evidence = (_quote_event(pulling),) if pulling is not None else ()
        return self.result(
            f"Pod {self.name} is starting (its image is being pulled or its containers "
            "created); nothing is wrong yet.", "ContainerCreating", ok=True,
            evidence=evidence, fix="Give it a moment.")


def _verdict_reasons(verdict: str) -> tuple[int | None, list[tuple[int, str]]] | None:
    """kube-scheduler's FitError message as (nodes considered, [(nodes, reason)…]).

    The wording has changed: ``0/3 nodes are available: 1 A, 2 B.`` since 1.8;
    ``No nodes are available that match all of the (following) predicates:: A (1), B (2).``
    in 1.6 and 1.7 (no node total); ``failed to fit in any node`` followed by one ``fit failure
    on node (name): reason`` line per node before that.
    """
    head = re.match(r"0/(\d+) nodes are available:\s*(.*?)\.?$", verdict, re.S)
    if head:
        total = int(head.group(1))
        reasons: list[tuple[int, str]] = []
        for part in (p.strip() for p in re.split(r",\s*(?=\d+ )", head.group(2))):
            m = re.match(r"(\d+)\s+(.*)", part)
            if m:
                reasons.append((int(m.group(1)), m.group(2)))
            elif part:
                reasons.append((total, part))
        return total, reasons
    old = re.match(r"No nodes are available that match all of the (?:following )?predicates:+"
                   r"\s*(.*?)\.?$", verdict, re.S)
    if old:
        return None, [(int(n), r.strip()) for r, n in
                      re.findall(r"([^,(]+?)\s*\((\d+)\)", old.group(1))]
    fits = re.findall(r"fit failure on node \(([^)]*)\):\s*(.+)", verdict)
    if "failed to fit in any node" in verdict and fits:
        counted: dict[str, int] = {}
        for _node, reason in fits:
            counted[reason.strip()] = counted.get(reason.strip(), 0) + 1
        return len({node for node, _ in fits}), [(n, r) for r, n in counted.items()]
    return None


def _probe_target(probe: Obj) -> str:
    if probe.get("httpGet"):
        get = probe["httpGet"]
        return f" (GET {get.get('path', '/')} on port {get.get('port')})"
    if probe.get("tcpSocket"):
        return f" (TCP port {probe['tcpSocket'].get('port')})"
    if probe.get("exec"):
        return f" (command {' '.join(probe['exec'].get('command') or [])})"
    return ""


def _split_image(image: str) -> tuple[str, str]:
    """``nginx:1.27`` → (``nginx``, ``1.27``); a registry port is not a tag."""
    if "@" in image:
        repo, _, digest = image.partition("@")
        return repo, digest
    head, sep, tag = image.rpartition(":")
    if sep and "/" not in tag:
        return head, tag
    return image, "latest"


# -------------------------------------------------------------------------------- workloads

def diagnose_deployment(name: str, objects: Objects, namespace: str = "default") -> Diagnosis:
    """Why Deployment ``name`` does not have all its replicas up to date and ready."""
    deploy = next((d for d in objects.deployments if _name(d) == name), None)
    subject = f"deployment/{name}"
    if deploy is None:
        return _not_found("deployment", "deployment", name, namespace)
    flag = _ns_flag(namespace)
    describe = f"kubectl describe deployment {name}{flag}"
    spec, status = deploy.get("spec") or {}, deploy.get("status") or {}
    want = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    ready = int(status.get("readyReplicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    counts = f"{ready} of {want} pods ready, {updated} up to date"
    evidence = [f"Replicas: {want} desired | {updated} updated | {total} total | "
                f"{ready} available" if status.get("availableReplicas") is None else
                f"Replicas: {want} desired | {updated} updated | {total} total | "
                f"{status.get('availableReplicas', 0)} available"]
    if spec.get("paused"):
        return Diagnosis(
            subject, namespace,
            f"Deployment {name} is paused ({counts}): changes to its pod template are not "
            "rolled out until it is resumed.", "Paused", False,
            tuple([*evidence, "spec.paused: true"]), (describe,),
            f"kubectl rollout resume deployment/{name}{flag}")
    failure = _condition(deploy, "ReplicaFailure")
    owned = [rs for rs in objects.replicasets
             if any(o.get("kind") == "Deployment" and o.get("name") == name
                    for o in _meta(rs, "ownerReferences", []) or [])]
    rs_events = [e for rs in owned for e in _events_for(objects, "ReplicaSet", _name(rs))]
    quota_event = _last(rs_events, "FailedCreate", "exceeded quota") \
        or _last(rs_events, "FailedCreate")
    if (failure and failure.get("status") == "True") or quota_event is not None:
        said = str((failure or {}).get("message") or (_message(quota_event)
                                                         if quota_event else ""))
        if failure:
            evidence.append(f"ReplicaFailure=True ({failure.get('reason')}): {said}")
        if quota_event is not None:
            evidence.append(_quote_event(quota_event))
        quota = re.search(r"exceeded quota: ([^,]+), requested: ([^,]+), used: ([^,]+), "
                          r"limited: (\S+)", said)
        if quota:
            qname, asked, used, limit = quota.groups()
            return Diagnosis(
                subject, namespace,
                f"Deployment {name} cannot create more pods ({counts}): the ResourceQuota "
                f"{qname} forbids it — one more pod would need {asked} but {used} is already "
                f"used of {limit}.", "QuotaExceeded", False, tuple(evidence),
                (describe, f"kubectl describe resourcequota {qname}{flag}"),
                "Lower the pods' requests or the replica count, delete pods you no longer "
                "need, or raise the quota.")
        return Diagnosis(
            subject, namespace, f"Deployment {name} cannot create its pods ({counts}): {said}",
            "ReplicaFailure", False, tuple(evidence), (describe,),
            "Read the message: it says what the API server refused.")
    progressing = _condition(deploy, "Progressing")
    stalled = progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded"
    if stalled and progressing is not None:
        evidence.append(f"Progressing=False (ProgressDeadlineExceeded): "
                        f"{progressing.get('message', '')}")
    if ready >= want and updated >= want and total == want and not stalled:
        return Diagnosis(subject, namespace,
                         f"Deployment {name} is fine: {ready} of {want} pods ready and up to "
                         "date.", "Available", True, tuple(evidence),
                         (f"kubectl get deployment {name}{flag}",))
    pods = _pods_of(deploy, owned, objects)
    sick = _first_sick(pods, objects, namespace)
    deadline = spec.get("progressDeadlineSeconds", 600)
    if sick is not None:
        lead = (f"Deployment {name} has stopped progressing ({counts}; it gave up after "
                f"{deadline}s)" if stalled else f"Deployment {name} is not ready ({counts})")
        return Diagnosis(
            subject, namespace, f"{lead}: {sick.problem}", sick.reason, False,
            tuple(evidence) + sick.evidence, (describe, *sick.commands), sick.fix)
    if stalled:
        return Diagnosis(
            subject, namespace,
            f"Deployment {name} has stopped progressing ({counts}): its new pods did not "
            f"become ready within {deadline}s.", "ProgressDeadlineExceeded", False,
            tuple(evidence), (describe, f"kubectl rollout status deployment/{name}{flag}"),
            f"Look at the new pods (kubectl get pods{flag}), fix the cause, or roll back: "
            f"kubectl rollout undo deployment/{name}{flag}.")
    return Diagnosis(
        subject, namespace,
        f"Deployment {name} is still rolling out ({counts}); no pod shows a problem yet.",
        "Progressing", True, tuple(evidence),
        (f"kubectl rollout status deployment/{name}{flag}",), "Give it a moment.")


def _pods_of(deploy: Obj, owned: list[Obj], objects: Objects) -> list[Obj]:
    names = {_name(rs) for rs in owned}
    pods = [p for p in objects.pods
            if any(o.get("kind") == "ReplicaSet" and o.get("name") in names
                   for o in _meta(p, "ownerReferences", []) or [])]
    if not pods:
        selector = (deploy.get("spec") or {}).get("selector")
        pods = [p for p in objects.pods if _matches(selector, _meta(p, "labels", {}))]
    # The newest ReplicaSet's pods first: those are the ones a rollout waits for.
    newest = max(owned, key=lambda rs: int(_meta(rs, "annotations", {}).get(
        "deployment.kubernetes.io/revision", 0) or 0), default=None)
    if newest is not None:
        pods.sort(key=lambda p: not any(o.get("name") == _name(newest)
                                        for o in _meta(p, "ownerReferences", []) or []))
    return pods


def _first_sick(pods: list[Obj], objects: Objects, namespace: str) -> Diagnosis | None:
    """The first pod diagnosis that shows a problem (not one that is merely starting)."""
    for pod in pods:
        found = _PodDoctor(pod, objects, namespace).run()
        if not found.ok:
            return found
    return None


# --------------------------------------------------------------------------------- services

def diagnose_service(name: str, objects: Objects, namespace: str = "default") -> Diagnosis:
    """Why Service ``name`` sends traffic nowhere (or that it has ready endpoints)."""
    svc = next((s for s in objects.services if _name(s) == name), None)
    subject = f"service/{name}"
    if svc is None:
        return _not_found("service", "svc", name, namespace)
    flag = _ns_flag(namespace)
    spec = svc.get("spec") or {}
    describe = f"kubectl describe service {name}{flag}"
    endpoints_cmd = f"kubectl get endpointslices -l kubernetes.io/service-name={name}{flag}"
    if spec.get("type") == "ExternalName":
        return Diagnosis(subject, namespace,
                         f"Service {name} is an alias for {spec.get('externalName')}; it has "
                         "no pods of its own.", "ExternalName", True, (), (describe,))
    selector = spec.get("selector") or {}
    slices = [s for s in objects.endpointslices
              if _meta(s, "labels", {}).get("kubernetes.io/service-name") == name]
    endpoints = [e for s in slices for e in s.get("endpoints") or []]
    ready = [e for e in endpoints if (e.get("conditions") or {}).get("ready") is not False]
    if not selector:
        if ready:
            return Diagnosis(subject, namespace,
                             f"Service {name} has no selector; its {len(ready)} endpoints are "
                             "managed by hand.", "ManualEndpoints", True, (), (describe,))
        return Diagnosis(
            subject, namespace,
            f"Service {name} has no selector, so Kubernetes never adds pods to it and it has "
            "no endpoints.", "NoSelector", False, ("Selector: <none>",),
            (describe, endpoints_cmd),
            "Add a selector matching your pods' labels (kubectl expose deployment <name> "
            "writes one for you).")
    wanted = _selector_text(selector)
    evidence = [f"Selector: {wanted}"]
    pods = [p for p in objects.pods
            if _matches({"matchLabels": selector}, _meta(p, "labels", {}))
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    list_cmd = f"kubectl get pods -l {wanted}{flag}"
    if not pods:
        near = _near_labels(selector, objects.pods)
        hint = f" (pods here have {near})" if near else ""
        evidence.append(f"{list_cmd} → No resources found")
        return Diagnosis(
            subject, namespace,
            f"Service {name} has no endpoints because its selector {wanted} matches no "
            f"pod{hint}.", "SelectorMatchesNothing", False, tuple(evidence),
            (list_cmd, "kubectl get pods --show-labels" + flag, describe),
            "Make the Service's selector equal the pods' labels (fix the Service, or the "
            "labels in the Deployment's pod template).")
    port_problem = _port_mismatch(spec, pods)
    if ready and port_problem is None:
        return Diagnosis(subject, namespace,
                         f"Service {name} is fine: it sends traffic to {len(ready)} ready "
                         f"pod{'s' if len(ready) != 1 else ''}.", "Endpoints", True,
                         tuple([*evidence, f"Endpoints: {len(ready)} ready"]),
                         (endpoints_cmd,))
    if port_problem is not None:
        evidence.append(port_problem[1])
        return Diagnosis(
            subject, namespace,
            f"Service {name} reaches its pods on the wrong port: {port_problem[0]}",
            "TargetPortMismatch",
            False, tuple(evidence), (describe, list_cmd),
            "Set the Service's targetPort to the port the container listens on "
            "(its containerPort).")
    sick = _first_sick(pods, objects, namespace)
    evidence.append(f"{len(pods)} pod{'s' if len(pods) != 1 else ''} match, 0 ready")
    if sick is not None:
        return Diagnosis(
            subject, namespace,
            f"Service {name} has no ready endpoints: its selector matches {len(pods)} "
            f"pod{'s' if len(pods) != 1 else ''}, but none is ready — {sick.problem}",
            sick.reason, False, tuple(evidence) + sick.evidence,
            (list_cmd, *sick.commands), sick.fix)
    return Diagnosis(
        subject, namespace,
        f"Service {name} has no ready endpoints yet: its {len(pods)} pods are still "
        "starting.", "PodsNotReady", True, tuple(evidence), (list_cmd,), "Give it a moment.")


def _near_labels(selector: Mapping[str, str], pods: list[Obj]) -> str:
    """The labels pods carry for the selector's keys (or all pod labels), for a hint."""
    seen: set[str] = set()
    for pod in pods:
        labels = _meta(pod, "labels", {}) or {}
        keys = [k for k in selector if k in labels] or [
            k for k in labels if k not in ("pod-template-hash",)]
        seen.update(f"{k}={labels[k]}" for k in keys)
    return ", ".join(sorted(seen)[:5])


def _port_mismatch(spec: Obj, pods: list[Obj]) -> tuple[str, str] | None:
    """A targetPort that no matching pod's containers declare, as (problem, evidence)."""
    declared: dict[str, set[Any]] = {"numbers": set(), "names": set()}
    for pod in pods:
        for c in (pod.get("spec") or {}).get("containers") or []:
            for p in c.get("ports") or []:
                declared["numbers"].add(int(p.get("containerPort", 0)))
                if p.get("name"):
                    declared["names"].add(p["name"])
    if not declared["numbers"]:
        return None  # containers that declare no ports: nothing to compare with
    for port in spec.get("ports") or []:
        target = port.get("targetPort", port.get("port"))
        listen = ", ".join(str(n) for n in sorted(declared["numbers"]))
        if isinstance(target, str) and not target.isdigit() and target not in declared["names"]:
            return (f"its targetPort {target!r} is a port name that none of its pods' "
                    f"containers declares, so no pod can receive its traffic (their ports: "
                    f"{listen}).", f"TargetPort: {target}; container ports: {listen}")
        if (isinstance(target, int) or str(target).isdigit()) \
                and int(target) not in declared["numbers"]:
            return (f"it forwards port {port.get('port')} to targetPort {target}, but its "
                    f"pods' containers listen on {listen}, so the traffic reaches a port "
                    "nothing answers on.",
                    f"TargetPort: {target}/{port.get('protocol', 'TCP')}; "
                    f"containerPort: {listen}")
    return None


# ------------------------------------------------------------------------------------ nodes

def diagnose_node(name: str, objects: Objects) -> Diagnosis:
    """Whether node ``name`` is Ready and schedulable, and if not, why."""
    node = next((n for n in objects.nodes if _name(n) == name), None)
    subject = f"node/{name}"
    if node is None:
        return _not_found("node", "node", name, "")
    describe = f"kubectl describe node {name}"
    ready, cond = _node_ready(node)
    evidence = []
    if cond is not None:
        evidence.append(f"Ready={cond.get('status')} ({cond.get('reason', '')}): "
                        f"{cond.get('message', '')}")
    taints = [f"{t.get('key')}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect')}"
              for t in (node.get("spec") or {}).get("taints") or []]
    if taints:
        evidence.append(f"Taints: {', '.join(taints)}")
    if not ready:
        status = (cond or {}).get("status", "Unknown")
        if status == "Unknown":
            problem = (f"Node {name} is NotReady: its kubelet has stopped reporting (the "
                       "machine is down, disconnected, or the kubelet stopped), so Kubernetes "
                       "no longer knows what runs there.")
            fix = ("Restart the node or its kubelet. Pods of Deployments there are evicted "
                   "and recreated on other nodes after the toleration of 5 minutes.")
        else:
            problem = (f"Node {name} is NotReady: its kubelet reports a problem "
                       f"({(cond or {}).get('message', 'no message')}).")
            fix = "Repair what the message names (often the network plugin or the runtime)."
        return Diagnosis(subject, "", problem, "NodeNotReady", False, tuple(evidence),
                         (describe, "kubectl get nodes"), fix)
    pressure = [c for c in (node.get("status") or {}).get("conditions") or []
                if c.get("type") in ("MemoryPressure", "DiskPressure", "PIDPressure",
                                     "NetworkUnavailable") and c.get("status") == "True"]
    if pressure:
        kinds = ", ".join(c.get("type", "") for c in pressure)
        evidence += [f"{c.get('type')}=True: {c.get('message', '')}" for c in pressure]
        return Diagnosis(subject, "", f"Node {name} is Ready but under {kinds}: the kubelet "
                         "evicts pods and the scheduler avoids it.", "NodePressure", False,
                         tuple(evidence), (describe,),
                         "Free memory or disk on the node, or move workloads elsewhere.")
    if (node.get("spec") or {}).get("unschedulable"):
        return Diagnosis(subject, "", f"Node {name} is Ready but cordoned: no new pods are "
                         "placed on it.", "Cordoned", False,
                         tuple([*evidence, "Unschedulable: true"]), (describe,),
                         f"kubectl uncordon {name}")
    return Diagnosis(subject, "", f"Node {name} is Ready.", "Ready", True, tuple(evidence),
                     (describe,))
