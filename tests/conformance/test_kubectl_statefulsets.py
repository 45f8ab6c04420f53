"""StatefulSets and their storage with the real kubectl, following kubernetes.io's
"StatefulSet Basics" tutorial.

Upstream: the StatefulSet controller (``pkg/controller/statefulset``) creates ``web-0`` then
``web-1`` (OrderedReady) with a claim each from ``volumeClaimTemplates``; kind's default
StorageClass ``standard`` (``rancher.io/local-path``, ``WaitForFirstConsumer``) gets a volume
provisioned on the node the scheduler picked; a pod's ``hostname``/``subdomain`` give it the
DNS name ``web-0.nginx`` through the headless Service; what a container writes under the
claim's mount outlives the pod. Printers from the API server (``printStatefulSet``: NAME
READY AGE; ``printPersistentVolumeClaim``; ``printStorageClass`` with ``(default)``). The
sandbox runs at its test speed.
"""

from __future__ import annotations

import json

import pytest
from conformance.support import manifest, wait_for
from sandbox_support import SandboxHandle

pytestmark = pytest.mark.slow

HTML = "/usr/share/nginx/html"


def _json(sb: SandboxHandle, *args: str) -> dict:  # type: ignore[type-arg]
    return json.loads(sb.kubectl(*args, "-o", "json").stdout)


def _images(sb: SandboxHandle, count: int) -> list[str]:
    return [sb.kubectl("get", "pod", f"web-{i}", "-o",
                       "jsonpath={.spec.containers[0].image}").stdout for i in range(count)]


def _ready(sb: SandboxHandle, replicas: int) -> bool:
    status = _json(sb, "get", "sts", "web").get("status", {})
    return status.get("readyReplicas") == replicas == status.get("replicas")


def test_statefulset_basics(cluster_sandbox: SandboxHandle) -> None:
    sb = cluster_sandbox
    lines = sb.kubectl("get", "storageclass").stdout.splitlines()
    assert lines[0].split() == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE",
                                "ALLOWVOLUMEEXPANSION", "AGE"]
    assert lines[1].split()[:6] == ["standard", "(default)", "rancher.io/local-path",
                                    "Delete", "WaitForFirstConsumer", "false"]

    out = sb.kubectl("apply", "-f", manifest("web-statefulset.yaml")).stdout
    assert out.splitlines() == ["service/nginx created", "statefulset.apps/web created"]
    sb.kubectl("rollout", "status", "sts/web", "--timeout=120s", timeout=150)

    # Created in order: web-1 only once web-0 was Running and Ready.
    events = _json(sb, "get", "events", "--field-selector",
                   "involvedObject.kind=StatefulSet,involvedObject.name=web")["items"]
    created = [e["message"] for e in sorted(events, key=lambda e: e["metadata"]["name"])
               if e["reason"] == "SuccessfulCreate"]
    assert "create Pod web-0 in StatefulSet web successful" in created
    assert "create Claim www-web-0 Pod web-0 in StatefulSet web success" in created
    web0 = _json(sb, "get", "pod", "web-0")
    web1 = _json(sb, "get", "pod", "web-1")
    ready0 = next(c["lastTransitionTime"] for c in web0["status"]["conditions"]
                  if c["type"] == "Ready")
    assert web1["metadata"]["creationTimestamp"] >= ready0
    assert web0["spec"]["hostname"] == "web-0" and web0["spec"]["subdomain"] == "nginx"

    lines = sb.kubectl("get", "sts", "web").stdout.splitlines()
    assert lines[0].split() == ["NAME", "READY", "AGE"]
    assert lines[1].split()[:2] == ["web", "2/2"]
    lines = sb.kubectl("get", "pvc", "-l", "app=nginx").stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES",
                                "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"]
    for i, line in enumerate(lines[1:]):
        name, status, volume, capacity, modes, klass, vac = line.split()[:7]
        assert (name, status, capacity, modes, klass, vac) == (
            f"www-web-{i}", "Bound", "1Gi", "RWO", "standard", "<unset>")
        pv = _json(sb, "get", "pv", volume)
        assert pv["spec"]["claimRef"]["name"] == name
        terms = pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
        node = _json(sb, "get", "pod", f"web-{i}")["spec"]["nodeName"]
        assert terms[0]["matchExpressions"][0]["values"] == [node]

    # Each pod writes its hostname into its claim's volume; nginx serves it.
    for i in range(2):
        sb.kubectl("exec", f"web-{i}", "--", "sh", "-c",
                   f"echo \"$(hostname)\" > {HTML}/index.html")
    for i in range(2):
        served = sb.kubectl("exec", f"web-{i}", "--", "curl", "-s", "http://localhost/").stdout
        assert served == f"web-{i}\n"
    # The headless Service gives each pod a DNS name.
    looked_up = sb.kubectl("exec", "web-0", "--", "nslookup", "web-1.nginx").stdout
    assert "Name:\tweb-1.nginx.default.svc.cluster.local" in looked_up
    assert f"Address: {web1['status']['podIP']}" in looked_up
    assert sb.kubectl("exec", "web-0", "--", "wget", "-qO-", "http://web-1.nginx").stdout == \
        "web-1\n"

    # Delete the pods: they come back with the same names, and the data is still there.
    uids = {web0["metadata"]["uid"], web1["metadata"]["uid"]}
    sb.kubectl("delete", "pod", "-l", "app=nginx", timeout=120)
    wait_for(lambda: _ready(sb, 2) and not uids & {
        _json(sb, "get", "pod", f"web-{i}")["metadata"]["uid"] for i in range(2)}, 120)
    for i in range(2):
        assert sb.kubectl("exec", f"web-{i}", "--", "cat", f"{HTML}/index.html").stdout == \
            f"web-{i}\n"
    new_ip = _json(sb, "get", "pod", "web-1")["status"]["podIP"]
    looked_up = sb.kubectl("exec", "web-0", "--", "nslookup",
                           "web-1.nginx.default.svc.cluster.local").stdout
    assert f"Address: {new_ip}" in looked_up

    # Scale up to 5 (in order, a claim each) and down to 3 (highest ordinals first).
    assert sb.kubectl("scale", "sts", "web", "--replicas=5").stdout.strip() == \
        "statefulset.apps/web scaled"
    wait_for(lambda: _ready(sb, 5), 120)
    assert len(_json(sb, "get", "pvc", "-l", "app=nginx")["items"]) == 5
    sb.kubectl("patch", "sts", "web", "-p", '{"spec":{"replicas":3}}')
    wait_for(lambda: _ready(sb, 3) and len(_json(sb, "get", "pods", "-l", "app=nginx")[
        "items"]) == 3, 120)
    names = sb.kubectl("get", "pods", "-l", "app=nginx", "-o",
                       "jsonpath={.items[*].metadata.name}").stdout.split()
    assert sorted(names) == ["web-0", "web-1", "web-2"]
    assert len(_json(sb, "get", "pvc", "-l", "app=nginx")["items"]) == 5  # claims are kept


