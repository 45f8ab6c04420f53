"""kubelab.why on objects recorded from real clusters (kind, EKS, AKS, GKE), not made by us.

The recordings live in ``recorded/`` with their origin in ``recorded/PROVENANCE.toml``. Most
are ``kubectl describe pod`` printouts, the form people paste; ``describe_pod`` reads one back
into the API fields kubectl's describe printer took them from (``Node:`` → ``spec.nodeName``,
``State: Waiting / Reason:`` → ``state.waiting.reason``, ``Last State: Terminated`` →
``lastState.terminated``, the Conditions and Events tables → ``status.conditions`` and
``v1.Event``s). A printout leaves some fields out (the PodScheduled condition's message, a
waiting state's message, event timestamps), so these cases also check that a diagnosis holds
up when only what ``describe`` shows is known — as it must on a cluster whose API answers
with less than the sandbox does.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubelab.why import Diagnosis, Objects, diagnose
from why.expect import assert_diagnosis

RECORDED = Path(__file__).parent / "recorded"
Obj = dict[str, Any]

# --------------------------------------------------------------------- describe → objects

_TOP = re.compile(r"^([A-Z][A-Za-z -]*):\s*(.*)$")
_EVENT = re.compile(r"^\s+(Normal|Warning)\s+(\S+)\s+(\S+(?: \(x\d+ over \S+\))?)\s+"
                    r"(\S+(?:, \S+)?)\s+(.*)$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _sections(text: str) -> dict[str, list[str]]:
    """Top-level ``Key: value`` lines and the indented lines under each."""
    found: dict[str, list[str]] = {}
    key = ""
    for line in text.splitlines():
        top = _TOP.match(line) if line and not line[0].isspace() else None
        if top:
            key = top.group(1)
            found[key] = [top.group(2)]
        elif key:
            found[key].append(line)
    return found


def _quantities(lines: list[str]) -> Obj:
    return {k.strip(): v.strip() for k, _, v in (ln.strip().partition(":") for ln in lines)}


def _state(head: str, detail: dict[str, str]) -> Obj:
    word = head.split()[0].lower() if head.split() else ""
    body: Obj = {}
    if detail.get("Reason"):
        body["reason"] = detail["Reason"]
    if detail.get("Message"):
        body["message"] = detail["Message"]
    if detail.get("Exit Code"):
        body["exitCode"] = int(detail["Exit Code"])
    return {word: body} if word else {}


def _probe(text: str) -> Obj:
    """A probe line as describe prints it (``exec [sh -c exit 1] delay=5s …``,
    ``http-get http://:8080/healthz …``, ``tcp-socket :6379 …``) → the probe's handler.

    describe joins an exec command's words with spaces, so the reader keeps the words it
    shows; joined again they read as the printout does.
    """
    if text.startswith("exec ["):
        return {"exec": {"command": text[len("exec ["):text.index("]")].split()}}
    kind, _, rest = text.partition(" ")
    target = rest.split()[0] if rest else ""
    if kind == "http-get":
        hostport, _, path = target.split("://", 1)[1].partition("/")
        port = hostport.rpartition(":")[2]
        return {"httpGet": {"path": "/" + path, "port": int(port) if port.isdigit() else port}}
    if kind == "tcp-socket":
        port = target.rpartition(":")[2]
        return {"tcpSocket": {"port": int(port) if port.isdigit() else port}}
    return {}


def _containers(lines: list[str]) -> tuple[list[Obj], list[Obj]]:
    """(spec containers, container statuses) from a ``Containers:`` section."""
    specs: list[Obj] = []
    statuses: list[Obj] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _indent(line) == 2 and line.rstrip().endswith(":"):
            name = line.strip()[:-1]
            spec: Obj = {"name": name}
            status: Obj = {"name": name, "ready": False, "restartCount": 0}
            i += 1
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) >= 4):
                field, _, value = lines[i].strip().partition(":")
                value = value.strip()
                block = []
                j = i + 1
                while j < len(lines) and (_indent(lines[j]) >= 6 or not lines[j].strip()):
                    block.append(lines[j])
                    j += 1
                if _indent(lines[i]) == 4:
                    if field == "Image":
                        spec["image"] = status["image"] = value
                    elif field in ("Command", "Args"):
                        spec[field.lower()] = [b.strip() for b in block if b.strip()]
                    elif field in ("State", "Last State"):
                        detail = {k.strip(): v.strip() for k, _, v in
                                  (b.strip().partition(":") for b in block if b.strip())}
                        status["state" if field == "State" else "lastState"] = \
                            _state(value, detail)
                    elif field == "Ready":
                        status["ready"] = value == "True"
                    elif field == "Restart Count":
                        status["restartCount"] = int(value)
                    elif field in ("Limits", "Requests"):
                        spec.setdefault("resources", {})[field.lower()] = _quantities(block)
                    elif field in ("Liveness", "Readiness", "Startup"):
                        spec[f"{field.lower()}Probe"] = _probe(value)
                i = j
            specs.append(spec)
            statuses.append(status)
        else:
            i += 1
    return specs, statuses


def _events(lines: list[str], kind: str, name: str, namespace: str) -> list[Obj]:
    events: list[Obj] = []
    for line in lines:
        m = _EVENT.match(line.replace('\\"', '"'))
        if not m:
            continue
        type_, reason, age, source, message = m.groups()
        times = re.search(r"\(x(\d+) over", age)
        events.append({"apiVersion": "v1", "kind": "Event",
                       "metadata": {"name": f"{name}.{len(events)}", "namespace": namespace},
                       "involvedObject": {"kind": kind, "name": name, "namespace": namespace},
                       "type": type_, "reason": reason, "message": message.rstrip(),
                       "count": int(times.group(1)) if times else 1,
                       "source": {"component": source.split(",")[0]}})
    return events


def describe_pod(text: str) -> tuple[Obj, list[Obj]]:
    """A ``kubectl describe pod`` printout → (the Pod as the API serves it, its events)."""
    s = _sections(text)
    name, namespace = s["Name"][0], s["Namespace"][0]
    node = s.get("Node", ["<none>"])[0]
    labels = dict(item.strip().split("=", 1) for item in
                  [s.get("Labels", ["<none>"])[0], *s.get("Labels", [])[1:]]
                  if "=" in item)
    spec: Obj = {"restartPolicy": "Always"}
    if node and node != "<none>":
        spec["nodeName"] = node.split("/")[0]
    selectors = s.get("Node-Selectors", ["<none>"])[0]
    if selectors != "<none>":
        spec["nodeSelector"] = dict(p.split("=", 1) for p in selectors.split(","))
    spec["initContainers"], init_statuses = _containers(s.get("Init Containers", [])[1:])
    spec["containers"], statuses = _containers(s.get("Containers", [])[1:])
    claims = [ln.split(":", 1)[1].strip() for ln in s.get("Volumes", [])
              if ln.strip().startswith("ClaimName:")]
    spec["volumes"] = [{"name": c, "persistentVolumeClaim": {"claimName": c}} for c in claims]
    conditions = [{"type": parts[0], "status": parts[1]} for parts in
                  (ln.split() for ln in s.get("Conditions", [])[2:]) if len(parts) == 2]
    status: Obj = {"phase": s.get("Status", ["Pending"])[0], "conditions": conditions,
                   "containerStatuses": statuses}
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    owner = s.get("Controlled By", [""])[0]
    meta: Obj = {"name": name, "namespace": namespace, "labels": labels}
    if "/" in owner:
        meta["ownerReferences"] = [{"kind": owner.split("/")[0], "name": owner.split("/")[1]}]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}
    return pod, _events(s.get("Events", []), "Pod", name, namespace)


def describe_claim(text: str) -> tuple[Obj, list[Obj]]:
    """A ``kubectl describe persistentvolumeclaim`` printout → (the claim, its events)."""
    s = _sections(text)
    name, namespace = s["Name"][0], s["Namespace"][0]
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": name, "namespace": namespace},
             "spec": {"storageClassName": s["StorageClass"][0]},
             "status": {"phase": s["Status"][0]}}
    return claim, _events(s.get("Events", []), "PersistentVolumeClaim", name, namespace)


def load(*files: str) -> tuple[Objects, str]:
    """The recorded files of one case as :class:`Objects`, and their namespace."""
    data: dict[str, list[Obj]] = {"pods": [], "events": [], "persistentvolumeclaims": []}
    namespace = "default"
    for file in files:
        text = (RECORDED / file).read_text()
        if file.endswith(".pvc.describe.txt"):
            claim, events = describe_claim(text)
            data["persistentvolumeclaims"].append(claim)
            data["events"] += events
        elif file.endswith(".describe.txt"):
            pod, events = describe_pod(text)
            data["pods"].append(pod)
            data["events"] += events
            namespace = pod["metadata"]["namespace"]
        else:
            obj = yaml.safe_load(text)
            plural = {"Pod": "pods", "Deployment": "deployments"}[obj["kind"]]
            data.setdefault(plural, []).append(obj)
            namespace = obj["metadata"]["namespace"]
    return Objects.from_dict(data), namespace


# ------------------------------------------------------------------------------ the cases

# case -> (files, target, reason, words the problem names, words the fix names,
#          a fragment one evidence line quotes, a command offered)
CASES: dict[str, tuple[tuple[str, ...], str, str, tuple[str, ...], tuple[str, ...], str, str]] = {
    "kind-oomkilled": (
        ("kind-oomkilled.describe.txt",), "pod/analytics-exporter-fast-76897854c-cw5wh",
        "OOMKilled", ("memory-eater", "more memory than its limit (100Mi)", "OOMKilled"),
        ("limits.memory",), "Terminated (OOMKilled), Exit Code: 137",
        "kubectl logs analytics-exporter-fast-76897854c-cw5wh --previous"),
    "kind-init-exec-not-found": (
        ("kind-init-exec-not-found.describe.txt",), "pod/logging-agent", "CommandNotFound",
        ("downloader", "'wge'", "does not exist in the image", "128"), ("command",),
        'exec: "wge": executable file not found in $PATH',
        "kubectl logs logging-agent -c downloader --previous"),
    "eks-pull-access-denied": (
        ("eks-pull-access-denied.describe.txt",),
        "pod/customer-relations-webapp-5d98ffcfd-tz4nc", "UnknownImage",
        ("yourcompany/crw:latest", "no repository called yourcompany/crw"),
        ("Correct the image name",), "pull access denied, repository does not exist",
        "kubectl describe pod customer-relations-webapp-5d98ffcfd-tz4nc"),
    "aks-crashloop-exit-255": (
        ("aks-crashloop-exit-255.pod.yaml",), "pod/frontend-service", "CrashLoopBackOff",
        ("stress", "keeps crashing", "(stress --cpu 100) exits with code 255."), ("log",),
        "Terminated (Error), Exit Code: 255", "kubectl logs frontend-service --previous"),
    "pending-node-selector": (
        ("pending-node-selector.describe.txt",), "pod/user-profile-import", "NodeSelector",
        ("cannot be scheduled", "the cluster's only node cannot take it",
         "1 node does not match", "nodeSelector label=someLabel"),
        ("--show-labels",), "didn't match Pod's node affinity/selector",
        "kubectl describe pod user-profile-import -n app-13a"),
    "pending-unbound-claim": (
        ("pending-unbound-claim.describe.txt", "pending-unbound-claim.pvc.describe.txt"),
        "pod/redis-747ffc844f-f9ghd", "UnboundClaim",
        ("none of the 2 nodes", "claim redis-standard-pvc is Pending (storage class "
         "standard-v2), and no storage class standard-v2 exists"), ("storageClassName",),
        'storageclass.storage.k8s.io "standard-v2" not found',
        "kubectl describe pod redis-747ffc844f-f9ghd -n app-24a"),
    "pending-insufficient-gpu": (
        ("pending-insufficient-gpu.describe.txt",),
        "pod/user-profile-resources-659d4dd659-cq4kq", "InsufficientResources",
        ("1 node does not have enough free nvidia.com/gpu", "it asks for 5 nvidia.com/gpu"),
        ("resources.requests.nvidia.com/gpu",), "1 Insufficient nvidia.com/gpu",
        "kubectl describe nodes"),
    "kind-deploy-progress-deadline": (
        ("kind-deploy-progress-deadline.deployment.yaml",), "deploy/user-profile-resources",
        "ProgressDeadlineExceeded",
        ("user-profile-resources has stopped progressing", "0 of 1 pods ready",
         "did not become ready within 600s"), ("kubectl rollout undo deployment/"
                                               "user-profile-resources",),
        'ReplicaSet "user-profile-resources-659d4dd659" has timed out progressing',
        "kubectl rollout status deployment/user-profile-resources"),
    "kind-readiness-probe-failed": (
        ("kind-readiness-probe-failed.describe.txt",), "pod/search-engine-service",
        "ReadinessProbe",
        ("running but not ready", "(command sh -c exit 1)",
         "the command exits with an error and prints nothing"),
        ("exit 0",), "Readiness probe failed:", "kubectl describe pod search-engine-service"),
}


def case(name: str) -> Diagnosis:
    files, target, *_ = CASES[name]
    objects, namespace = load(*files)
    return diagnose(target, objects, namespace)


@pytest.mark.parametrize("name", sorted(CASES))
def test_recorded_situation(name: str) -> None:
    _files, _target, reason, words, fix_words, evidence, command = CASES[name]
    found = case(name)
    assert_diagnosis(found, reason, words, fix_words, evidence, command)


@pytest.mark.parametrize("name", sorted(CASES))
def test_recorded_worded_for_a_beginner(name: str) -> None:
    found = case(name)
    assert found.problem.endswith("."), found.problem
    for jargon in ("rpc error", "desc =", "preemption", "0/", "Back-off", "OCI runtime"):
        assert jargon not in found.problem, (jargon, found.problem)
    assert len(found.problem) < 420, found.problem


def test_a_pod_that_recovered_after_its_node_was_not_ready_is_fine() -> None:
    """kind: the node-controller's NodeNotReady event stays on the pod after the node came
    back; the pod is Ready again, so nothing is wrong now."""
    objects, ns = load("kind-recovered-after-node-not-ready.describe.txt")
    found = diagnose("pod/orders-app-6c8868cb6d-qcv2t", objects, ns)
    assert found.ok and found.reason == "Ready", found.text()
    assert "node kind-double-node-worker" in found.evidence[0]


def test_an_exec_probe_that_prints_nothing_is_not_quoted_as_an_empty_message() -> None:
    """kind: the kubelet's event is "Readiness probe failed:" and nothing after it (the probe
    is ``sh -c exit 1``); the problem must not read "(Readiness probe failed:)"."""
    found = case("kind-readiness-probe-failed")
    assert "probe failed:)" not in found.problem and "()" not in found.problem, found.problem
    objects, _ = load("kind-readiness-probe-failed.describe.txt")
    probe = objects.pods[0]["spec"]["containers"][0]["readinessProbe"]
    assert probe == {"exec": {"command": ["sh", "-c", "exit", "1"]}}


@pytest.mark.parametrize(("files", "target", "node"), [
    (("gke-running.describe.txt",), "pod/payment-processor-598445cb54-xd5s8",
     "gke-natan-develop-pool-2-41363a6e-xyv9"),
    (("gke-kube-dns.pod.yaml",), "pod/kube-dns-548976df6c-d9kkv",
     "gke-istio-test-default-pool-866a0405-ftch"),
])
def test_running_pods_recorded_on_gke_are_fine(files: tuple[str, ...], target: str,
                                                node: str) -> None:
    """GKE: a workload pod and kube-dns (four containers, GKE's critical-addon toleration)
    as GKE served them; nothing is wrong, and the evidence names the GKE node."""
    objects, ns = load(*files)
    found = diagnose(target, objects, ns)
    assert found.ok and found.reason == "Ready", found.text()
    assert f"node {node}" in found.evidence[0]


def test_a_node_recorded_on_gke_is_ready() -> None:
    """GKE 1.11: node-problem-detector's conditions (KernelDeadlock, FrequentUnregister-
    NetDevice…) stand beside the kubelet's; only Ready decides, and its message is quoted."""
    node = yaml.safe_load((RECORDED / "gke-node.node.yaml").read_text())
    assert node["metadata"]["labels"]["cloud.google.com/gke-nodepool"] == "default-pool"
    found = diagnose(f"node/{node['metadata']['name']}", Objects(nodes=[node]))
    assert found.ok and found.reason == "Ready", found.text()
    assert "kubelet is posting ready status. AppArmor enabled" in found.evidence[0]


