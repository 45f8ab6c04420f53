"""Writable volumes: a claim's volume outlives its pod, an emptyDir lives as long as its pod.

Upstream: the kubelet bind-mounts a PersistentVolume's directory (kind's local-path:
``/var/local-path-provisioner/pvc-…`` on the node) and an ``emptyDir`` under
``/var/lib/kubelet/pods/<uid>/volumes`` into the container, so what a container writes there
is not in its own layer; the volume manager refuses to start a pod whose claim is missing or
unbound (``FailedMount``).
"""

from __future__ import annotations

from sandbox.images.shell_steps import drain_text
from sandbox.kubelet.kubelet_sim import Sim

from kubelab.sandbox.api import kinds
from kubelab.sandbox.kubelet.disks import Disks, Mount, MountedFiles
from kubelab.sandbox.kubelet.exec import open_session
from kubelab.sandbox.kubelet.runtime import ContainerRecord

PVCS = kinds.core("persistentvolumeclaims")
PVS = kinds.core("persistentvolumes")


def bound_claim(sim: Sim, name: str = "data") -> None:
    sim.cluster.add(PVS, {"metadata": {"name": f"pv-{name}"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"},
        "hostPath": {"path": f"/mnt/{name}"},
        "claimRef": {"namespace": "default", "name": name}}})
    sim.cluster.add(PVCS, {"metadata": {"name": name}, "spec": {
        "accessModes": ["ReadWriteOnce"], "storageClassName": "",
        "resources": {"requests": {"storage": "1Gi"}}, "volumeName": f"pv-{name}"},
        "status": {"phase": "Bound"}})


def writer(sim: Sim, pod: str, volume: dict[str, object], command: str) -> ContainerRecord:
    sim.pod(pod, [{"name": "c", "image": "busybox:1.36", "command": ["sh", "-c", command],
                   "volumeMounts": [{"name": "d", "mountPath": "/data"}]}],
            volumes=[{"name": "d", **volume}])
    sim.run_for(30)
    record = sim.kubelet.runtime.find("default", pod)
    assert record is not None
    return record.containers["c"]


def run(sim: Sim, c: ContainerRecord, *argv: str) -> tuple[str, str, int]:
    session = open_session(c, list(argv), stdin=False, tty=False, now=sim.clock.now)
    return drain_text(session.program())


def test_what_a_pod_writes_on_its_claim_is_there_for_the_next_pod() -> None:
    sim = Sim()
    bound_claim(sim)
    claim = {"persistentVolumeClaim": {"claimName": "data"}}
    first = writer(sim, "first", claim, "echo from-command > /data/a; sleep 3600")
    assert first.running
    assert run(sim, first, "sh", "-c", "mkdir -p /data/sub && echo hi > /data/sub/x") == \
        ("", "", 0)
    sim.delete("first", grace=0)
    sim.run_for(5)
    assert sim.kubelet.runtime.find("default", "first") is None

    second = writer(sim, "second", claim, "sleep 3600")
    assert run(sim, second, "cat", "/data/a", "/data/sub/x") == ("from-command\nhi\n", "", 0)
    assert run(sim, second, "rm", "/data/a") == ("", "", 0)
    third = writer(sim, "third", claim, "sleep 3600")
    assert run(sim, third, "ls", "/data") == ("sub\n", "", 0)


def test_an_empty_dir_outlives_a_container_restart_but_not_its_pod() -> None:
    sim = Sim()
    c = writer(sim, "scratch", {"emptyDir": {}},
               "cat /data/count 2>/dev/null; echo run >> /data/count; sleep 1; exit 1")
    sim.run_for(60)
    assert c.restart_count >= 1
    # The file the first run appended to was there for the restarted container.
    assert c.files["/data/count"].count("run") == c.restart_count + 1
    sim.delete("scratch", grace=0)
    sim.run_for(5)
    again = writer(sim, "scratch", {"emptyDir": {}}, "sleep 3600")
    assert run(sim, again, "ls", "/data") == ("", "", 0)


def test_a_pod_on_a_missing_or_unbound_claim_waits_in_container_creating() -> None:
    sim = Sim()
    writer(sim, "orphan", {"persistentVolumeClaim": {"claimName": "nope"}}, "sleep 3600")
    pod = sim.get("orphan")
    assert pod is not None
    waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "ContainerCreating"
    mounts = [e.message for e in sim.cluster.events if e.reason == "FailedMount"]
    assert mounts and mounts[0].endswith(
        'error processing PVC default/nope: failed to fetch PVC from API server: '
        'persistentvolumeclaims "nope" not found')
    assert mounts[0].startswith("Unable to attach or mount volumes: unmounted volumes=[d]")


def test_mounted_files_write_through_to_the_deepest_mount() -> None:
    disks = Disks()
    outer, inner = disks.volume("outer"), disks.volume("inner")
    files = MountedFiles({"/etc/hosts": "x"}, [Mount("/data", "", outer),
                                                Mount("/data/in", "sub", inner)])
    files["/data/a"] = "1"
    files["/data/in/b"] = "2"
    files["/tmp/c"] = "3"
    files.setdefault("/data/d/", "")
    assert outer == {"a": "1", "d/": ""} and inner == {"sub/b": "2"}
    files.pop("/data/a")
    del files["/data/in/b"]
    assert outer == {"d/": ""} and inner == {}
    assert dict(files) == {"/etc/hosts": "x", "/tmp/c": "3", "/data/d/": ""}
