"""Pod lifecycle stages on a ManualClock: start, pull failures, probes, restarts, deletion."""

from __future__ import annotations

import base64
import copy
import itertools
import re

import pytest
from kubernetes import client
from sandbox.kubelet.kubelet_sim import Sim

from kubelab.sandbox import images
from kubelab.sandbox.api import kinds
from kubelab.sandbox.kubelet import stages
from kubelab.sandbox.kubelet.lifecycle import format_duration
from kubelab.sandbox.kubelet.status import pod_status

NODE_HELLO = "gcr.io/google-samples/node-hello:1.0"
PROBES_10 = "quay.io/apprenda/k8s-workshop-probes:1.0"
PROBES_11 = "quay.io/apprenda/k8s-workshop-probes:1.1"


def pull_time(image: str) -> float:
    return images.pull_seconds(images.lookup(image))


def test_pending_creating_running_ready() -> None:
    sim = Sim()
    sim.pod("hello", [{"name": "hello", "image": NODE_HELLO}])
    sim.run_for(0)
    pod = sim.get("hello")
    assert pod is not None
    status = pod["status"]
    assert status["phase"] == "Pending" and "podIP" not in status
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert [c["type"] for c in status["conditions"]] == [
        "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
    assert sim.condition("hello", "Ready") == "False"
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "ContainersNotReady"
    assert ready["message"] == "containers with unready status: [hello]"

    sim.run_for(stages.SANDBOX_SECONDS)
    pod = sim.get("hello")
    assert pod is not None and pod["status"]["podIP"] == "10.244.1.2"
    assert pod["status"]["podIPs"] == [{"ip": "10.244.1.2"}]
    assert sim.condition("hello", "PodReadyToStartContainers") == "True"

    started = stages.SANDBOX_SECONDS + pull_time(NODE_HELLO) + stages.CREATE_SECONDS
    sim.run_for(started - sim.clock.monotonic() - 0.01)
    assert sim.get("hello")["status"]["phase"] == "Pending"  # type: ignore[index]
    sim.run_for(0.02)
    pod = sim.get("hello")
    assert pod is not None and pod["status"]["phase"] == "Running"
    cs = pod["status"]["containerStatuses"][0]
    assert "running" in cs["state"] and cs["ready"] and cs["started"]
    assert re.fullmatch(r"containerd://[0-9a-f]{64}", cs["containerID"])
    assert cs["image"] == NODE_HELLO and cs["imageID"].startswith(
        "gcr.io/google-samples/node-hello@sha256:")
    assert cs["restartCount"] == 0 and cs["lastState"] == {}
    assert sim.condition("hello", "Ready") == "True"
    assert pod["status"]["qosClass"] == "BestEffort"
    assert pod["status"]["hostIP"] == "172.18.0.3"
    assert [(e.reason, e.message, e.field_path, e.component, e.host)
            for e in sim.cluster.events] == [
        ("Pulling", f'Pulling image "{NODE_HELLO}"', "spec.containers{hello}", "kubelet", "node-1"),
        ("Pulled", f'Successfully pulled image "{NODE_HELLO}" in '
                   f"{format_duration(pull_time(NODE_HELLO))} ({format_duration(pull_time(NODE_HELLO))}"
                   f" including waiting). Image size: 263716235 bytes.",
         "spec.containers{hello}", "kubelet", "node-1"),
        ("Created", "Created container: hello", "spec.containers{hello}", "kubelet", "node-1"),
        ("Started", "Started container hello", "spec.containers{hello}", "kubelet", "node-1"),
    ]
    # What the kubelet writes is what the official client can read.
    client.V1PodStatus.model_validate(pod["status"])


def test_the_status_written_is_new_and_the_stored_pod_is_left_as_it_was() -> None:
    """The kubelet reads the stored pod in place: its status is built anew (the PodScheduled
    condition carried over is a copy), and working it out changes nothing stored."""
    sim = Sim()
    sim.pod("hello", [{"name": "hello", "image": NODE_HELLO}])
    sim.run_for(stages.SANDBOX_SECONDS)
    stored = sim.get("hello")
    assert stored is not None
    before = copy.deepcopy(stored)
    record = sim.kubelet.runtime.find("default", "hello")
    assert record is not None
    status = pod_status(stored, record, node_ip="172.18.0.3", clock=sim.clock)
    assert sim.get("hello") == before
    scheduled = next(c for c in status["conditions"] if c["type"] == "PodScheduled")
    assert scheduled == next(c for c in before["status"]["conditions"]
                             if c["type"] == "PodScheduled")
    scheduled["status"] = "False"
    assert sim.get("hello") == before


def test_second_pod_finds_the_image_present() -> None:
    sim = Sim()
    sim.pod("a", [{"name": "web", "image": "nginx:1.25"}])
    sim.run_for(10)
    sim.pod("b", [{"name": "web", "image": "nginx:1.25"}])
    sim.run_for(2)
    assert sim.get("b")["status"]["podIP"] == "10.244.1.3"  # type: ignore[index]
    assert 'Container image "nginx:1.25" already present on machine' in sim.cluster.messages(
        "Pulled")
    assert sim.cluster.messages("Pulling") == ['Pulling image "nginx:1.25"']


def test_latest_is_pulled_every_time() -> None:
    sim = Sim()
    sim.pod("a", [{"name": "web", "image": "nginx"}])
    sim.run_for(10)
    sim.pod("b", [{"name": "web", "image": "nginx"}])
    sim.run_for(5)
    assert sim.cluster.messages("Pulling") == ['Pulling image "nginx"'] * 2


def test_image_pull_failure_and_backoff() -> None:
    sim = Sim()
    sim.pod("typo", [{"name": "web", "image": "ngnix:1.25"}])
    sim.run_for(3)
    cs = sim.container("typo")
    assert cs["state"]["waiting"]["reason"] == "ImagePullBackOff"
    assert cs["state"]["waiting"]["message"].startswith(
        'Back-off pulling image "ngnix:1.25": ErrImagePull: rpc error: code = NotFound')
    assert "known images" in cs["state"]["waiting"]["message"]
    assert [(e.type, e.reason, e.message.split(":")[0]) for e in sim.cluster.events] == [
        ("Normal", "Pulling", 'Pulling image "ngnix'),
        ("Warning", "Failed", 'Failed to pull image "ngnix'),
        ("Warning", "Failed", "Error"),
        ("Normal", "BackOff", 'Back-off pulling image "ngnix'),
        ("Warning", "Failed", "Error"),
    ]
    assert sim.cluster.messages("Failed")[1:] == ["Error: ErrImagePull", "Error: ImagePullBackOff"]
    sim.run_for(80)
    pulls = sim.cluster.times("Pulling")
    failures = [t for t, e in sim.cluster.timeline if e.message == "Error: ErrImagePull"]
    # Each retry waits out the back-off since the last failure: 10s, 20s, 40s.
    assert [round(p - f, 3) for p, f in zip(pulls[1:], failures, strict=False)] == [10, 20, 40]
    assert sim.get("typo")["status"]["phase"] == "Pending"  # type: ignore[index]


def test_invalid_image_name() -> None:
    sim = Sim()
    sim.pod("bad", [{"name": "web", "image": "Nginx"}])
    sim.run_for(2)
    assert sim.container("bad")["state"]["waiting"]["reason"] == "InvalidImageName"
    assert sim.cluster.messages("Failed") == ["Error: InvalidImageName"]


def test_crash_loop_backoff_timing() -> None:
    sim = Sim()
    sim.pod("crash", [{"name": "c", "image": "busybox:1.36",
                       "command": ["sh", "-c", "echo dying; exit 1"]}])
    sim.run_for(200)
    starts = sim.cluster.times("Started")
    # First restart at once, then waits of 10s, 20s, 40s, 80s (plus container creation).
    gaps = [round(b - a - stages.CREATE_SECONDS, 3) for a, b in itertools.pairwise(starts)]
    assert gaps[:5] == [0, 10, 20, 40, 80]
    cs = sim.container("crash")
    pod = sim.get("crash")
    assert pod is not None and pod["status"]["phase"] == "Running"
    uid = pod["metadata"]["uid"]
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert re.fullmatch(rf"back-off (80s|2m40s) restarting failed container=c "
                        rf"pod=crash_default\({uid}\)", cs["state"]["waiting"]["message"])
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert cs["lastState"]["terminated"]["reason"] == "Error"
    assert cs["restartCount"] == len(starts) - 1
    assert f"Back-off restarting failed container c in pod crash_default({uid})" in (
        sim.cluster.messages("BackOff"))


def test_backoff_caps_at_five_minutes() -> None:
    sim = Sim()
    sim.pod("crash", [{"name": "c", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                       "command": ["sh", "-c", "exit 2"]}])
    sim.run_for(1500)
    starts = sim.cluster.times("Started")
    gaps = [round(b - a - stages.CREATE_SECONDS) for a, b in itertools.pairwise(starts)]
    assert gaps[5:8] == [160, 300, 300]


@pytest.mark.parametrize(("policy", "script", "phase", "reason"), [
    ("Never", "echo done", "Succeeded", "Completed"),
    ("Never", "exit 3", "Failed", "Error"),
    ("OnFailure", "echo done", "Succeeded", "Completed"),
])
def test_restart_policies(policy: str, script: str, phase: str, reason: str) -> None:
    sim = Sim()
    sim.pod("job", [{"name": "c", "image": "alpine:3.20", "command": ["sh", "-c", script]}],
            restartPolicy=policy)
    sim.run_for(30)
    pod = sim.get("job")
    assert pod is not None and pod["status"]["phase"] == phase
    cs = pod["status"]["containerStatuses"][0]
    assert cs["state"]["terminated"]["reason"] == reason and cs["restartCount"] == 0
    assert sim.condition("job", "Ready") == "False"
    assert len(sim.cluster.times("Started")) == 1


def test_on_failure_restarts_failed_containers() -> None:
    sim = Sim()
    sim.pod("job", [{"name": "c", "image": "alpine:3.20", "command": ["sh", "-c", "exit 1"]}],
            restartPolicy="OnFailure")
    sim.run_for(30)
    assert sim.container("job")["restartCount"] >= 2
    assert sim.get("job")["status"]["phase"] == "Running"  # type: ignore[index]


def test_readiness_gated_by_initial_delay() -> None:
    sim = Sim()
    probe = {"httpGet": {"path": "/", "port": 80}, "initialDelaySeconds": 30,
             "timeoutSeconds": 10}
    sim.pod("probes", [{"name": "probes", "image": PROBES_10, "readinessProbe": probe,
                        "livenessProbe": probe}])
    sim.run_for(10)
    started = sim.cluster.times("Started")[0]
    assert sim.get("probes")["status"]["phase"] == "Running"  # type: ignore[index]
    assert sim.container("probes")["ready"] is False
    sim.run_for(started + 30 - sim.clock.monotonic() - 0.1)
    assert sim.condition("probes", "Ready") == "False"
    sim.run_for(0.3)
    assert sim.condition("probes", "Ready") == "True"
    assert sim.container("probes")["ready"] is True
    assert sim.cluster.messages("Unhealthy") == []


def test_liveness_failure_restarts_then_crash_loops() -> None:
    sim = Sim()
    probe = {"httpGet": {"path": "/healthz", "port": 80}, "initialDelaySeconds": 5,
             "periodSeconds": 10, "failureThreshold": 3}
    sim.pod("broken", [{"name": "probes", "image": PROBES_11, "livenessProbe": probe,
                        "readinessProbe": probe}])
    sim.run_for(120)
    unhealthy = sim.cluster.messages("Unhealthy")
    assert "Liveness probe failed: HTTP probe failed with statuscode: 404" in unhealthy
    assert "Readiness probe failed: HTTP probe failed with statuscode: 404" in unhealthy
    kills = [(t, e) for t, e in sim.cluster.timeline if e.reason == "Killing"]
    assert kills[0][1].message == "Container probes failed liveness probe, will be restarted"
    starts = sim.cluster.times("Started")
    # Killed after the third failed probe: 5s + 2 periods after the start.
    assert round(kills[0][0] - starts[0], 3) == 25
    assert sim.container("broken")["restartCount"] >= 2
    assert any("restarting failed container=probes" in e.message or e.reason == "BackOff"
               for e in sim.cluster.events)
    assert sim.condition("broken", "Ready") == "False"


def test_forced_probe_failure_and_container_kill() -> None:
    sim = Sim()
    probe = {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 5}
    sim.pod("hello", [{"name": "hello", "image": NODE_HELLO, "readinessProbe": probe}])
    sim.run_for(10)
    assert sim.condition("hello", "Ready") == "True"
    record = sim.kubelet.runtime.find("default", "hello")
    assert record is not None
    record.containers["hello"].probes["readiness"].forced_failure = "forced"
    sim.run_for(15)
    assert sim.condition("hello", "Ready") == "False"
    assert "Readiness probe failed: forced" in sim.cluster.messages("Unhealthy")
    record.containers["hello"].kill_requested = True
    sim.wakes[next(iter(sim.wakes))] = sim.clock.monotonic()
    sim.run_for(2)
    cs = sim.container("hello")
    assert cs["restartCount"] == 1 and cs["lastState"]["terminated"]["exitCode"] == 137


def test_graceful_termination_of_an_app() -> None:
    sim = Sim()
    sim.pod("web", [{"name": "web", "image": "nginx:1.25"}], terminationGracePeriodSeconds=1)
    sim.run_for(10)
    uid = sim.get("web")["metadata"]["uid"]  # type: ignore[index]
    sim.delete("web")
    sim.run_for(0.1)
    assert sim.cluster.messages("Killing") == ["Stopping container web"]
    assert sim.get("web") is not None
    sim.run_for(1)
    assert sim.get("web") is None
    (delete,) = sim.cluster.deleted
    assert (delete.grace_period_seconds, delete.uid) == (0, uid)


def test_shell_loop_uses_the_whole_grace_period() -> None:
    sim = Sim()
    sim.pod("loop", [{"name": "c", "image": "busybox",
                      "command": ["sh", "-c", "while true; do sleep 1; done"]}],
            terminationGracePeriodSeconds=30)
    sim.run_for(10)
    sim.delete("loop")
    sim.run_for(29)
    pod = sim.get("loop")
    assert pod is not None and "running" in pod["status"]["containerStatuses"][0]["state"]
    sim.run_for(2)
    assert sim.get("loop") is None


def test_deleting_a_pod_that_never_started() -> None:
    sim = Sim()
    sim.pod("typo", [{"name": "web", "image": "nosuchimage"}])
    sim.run_for(3)
    sim.delete("typo")
    sim.run_for(0.1)
    assert sim.get("typo") is None and sim.cluster.messages("Killing") == []


def secret(sim: Sim) -> None:
    sim.cluster.add(kinds.core("secrets"), {"metadata": {"name": "app-secret"}, "data": {
        "user": base64.b64encode(b"steven").decode(),
        "password": base64.b64encode(b"randompassword").decode()}})


SECRET_POD = [{
    "name": "test-container", "image": "quay.io/apprenda/alpine:latest",
    "command": ["/bin/sh", "-c",
                'while true; do echo "hello $(cat /etc/secret-volume/user) your password is '
                '$(cat /etc/secret-volume/password)"; sleep 10; done'],
    "volumeMounts": [{"name": "secret-volume", "mountPath": "/etc/secret-volume"}]}]
SECRET_VOLUMES = [{"name": "secret-volume", "secret": {"secretName": "app-secret"}}]


def test_workshop_secret_pod() -> None:
    sim = Sim()
    secret(sim)
    sim.pod("secret-test-pod", SECRET_POD, restartPolicy="Never", volumes=SECRET_VOLUMES)
    sim.run_for(5)
    record = sim.kubelet.runtime.find("default", "secret-test-pod")
    assert record is not None
    container = record.containers["test-container"]
    assert [line.text for line in container.all_logs(sim.clock)] == [
        "hello steven your password is randompassword"]
    sim.run_for(25)
    assert [line.text for line in container.all_logs(sim.clock)] == [
        "hello steven your password is randompassword"] * 3


def test_missing_secret_volume_waits_in_container_creating() -> None:
    sim = Sim()
    sim.pod("secret-test-pod", SECRET_POD, restartPolicy="Never", volumes=SECRET_VOLUMES)
    sim.run_for(3)
    assert sim.container("secret-test-pod")["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert sim.cluster.messages("FailedMount") == [
        'MountVolume.SetUp failed for volume "secret-volume" : secret "app-secret" not found']
    secret(sim)
    sim.run_for(15)
    assert sim.get("secret-test-pod")["status"]["phase"] == "Running"  # type: ignore[index]


def test_env_from_secret_key_ref() -> None:
    sim = Sim()
    env = [{"name": "USER", "valueFrom": {"secretKeyRef": {"name": "app-secret", "key": "user"}}},
           {"name": "GREETING", "value": "hi $(USER)"}]
    sim.pod("env", [{"name": "c", "image": "busybox", "env": env,
                     "command": ["sh", "-c", "echo $GREETING $USER; sleep 3600"]}])
    sim.run_for(3)
    cs = sim.container("env")
    assert cs["state"]["waiting"] == {"reason": "CreateContainerConfigError",
                                      "message": 'secret "app-secret" not found'}
    assert 'Error: secret "app-secret" not found' in sim.cluster.messages("Failed")
    secret(sim)
    sim.run_for(12)
    record = sim.kubelet.runtime.find("default", "env")
    assert record is not None
    lines = [line.text for line in record.containers["c"].all_logs(sim.clock)]
    assert lines == ["hi steven steven"]  # $(USER) expands to the earlier variable


def test_init_containers_run_first() -> None:
    sim = Sim()
    sim.pod("init", [{"name": "main", "image": "nginx:1.25"}],
            initContainers=[{"name": "setup", "image": "busybox",
                             "command": ["sh", "-c", "sleep 5"]}])
    sim.run_for(4)
    pod = sim.get("init")
    assert pod is not None and pod["status"]["phase"] == "Pending"
    assert sim.condition("init", "Initialized") == "False"
    assert "running" in pod["status"]["initContainerStatuses"][0]["state"]
    sim.run_for(10)
    assert sim.condition("init", "Initialized") == "True"
    assert sim.get("init")["status"]["phase"] == "Running"  # type: ignore[index]
    starts = [e.message for e in sim.cluster.events if e.reason == "Started"]
    assert starts == ["Started container setup", "Started container main"]


@pytest.mark.parametrize(("seconds", "text"), [(0.5, "500ms"), (1.287, "1.287s"),
                                               (10, "10s"), (160, "2m40s"), (300, "5m0s")])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_host_network_pods_share_the_node_ip_and_daemons_keep_running() -> None:
    sim = Sim()
    sim.pod("kube-proxy-x", [{"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.37.1",
                              "command": ["/usr/local/bin/kube-proxy", "--v=2"]}],
            hostNetwork=True)
    sim.pod("web", [{"name": "web", "image": "nginx:1.25"}])
    sim.run_for(30)
    proxy = sim.get("kube-proxy-x")
    assert proxy is not None and proxy["status"]["podIP"] == proxy["status"]["hostIP"]
    assert proxy["status"]["phase"] == "Running" and sim.container("kube-proxy-x")["ready"]
    assert sim.get("web")["status"]["podIP"] == "10.244.1.2"  # type: ignore[index]


def test_startup_probe_gates_the_others_and_restarts_when_it_gives_up() -> None:
    sim = Sim()
    startup = {"httpGet": {"path": "/healthz", "port": 80}, "periodSeconds": 5,
               "failureThreshold": 2}
    readiness = {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 5}
    sim.pod("slow", [{"name": "app", "image": PROBES_11, "startupProbe": startup,
                      "readinessProbe": readiness}])
    sim.run_for(5)
    cs = sim.container("slow")
    assert "running" in cs["state"] and cs["started"] is False and cs["ready"] is False
    sim.run_for(10)
    assert "Container app failed startup probe, will be restarted" in sim.cluster.messages(
        "Killing")
    assert all(m.startswith("Startup probe failed") for m in sim.cluster.messages("Unhealthy"))
    sim2 = Sim()
    ok = {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 5}
    sim2.pod("fine", [{"name": "app", "image": PROBES_11, "startupProbe": ok,
                       "readinessProbe": ok}])
    sim2.run_for(15)
    cs = sim2.container("fine")
    assert cs["started"] is True and cs["ready"] is True and cs["restartCount"] == 0