def test_describe_reader_keeps_the_recorded_fields() -> None:
    """The reader must not invent: what it returns is what the printout says."""
    objects, ns = load("kind-oomkilled.describe.txt")
    pod = objects.pods[0]
    assert ns == "default" and pod["spec"]["nodeName"] == "grafana-cloud-control-plane"
    status = pod["status"]["containerStatuses"][0]
    assert status["state"] == {"waiting": {"reason": "CrashLoopBackOff"}}
    assert status["lastState"] == {"terminated": {"reason": "OOMKilled", "exitCode": 137}}
    assert status["restartCount"] == 6 and status["ready"] is False
    assert pod["spec"]["containers"][0]["resources"]["limits"] == {"memory": "100Mi"}
    assert pod["spec"]["containers"][0]["args"] == ["80Mi", "0", "100Mi", "10", "1"]
    backoff = [e for e in objects.events if e["reason"] == "BackOff"]
    assert len(backoff) == 1 and backoff[0]["count"] == 23
    assert backoff[0]["message"].startswith("Back-off restarting failed container memory-eater")


# ------------------------------------------------- the scheduler's verdict across versions

VERDICTS = tomllib.loads((RECORDED / "scheduler-verdicts.toml").read_text())["verdict"]


@pytest.mark.parametrize("verdict", VERDICTS, ids=lambda v: v["cites"].split("github.com/")[1])
def test_recorded_scheduler_verdict(verdict: dict[str, Any]) -> None:
    """A FailedScheduling event as a real scheduler wrote it, about a pending pod.

    The pod is a stand-in (the recordings hold only the message); what is tested is that
    every wording since 1.4 is read into the same plain verdict.
    """
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "pending", "namespace": "default"},
           "spec": {"containers": [{"name": "app", "image": "nginx"}]},
           "status": {"phase": "Pending", "conditions": [
               {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}}
    event = {"apiVersion": "v1", "kind": "Event", "type": "Warning",
             "reason": "FailedScheduling", "message": verdict["message"],
             "metadata": {"name": "pending.1", "namespace": "default"},
             "involvedObject": {"kind": "Pod", "name": "pending", "namespace": "default"}}
    found = diagnose("pod/pending", Objects(pods=[pod], events=[event]))
    assert found.reason == verdict["reason"], found.text()
    for words in verdict["expect"]:
        assert words in found.problem, (words, found.problem)
    assert any(verdict["message"] in line for line in found.evidence), found.evidence
    for jargon in ("predicates", "fit failure", "0/", "PodToleratesNodeTaints"):
        assert jargon not in found.problem, (jargon, found.problem)


# --------------------------------------------------- the kubelet's words across runtimes

MESSAGES = tomllib.loads((RECORDED / "kubelet-messages.toml").read_text())["message"]

_WAITING = {"image": "ErrImagePull", "config": "CreateContainerConfigError",
            "mount": "ContainerCreating"}
_EVENT_REASON = {"image": "Failed", "config": "Failed", "mount": "FailedMount",
                 "probe": "Unhealthy"}


def stand_in(recorded: dict[str, Any]) -> tuple[str, Objects]:
    """The smallest object the recorded message can be about, and the message as its event.

    Only the message is recorded; the object around it has the state that message goes
    with (kubectl describe shows both side by side), and nothing else.
    """
    situation, message = recorded["situation"], recorded["message"]
    if situation == "node":
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
                "status": {"conditions": [{"type": "Ready", "status": recorded["status"],
                                           "reason": recorded["node_reason"],
                                           "message": message}]}}
        return "node/node-1", Objects(nodes=[node])
    pulled = re.match(r'Failed to pull image "([^"]+)"', message)
    image = pulled.group(1) if pulled else "app:1.0"
    if situation == "probe":
        state: Obj = {"running": {"startedAt": "2019-01-03T10:00:00Z"}}
        phase, conditions = "Running", [{"type": "Ready", "status": "False"}]
    else:
        state = {"waiting": {"reason": _WAITING[situation]}}
        phase, conditions = "Pending", [{"type": "Ready", "status": "False"}]
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "app", "namespace": "default"},
           "spec": {"nodeName": "node-1", "restartPolicy": "Always",
                    "containers": [{"name": "app", "image": image}]},
           "status": {"phase": phase, "conditions": conditions, "containerStatuses": [
               {"name": "app", "image": image, "ready": False, "restartCount": 0,
                "state": state}]}}
    event = {"apiVersion": "v1", "kind": "Event", "type": "Warning",
             "reason": _EVENT_REASON[situation], "message": message,
             "metadata": {"name": "app.1", "namespace": "default"},
             "involvedObject": {"kind": "Pod", "name": "app", "namespace": "default"}}
    return "pod/app", Objects(pods=[pod], events=[event])


