"""The sandbox shell runs the course's ``sh -c`` commands on simulated time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kubelab.sandbox import images
from kubelab.sandbox.images.shell import ProgramRun, Shell, ShellError, parse

SECRET_LOOP = ('while true; do echo "hello $(cat /etc/secret-volume/user) your password is '
               '$(cat /etc/secret-volume/password)"; sleep 10; done')
SECRET_FILES = {"/etc/secret-volume/user": "steven",
                "/etc/secret-volume/password": "randompassword"}


def run(script: str, until: float = 0.0, env: dict[str, str] | None = None,
        files: dict[str, str] | None = None) -> ProgramRun:
    program = ProgramRun(Shell(env or {}, dict(files or {})).run_script(script))
    program.advance(until)
    return program


def test_workshop_secret_loop_prints_every_ten_seconds() -> None:
    program = run(SECRET_LOOP, until=25, files=SECRET_FILES)
    assert list(program.lines) == [
        (0.0, "hello steven your password is randompassword"),
        (10.0, "hello steven your password is randompassword"),
        (20.0, "hello steven your password is randompassword"),
    ]
    assert program.exit_code is None and program.next_wake == 30.0


def test_variables_from_env_and_assignments() -> None:
    program = run('echo "$GREETING, ${NAME:-nobody}"; NAME=ada; echo $NAME $UNSET.',
                  env={"GREETING": "hi"})
    assert [t for _, t in program.lines] == ["hi, nobody", "ada ."]


def test_exit_status_and_conditionals() -> None:
    program = run("false || echo fallback; true && echo yes; cat /nope; echo $?; exit 3")
    assert [t for _, t in program.lines] == [
        "fallback", "yes", "cat: can't open '/nope': No such file or directory", "1"]
    assert program.exit_code == 3


def test_for_if_and_test() -> None:
    program = run('for i in 1 2 3; do if [ "$i" -ge 2 ]; then echo big $i; else echo small; fi; done')
    assert [t for _, t in program.lines] == ["small", "big 2", "big 3"]


def test_double_bracket_is_test_with_a_closing_pair() -> None:
    # the downward API task's loop: if [[ -e /etc/podinfo/labels ]]; then ... fi
    program = run("if [[ -e /etc/podinfo/labels ]]; then cat /etc/podinfo/labels; fi; "
                  "[[ -e /etc/none ]] || echo absent; [[ -e /etc/podinfo/labels ]; echo $?",
                  files={"/etc/podinfo/labels": 'zone="us-est-coast"\n'})
    assert [t for _, t in program.lines] == ['zone="us-est-coast"', "absent", "sh: missing ]]",
                                             "2"]


def test_files_redirection_touch_rm() -> None:
    program = run("echo ok > /tmp/a; cat /tmp/a; touch /tmp/h; [ -f /tmp/h ] && echo there; "
                  "rm /tmp/h; [ -f /tmp/h ] || echo gone")
    assert [t for _, t in program.lines] == ["ok", "there", "gone"]


def test_date_uses_the_simulated_time() -> None:
    shell = Shell({}, {}, now=lambda: datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC))
    program = ProgramRun(shell.run_script("date"))
    program.advance(0)
    assert [t for _, t in program.lines] == ["Wed Mar  4 05:06:07 UTC 2026"]


def test_sleep_then_exit_reports_the_exit_offset() -> None:
    program = run("echo start; sleep 5; echo end; exit 1", until=4)
    assert program.exit_code is None
    program.advance(5)
    assert program.exit_code == 1 and program.exit_at == 5.0
    assert [t for _, t in program.lines] == ["start", "end"]


def test_busy_loop_cannot_hang() -> None:
    program = run("while true; do :; done", until=0.5)
    assert program.exit_code is None and program.next_wake is not None


def test_unknown_command_is_127() -> None:
    program = run("frobnicate")
    assert program.lines[0][1] == "sh: frobnicate: not found" and program.exit_code == 127


@pytest.mark.parametrize("script", ["sleep 1 &", "while true; do echo", "echo a |"])
def test_unsupported_or_broken_syntax_is_reported(script: str) -> None:
    with pytest.raises(ShellError):
        parse(script)
    program = run(script)
    assert program.exit_code == 2 and program.lines[0][1].startswith("sh: ")


def test_image_program_combines_command_and_args() -> None:
    alpine = images.lookup("alpine")
    bare = ProgramRun(images.program(alpine, [], [], Shell({}, {})))
    bare.advance(0)
    assert bare.exit_code == 0  # /bin/sh without a terminal exits at once
    split = ProgramRun(images.program(alpine, ["/bin/sh"], ["-c", "echo $A"],
                                      Shell({"A": "x"}, {})))
    split.advance(0)
    assert [t for _, t in split.lines] == ["x"]
    exec_form = ProgramRun(images.program(alpine, ["sleep", "3600"], [], Shell({}, {})))
    exec_form.advance(3599)
    assert exec_form.exit_code is None
    exec_form.advance(3600)
    assert exec_form.exit_code == 0


def test_args_alone_replace_the_image_cmd() -> None:
    """``kubectl run x --image=busybox -- sh -c '…'`` sets only ``args``."""
    busybox = images.lookup("busybox")
    program = ProgramRun(images.program(busybox, [], ["sh", "-c", "echo from args"],
                                        Shell({}, {})))
    program.advance(0)
    assert [t for _, t in program.lines] == ["from args"] and program.exit_code == 0
