"""Ephemeral containers and attach on the kubelet side: started once in a running pod,
reported in ``ephemeralContainerStatuses`` without touching the pod's phase or readiness, an
interactive shell that lives until an attached session exits it, and attach to a process's
output."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sandbox.images.shell_steps import drain
from sandbox.kubelet.kubelet_sim import Sim

from kubelab.sandbox.api import kinds
from kubelab.sandbox.fabric import ExecError, Fabric
from kubelab.sandbox.kubelet.agent import KubeletAgent
from kubelab.sandbox.kubelet.attach import OutputFollower
from kubelab.sandbox.reconcile.types import Key

PODS = kinds.core("pods")
WEB = Key("pods", "default", "web")


def running_pod() -> tuple[Sim, KubeletAgent]:
    sim = Sim()
    sim.pod("web", [{"name": "web", "image": "nginx:1.25"}])
    sim.run_for(10)
    assert sim.container("web")["ready"] is True
    return sim, KubeletAgent(sim.kubelet.runtime, Fabric(), sim.clock)


def add_ephemeral(sim: Sim, **container: Any) -> None:
    """What a PATCH of ``pods/web/ephemeralcontainers`` leaves in the store."""
    pod = copy.deepcopy(sim.get("web"))
    assert pod is not None
    pod["spec"].setdefault("ephemeralContainers", []).append(
        {"image": "busybox:1.36", "terminationMessagePolicy": "File", **container})
    sim.cluster.registry.update(PODS, pod, namespace="default",
                                subresource="ephemeralcontainers")
    sim.wakes[WEB] = sim.clock.monotonic()  # the watch event requeues the pod


def ephemeral_status(sim: Sim, name: str) -> dict[str, Any]:
    pod = sim.get("web")
    assert pod is not None
    return next(s for s in pod["status"]["ephemeralContainerStatuses"] if s["name"] == name)


def test_a_script_runs_once_and_stays_terminated() -> None:
    sim, _ = running_pod()
    add_ephemeral(sim, name="dbg", command=["sh", "-c", "echo hi; exit 3"])
    sim.run_for(20)
    status = ephemeral_status(sim, "dbg")
    assert status["state"]["terminated"]["exitCode"] == 3
    assert (status["ready"], status["restartCount"], "started" in status) == (False, 0, False)
    pod = sim.get("web")
    assert pod is not None
    # The pod's own containers decide phase and readiness; the debugger is not one of them.
    assert pod["status"]["phase"] == "Running"
    assert [s["name"] for s in pod["status"]["containerStatuses"]] == ["web"]
    assert sim.condition("web", "Ready") == "True"
    record = sim.kubelet.runtime.find("default", "web")
    assert record is not None
    assert [line.text for line in record.containers["dbg"].all_logs(sim.clock)] == ["hi"]
    assert record.containers["dbg"].field_path == "spec.ephemeralContainers{dbg}"


def test_an_interactive_shell_waits_for_its_attached_session() -> None:
    sim, agent = running_pod()
    add_ephemeral(sim, name="dbg", stdin=True, tty=True)  # busybox's CMD is sh
    sim.run_for(20)
    assert "running" in ephemeral_status(sim, "dbg")["state"]
    session = agent.attach("default", "web", "dbg", stdin=True, tty=False)
    session.send_stdin(b"echo $HOSTNAME\nexit 7\n")
    out, _, code = drain(session.program())
    assert (out, code, session.finished) == (["web"], 7, True)
    agent.attach_ended("default", "web", "dbg", session.exit_code)
    sim.wakes[WEB] = sim.clock.monotonic()
    sim.run_for(5)
    terminated = ephemeral_status(sim, "dbg")["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (7, "Error")
    with pytest.raises(ExecError) as stopped:
        agent.attach("default", "web", "dbg", stdin=True, tty=True)
    assert (stopped.value.message, stopped.value.plain) == ('container not found ("dbg")', True)


def test_an_interactive_sessions_output_is_the_containers_log() -> None:
    sim, agent = running_pod()
    add_ephemeral(sim, name="dbg", stdin=True, tty=True)
    add_ephemeral(sim, name="script", command=["sh", "-c", "echo hi"])
    sim.run_for(20)
    log = agent.attach_log("default", "web", "dbg")
    for chunk in ("/ # ", "ec", "ho hi\r\n", "hi\r\n/ # "):
        log(chunk)
    record = sim.kubelet.runtime.find("default", "web")
    assert record is not None
    assert [line.text for line in record.containers["dbg"].all_logs(sim.clock)] == [
        "/ # echo hi", "hi"]
    agent.attach_log("default", "web", "script")("not the process's own output\n")
    assert [line.text for line in record.containers["script"].all_logs(sim.clock)] == ["hi"]


def test_a_detached_session_leaves_the_shell_running() -> None:
    sim, agent = running_pod()
    add_ephemeral(sim, name="dbg", stdin=True, tty=True)
    sim.run_for(20)
    agent.attach("default", "web", "dbg", stdin=True, tty=True)
    agent.attach_ended("default", "web", "dbg", None)  # the client hung up
    sim.wakes[WEB] = sim.clock.monotonic()
    sim.run_for(5)
    assert "running" in ephemeral_status(sim, "dbg")["state"]


def test_attach_to_a_program_follows_its_output_until_it_exits() -> None:
    sim, agent = running_pod()
    add_ephemeral(sim, name="ticker", command=["sh", "-c", "echo one; sleep 30; echo two"])
    sim.run_for(12)
    session = agent.attach("default", "web", "ticker", stdin=False, tty=False)
    assert isinstance(session, OutputFollower)
    program = session.program()
    assert next(program).text == "one"  # type: ignore[union-attr]
    sim.run_for(40)
    out, _, code = drain(program)
    assert (out, code) == (["two"], 0)
