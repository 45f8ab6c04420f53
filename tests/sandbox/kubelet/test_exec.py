"""``kubectl exec`` on the kubelet side: a process in a running container's environment and
file system, interactive terminals, stdin scripts, and the kubelet's refusals."""

from __future__ import annotations

import base64

import pytest
from sandbox.images.shell_steps import drain
from sandbox.kubelet.kubelet_sim import Sim

from kubelab.sandbox.api import kinds
from kubelab.sandbox.fabric import ExecError, ExecProcess, Fabric
from kubelab.sandbox.images.shell import Output, Program, WaitInput
from kubelab.sandbox.kubelet.agent import KubeletAgent

BUSYBOX = "busybox:1.36"


def toolbox() -> tuple[Sim, KubeletAgent]:
    sim = Sim()
    sim.cluster.add(kinds.core("secrets"), {
        "metadata": {"name": "db", "namespace": "default"}, "type": "Opaque",
        "data": {"password": base64.b64encode(b"s3cr3t").decode()}})
    sim.pod("toolbox", [{
        "name": "shell", "image": BUSYBOX,
        "command": ["sh", "-c", "echo started > /tmp/state; while true; do sleep 5; done"],
        "env": [{"name": "GREETING", "value": "hello"},
                {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db",
                                                                    "key": "password"}}}],
        "volumeMounts": [{"name": "creds", "mountPath": "/etc/creds"}]}],
        volumes=[{"name": "creds", "secret": {"secretName": "db"}}])
    sim.run_for(10)
    assert sim.container("toolbox")["state"].get("running") is not None
    return sim, KubeletAgent(sim.kubelet.runtime, Fabric(), sim.clock)


def start(agent: KubeletAgent, *argv: str, stdin: bool = False,
          tty: bool = False) -> ExecProcess:
    return agent.exec("default", "toolbox", "shell", list(argv), stdin=stdin, tty=tty)


def test_a_process_sees_the_containers_env_mounts_and_what_its_program_wrote() -> None:
    _, agent = toolbox()
    assert drain(start(agent, "printenv", "GREETING", "PASSWORD").program()) == (
        ["hello", "s3cr3t"], [], 0)
    # A Secret's file has no trailing newline, so cat runs it into the next file (as on a
    # real cluster).
    assert drain(start(agent, "cat", "/etc/creds/password", "/tmp/state").program()) == (
        ["s3cr3tstarted"], [], 0)
    out, _, _ = drain(start(agent, "cat", "/etc/resolv.conf").program())
    assert out == ["search default.svc.cluster.local svc.cluster.local cluster.local",
                   "nameserver 10.96.0.10", "options ndots:5"]
    assert drain(start(agent, "cat", "/etc/hostname").program())[0] == ["toolbox"]
    hosts = drain(start(agent, "cat", "/etc/hosts").program())[0]
    assert hosts[0] == "# Kubernetes-managed hosts file." and hosts[-1].endswith("\ttoolbox")


def test_writes_by_one_exec_are_seen_by_the_next_like_one_file_system() -> None:
    _, agent = toolbox()
    assert drain(start(agent, "sh", "-c", "echo note > /tmp/n").program())[2] == 0
    assert drain(start(agent, "ls", "/tmp").program())[0] == ["n", "state"]


def test_errors_go_to_stderr_and_the_exit_status_is_kept() -> None:
    _, agent = toolbox()
    out, err, code = drain(start(agent, "sh", "-c", "echo out; cat /missing; exit 3").program())
    assert (out, err, code) == (["out"], ["cat: can't open '/missing': No such file or directory"],
                                3)
    assert drain(start(agent, "grep", "x", "/tmp/state").program()) == ([], [], 1)
    assert drain(start(agent, "frobnicate", "x").program()) == (
        [], ["sh: frobnicate: not found"], 127)
    # `>` captures stdout only: the diagnostic still reaches the terminal.
    out, err, _ = drain(start(agent, "sh", "-c", "cat /missing > /tmp/x; cat /tmp/x").program())
    assert out == [] and err == ["cat: can't open '/missing': No such file or directory"]


def test_a_shell_with_stdin_runs_the_piped_script_and_cat_echoes_it() -> None:
    _, agent = toolbox()
    process = start(agent, "sh", stdin=True)
    assert process.reads_stdin and not process.interactive
    assert drain(process.program("echo $GREETING\nhostname\n")) == (["hello", "toolbox"], [], 0)
    cat = start(agent, "cat", stdin=True)
    assert drain(cat.program("a\nb\n"))[0] == ["a", "b"]
    # A command that does not read stdin runs to its end without waiting for any.
    assert drain(start(agent, "ls", "/etc/hostname", stdin=True).program()) == (
        ["/etc/hostname"], [], 0)