@pytest.mark.parametrize("recorded", MESSAGES, ids=lambda m: m["cites"].split("github.com/")[1])
def test_recorded_kubelet_message(recorded: dict[str, Any]) -> None:
    target, objects = stand_in(recorded)
    found = diagnose(target, objects)
    assert found.reason == recorded["reason"], found.text()
    for words in recorded["expect"]:
        assert words in found.problem, (words, found.problem)
    assert recorded.get("fix", "") in found.fix, found.fix
    assert any(recorded["message"] in line for line in found.evidence), found.evidence
    assert "rpc error" not in found.problem and "desc =" not in found.problem


# ------------------------------------------------------------------------- deleted pods

DELETED = tomllib.loads((RECORDED / "deleted-pod-metadata.toml").read_text())["pod"]


@pytest.mark.parametrize("recorded", DELETED, ids=lambda m: m["name"])
def test_recorded_deleted_pod(recorded: dict[str, Any]) -> None:
    meta = {key: recorded[key] for key in ("name", "creationTimestamp", "deletionTimestamp",
                                           "deletionGracePeriodSeconds", "finalizers")}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {**meta, "namespace": "default"},
           "spec": {"containers": [{"name": "app", "image": "app"}]},
           "status": {"phase": "Running"}}
    found = diagnose(f"pod/{recorded['name']}", Objects(pods=[pod]))
    assert (found.reason, found.ok) == (recorded["reason"], recorded["ok"]), found.text()
    for words in recorded["expect"]:
        assert words in found.problem, (words, found.problem)
    assert f"deletionTimestamp: {recorded['deletionTimestamp']}" in found.evidence


# ----------------------------------------------------------------------------- provenance

def test_every_recording_has_provenance() -> None:
    entries = tomllib.loads((RECORDED / "PROVENANCE.toml").read_text())["recording"]
    named = [f for e in entries for f in e["files"]]
    on_disk = sorted(p.name for p in RECORDED.iterdir() if p.name != "PROVENANCE.toml")
    assert sorted(named) == on_disk
    for entry in entries:
        for url in entry["cites"]:
            # a file pinned to a commit, or an issue/PR thread (its comments keep their date)
            pinned = r"https://github.com/[^/]+/[^/]+/(blob/[0-9a-f]{40}/|(issues|pull)/\d+$)"
            assert re.match(pinned, url), url
        for key in ("cluster", "recorded", "trimmed", "shows"):
            assert entry[key], (key, entry)
    used = {f for files, *_ in CASES.values() for f in files}
    used |= {"kind-recovered-after-node-not-ready.describe.txt", "scheduler-verdicts.toml",
             "kubelet-messages.toml", "deleted-pod-metadata.toml", "gke-running.describe.txt",
             "gke-kube-dns.pod.yaml", "gke-node.node.yaml"}
    assert used == set(on_disk)