def test_rolling_update_with_partition_history_and_undo(cluster_sandbox: SandboxHandle) -> None:
    sb = cluster_sandbox
    if not _json(sb, "get", "sts", "-l", "app=nginx")["items"]:
        sb.kubectl("apply", "-f", manifest("web-statefulset.yaml"))
    sb.kubectl("scale", "sts", "web", "--replicas=3")
    wait_for(lambda: _ready(sb, 3), 120)
    sb.kubectl("patch", "statefulset", "web", "-p",
               '{"spec":{"updateStrategy":{"type":"RollingUpdate",'
               '"rollingUpdate":{"partition":2}}}}')
    sb.kubectl("patch", "statefulset", "web", "--type=json", "-p",
               '[{"op": "replace", "path": "/spec/template/spec/containers/0/image",'
               ' "value": "registry.k8s.io/nginx-slim:0.24"}]')
    out = sb.kubectl("rollout", "status", "sts/web", "--timeout=120s", timeout=150).stdout
    assert out.splitlines()[-1] == "partitioned roll out complete: 1 new pods have been updated..."
    assert _images(sb, 3) == ["registry.k8s.io/nginx-slim:0.21",
                              "registry.k8s.io/nginx-slim:0.21",
                              "registry.k8s.io/nginx-slim:0.24"]
    status = _json(sb, "get", "sts", "web")["status"]
    assert status["currentRevision"] != status["updateRevision"]
    assert (status["currentReplicas"], status["updatedReplicas"]) == (2, 1)

    sb.kubectl("patch", "statefulset", "web", "-p",
               '{"spec":{"updateStrategy":{"type":"RollingUpdate",'
               '"rollingUpdate":{"partition":0}}}}')
    sb.kubectl("rollout", "status", "sts/web", "--timeout=120s", timeout=150)
    wait_for(lambda: _images(sb, 3) == ["registry.k8s.io/nginx-slim:0.24"] * 3, 120)
    wait_for(lambda: (lambda s: s.get("currentRevision") == s.get("updateRevision")
                      and s.get("updatedReplicas") == 3)(
        _json(sb, "get", "sts", "web")["status"]), 60)

    history = sb.kubectl("rollout", "history", "sts/web").stdout.splitlines()
    assert history[1].split() == ["REVISION", "CHANGE-CAUSE"]
    assert [line.split()[0] for line in history[2:] if line.strip()] == ["1", "2"]
    revisions = sb.kubectl("get", "controllerrevisions").stdout.splitlines()
    assert revisions[0].split() == ["NAME", "CONTROLLER", "REVISION", "AGE"]
    assert all(line.split()[1] == "statefulset.apps/web" for line in revisions[1:])

    assert sb.kubectl("rollout", "undo", "sts/web").stdout.strip() == \
        "statefulset.apps/web rolled back"
    wait_for(lambda: _images(sb, 3) == ["registry.k8s.io/nginx-slim:0.21"] * 3
             and _ready(sb, 3), 120)
    history = sb.kubectl("rollout", "history", "sts/web").stdout.splitlines()
    assert [line.split()[0] for line in history[2:] if line.strip()] == ["2", "3"]