def until_waiting(program: Program) -> list[str]:
    """Step ``program`` until it waits for stdin; what it wrote meanwhile."""
    written: list[str] = []
    for step in program:
        if isinstance(step, WaitInput):
            return written
        if isinstance(step, Output):
            written.append(step.data)
    raise AssertionError("the program ended instead of waiting for stdin")


def test_stdin_is_streamed_to_the_process_as_it_arrives() -> None:
    _, agent = toolbox()
    cat = start(agent, "cat", stdin=True)
    program = cat.program()
    assert until_waiting(program) == []
    cat.send_stdin(b"first\n")
    assert until_waiting(program) == ["first\n"]  # echoed before stdin ends
    cat.send_stdin("sec\u00f6nd\n".encode()[:4])  # a frame may split a character
    cat.send_stdin("sec\u00f6nd\n".encode()[4:])
    assert "".join(until_waiting(program)) == "sec\u00f6nd\n"
    cat.close_stdin()
    assert drain(program) == ([], [], 0)
    shell = start(agent, "sh", stdin=True)
    program = shell.program()
    shell.send_stdin(b"echo one\nfor i in 1 2\n")
    assert until_waiting(program) == ["one\n"]  # the loop is not complete yet
    shell.send_stdin(b"do echo $i; done\n")
    assert until_waiting(program) == ["1\n", "2\n"]
    shell.close_stdin()
    assert drain(program)[2] == 0


def test_an_interactive_shell_echoes_keys_runs_lines_and_exits() -> None:
    _, agent = toolbox()
    process = start(agent, "sh", stdin=True, tty=True)
    assert process.interactive and process.prompt == "/ # "
    shown: list[str] = []
    ran: list[list[str]] = []

    def type_keys(keys: str) -> None:
        for item in process.feed(keys):
            if isinstance(item, str):
                shown.append(item)
            else:
                ran.append(drain(item)[0])

    type_keys("ech")
    type_keys("x\x7fo $GREETING\r")
    assert "".join(shown) == "echx\b \bo $GREETING\r\n" and ran == [["hello"]]
    type_keys("export A=1\r")
    type_keys("echo $A\r")
    assert ran[-1] == ["1"]  # one shell: state carries from line to line
    type_keys("half a line\x03")
    assert shown[-1] == "^C\r\n/ # " and len(ran) == 3
    type_keys("exit 4\r")
    assert process.finished and process.exit_code == 4
    assert process.feed("echo too late\r") == []


def test_ctrl_d_on_an_empty_line_ends_the_shell() -> None:
    _, agent = toolbox()
    process = start(agent, "sh", stdin=True, tty=True)
    items = process.feed("\x04")
    assert items[0] == "exit\r\n"
    program = items[1]
    assert not isinstance(program, str)
    drain(program)
    assert process.finished and process.exit_code == 0


def test_the_kubelet_refuses_containers_that_are_not_running_and_when_it_is_down() -> None:
    sim, agent = toolbox()
    with pytest.raises(ExecError, match=r'container not found \("other"\)'):
        agent.exec("default", "toolbox", "other", ["ls"], stdin=False, tty=False)
    sim.pod("waiting", [{"name": "app", "image": "no-such-registry.example/none:1"}])
    sim.run_for(1)
    with pytest.raises(ExecError) as not_started:
        agent.exec("default", "waiting", "app", ["ls"], stdin=False, tty=False)
    # The kubelet's plain-text answer; client-go adds "unable to upgrade connection: ".
    assert (not_started.value.message, not_started.value.code, not_started.value.plain) == (
        'container not found ("app")', 500, True)
    with pytest.raises(ExecError) as elsewhere:
        agent.exec("default", "not-on-this-node", "app", ["ls"], stdin=False, tty=False)
    assert (elsewhere.value.message, elsewhere.value.code, elsewhere.value.plain) == (
        "pod does not exist", 404, True)
    agent.stop_kubelet()
    with pytest.raises(ExecError, match="error dialing backend") as refused:
        start(agent, "ls")
    assert refused.value.code == 500 and refused.value.reason == "InternalError"
    agent.runtime.running = True
    with pytest.raises(ExecError, match="at least 1 command"):
        start(agent)


def test_exec_runs_a_runner_images_own_program_and_the_shell_otherwise() -> None:
    sim = Sim()
    sim.pod("py", [{"name": "py", "image": "python:3.12", "command": ["sleep", "3600"]}])
    sim.run_for(10)
    agent = KubeletAgent(sim.kubelet.runtime, Fabric(), sim.clock)

    def run(*argv: str) -> tuple[list[str], list[str], int]:
        return drain(agent.exec("default", "py", "py", list(argv), stdin=False,
                                tty=False).program())

    assert run("python", "-c", "print('hi', 42)") == (["hi 42"], [], 0)
    assert run("sh", "-c", "ps | head -2 | tail -1") == (
        ["    1 root      0:00 sleep 3600"], [], 0)