def test_a_claim_in_use_is_protected_and_its_volume_deleted_after(
        cluster_sandbox: SandboxHandle) -> None:
    sb = cluster_sandbox
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": "scratch"},
             "spec": {"accessModes": ["ReadWriteOnce"],
                      "resources": {"requests": {"storage": "100Mi"}}}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "writer"},
           "spec": {"containers": [{"name": "w", "image": "busybox:1.36",
                                    "command": ["sh", "-c",
                                                "echo kept > /data/x; sleep 3600"],
                                    "volumeMounts": [{"name": "d", "mountPath": "/data"}]}],
                    "volumes": [{"name": "d", "persistentVolumeClaim": {
                        "claimName": "scratch"}}]}}
    sb.kubectl("apply", "-f", "-", input=json.dumps(claim))
    lines = sb.kubectl("get", "pvc", "scratch").stdout.splitlines()
    assert lines[1].split()[:2] == ["scratch", "Pending"]  # WaitForFirstConsumer
    sb.kubectl("apply", "-f", "-", input=json.dumps(pod))
    sb.kubectl("wait", "--for=condition=Ready", "pod/writer", "--timeout=120s", timeout=150)
    assert sb.kubectl("exec", "writer", "--", "cat", "/data/x").stdout == "kept\n"
    volume = _json(sb, "get", "pvc", "scratch")["spec"]["volumeName"]

    # A pod on the same claim after the first is gone reads what it wrote.
    sb.kubectl("delete", "pod", "writer", "--wait=true", timeout=120)
    reader = dict(pod, metadata={"name": "reader"})
    reader["spec"] = dict(pod["spec"], containers=[dict(
        pod["spec"]["containers"][0], command=["sh", "-c", "sleep 3600"])])
    sb.kubectl("apply", "-f", "-", input=json.dumps(reader))
    sb.kubectl("wait", "--for=condition=Ready", "pod/reader", "--timeout=120s", timeout=150)
    assert sb.kubectl("exec", "reader", "--", "cat", "/data/x").stdout == "kept\n"

    # Deleting the claim waits for its pod (pvc-protection), then the volume goes too.
    sb.kubectl("delete", "pvc", "scratch", "--wait=false")
    lines = sb.kubectl("get", "pvc", "scratch").stdout.splitlines()
    assert lines[1].split()[1] == "Terminating"
    sb.kubectl("delete", "pod", "reader", "--wait=true", timeout=120)
    wait_for(lambda: sb.kubectl("get", "pvc", "scratch", check=False).returncode != 0, 60)
    wait_for(lambda: sb.kubectl("get", "pv", volume, check=False).returncode != 0, 60)


def test_a_pod_waits_for_an_unbound_immediate_claim(cluster_sandbox: SandboxHandle) -> None:
    sb = cluster_sandbox
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": "static"},
             "spec": {"storageClassName": "", "accessModes": ["ReadWriteOnce"],
                      "resources": {"requests": {"storage": "1Gi"}}}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "needs-static"},
           "spec": {"containers": [{"name": "c", "image": "busybox:1.36",
                                    "command": ["sleep", "3600"]}],
                    "volumes": [{"name": "d", "persistentVolumeClaim": {
                        "claimName": "static"}}]}}
    sb.kubectl("apply", "-f", "-", input=json.dumps(claim))
    sb.kubectl("apply", "-f", "-", input=json.dumps(pod))

    def failed_scheduling() -> str:
        items = _json(sb, "get", "events", "--field-selector",
                      "involvedObject.name=needs-static,reason=FailedScheduling")["items"]
        return str(items[0]["message"]) if items else ""

    wait_for(lambda: bool(failed_scheduling()), 60)
    assert failed_scheduling().startswith(
        "0/4 nodes are available: pod has unbound immediate PersistentVolumeClaims. "
        "preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.")
    # An administrator's volume of the right size binds the claim; the pod then runs.
    volume = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "manual"},
              "spec": {"capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteOnce"],
                       "hostPath": {"path": "/mnt/data"}}}
    sb.kubectl("apply", "-f", "-", input=json.dumps(volume))
    sb.kubectl("wait", "--for=condition=Ready", "pod/needs-static", "--timeout=120s",
               timeout=150)
    lines = sb.kubectl("get", "pv", "manual").stdout.splitlines()
    assert lines[0].split() == ["NAME", "CAPACITY", "ACCESS", "MODES", "RECLAIM", "POLICY",
                                "STATUS", "CLAIM", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS",
                                "REASON", "AGE"]
    assert lines[1].split()[:6] == ["manual", "2Gi", "RWO", "Retain", "Bound",
                                    "default/static"]
