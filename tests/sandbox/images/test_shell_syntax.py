"""The shell language as BusyBox ash runs it: pipelines, redirections, here-documents,
substitutions, arithmetic, groups, ``read`` loops, globs, ``echo``.

Expected outputs are ash's (``shell/ash.c``; its own tests are ``shell/ash_test/``); where
the sandbox simulates (a pipeline stage shares the shell's variables) the test says so.
"""

from __future__ import annotations

import pytest
from sandbox.images.shell_steps import drain_text

from kubelab.sandbox.images.shell import Input, Output, ProgramRun, Shell, Sleep


def sh(script: str, *, stdin: str = "", files: dict[str, str] | None = None,
       env: dict[str, str] | None = None) -> tuple[str, str, int]:
    return drain_text(Shell(env or {}, files if files is not None else {}).run_script(
        script, Input(stdin)))


@pytest.mark.parametrize(("script", "stdout", "stderr", "status"), [
    # pipelines: each stage's stdout is the next one's stdin; the status is the last stage's
    ("printf 'b\\na\\nc\\n' | sort | head -2", "a\nb\n", "", 0),
    ("echo a | grep -q b | true", "", "", 0),
    ("true | false", "", "", 1),
    ("! true | false; echo $?", "0\n", "", 0),
    ("echo x | nosuch | cat", "", "sh: nosuch: not found\n", 0),
    ("yes | head -3", "y\ny\ny\n", "", 0),
    ("seq 1 100000 | grep -c 7", "40951\n", "", 0),
    ("for i in $(seq 1 3); do echo $i; done | tac 2>/dev/null || echo no tac",
     "no tac\n", "", 0),
    ("echo a; echo b | tr a-z A-Z; echo c", "a\nB\nc\n", "", 0),
    ("false && echo no || echo yes", "yes\n", "", 0),
    ("true &&\n echo yes", "yes\n", "", 0),
    # "not found" is on stderr with status 127; substitutions capture stdout only
    ("nosuchcmd", "", "sh: nosuchcmd: not found\n", 127),
    ("x=$(nosuchcmd); echo \"[$x] $?\"", "[] 127\n", "sh: nosuchcmd: not found\n", 0),
    ("x=$(echo ok); echo \"[$x] $?\"", "[ok] 0\n", "", 0),
    ("nosuchcmd 2>/dev/null; echo $?", "127\n", "", 0),
    ("for i in $(seq 1 3); do echo i=$i; done", "i=1\ni=2\ni=3\n", "", 0),
    ("echo \"$(echo a; echo b)\"", "a\nb\n", "", 0),
    ("echo $(echo a; echo b)", "a b\n", "", 0),
    ("echo `echo back`", "back\n", "", 0),
    # redirections, applied left to right
    ("echo out; echo err >&2", "out\n", "err\n", 0),
    ("(echo out; echo err >&2) 2>&1 | wc -l", "2\n", "", 0),
    ("(echo out; echo err >&2) 2>/dev/null", "out\n", "", 0),
    ("(echo out; echo err >&2) >/dev/null", "", "err\n", 0),
    ("ls /nope 2>&1 >/dev/null", "ls: /nope: No such file or directory\n", "", 1),
    ("echo one > /tmp/f; echo two >> /tmp/f; cat /tmp/f", "one\ntwo\n", "", 0),
    ("echo one > /tmp/f; echo two > /tmp/f; cat < /tmp/f", "two\n", "", 0),
    ("cat < /nope", "", "sh: can't open /nope: no such file\n", 1),
    ("echo x > /nodir/f", "", "sh: can't create /nodir/f: nonexistent directory\n", 1),
    ("{ echo a; echo b; } > /tmp/g; wc -l < /tmp/g", "2\n", "", 0),
    ("while read line; do echo \"<$line>\"; done < /tmp/in", "<one>\n<two words>\n", "", 0),
    # here-documents
    ("cat <<EOF\nhello $NAME\n$(echo sub)\nEOF", "hello ada\nsub\n", "", 0),
    ("cat <<'EOF'\nhello $NAME\nEOF", "hello $NAME\n", "", 0),
    ("cat <<\"EOF\"\nhello $NAME\nEOF", "hello $NAME\n", "", 0),
    ("cat <<-EOF\n\tindented\n\tEOF\necho after", "indented\nafter\n", "", 0),
    ("cat <<EOF | tr a-z A-Z\nshout\nEOF", "SHOUT\n", "", 0),
    # expansions
    ("i=0; while [ $i -lt 5 ]; do i=$((i + 1)); done; echo $i $((i * 3 % 4))", "5 3\n", "", 0),
    ("echo $((7 / 2)) $((-7 / 2)) $((1 + 2 * 3))", "3 -3 7\n", "", 0),
    ("echo ${#NAME} ${UNSET:-dflt} ${NAME:+set} ${UNSET:=now} $UNSET", "3 dflt set now now\n",
     "", 0),
    ("echo /etc/*.conf", "/etc/a.conf /etc/b.conf\n", "", 0),
    ("echo /etc/*.none", "/etc/*.none\n", "", 0),
    ("cd /etc && echo *.conf && pwd", "a.conf b.conf\n/etc\n", "", 0),
    # groups and subshells
    ("(X=inner; cd /tmp); echo \"[$X]\" $(pwd)", "[] /\n", "", 0),
    ("{ X=inner; }; echo $X", "inner\n", "", 0),
    ("(exit 3); echo $?", "3\n", "", 0),
    # echo is BusyBox's: escapes only with -e (coreutils/echo.c, FEATURE_FANCY_ECHO)
    ("echo \"a\\nb\"", "a\\nb\n", "", 0),
    ("echo -e \"a\\nb\\tc\"", "a\nb\tc\n", "", 0),
    ("echo -n x; echo y", "xy\n", "", 0),
    ("echo -e 'stop\\chere'; echo", "stop\n", "", 0),
    ("echo -x", "-x\n", "", 0),
    ("printf '%s=%d\\n' a 1 b 2", "a=1\nb=2\n", "", 0),
    ("printf '%5s|%-3s|\\n' ab c", "   ab|c  |\n", "", 0),
])
def test_ash_semantics(script: str, stdout: str, stderr: str, status: int) -> None:
    files = {"/tmp/in": "one\ntwo words\n", "/etc/a.conf": "", "/etc/b.conf": "",
             "/etc/hosts": ""}
    assert sh(script, files=files, env={"NAME": "ada"}) == (stdout, stderr, status)


def test_a_pipeline_is_lazy_and_its_writer_dies_of_sigpipe() -> None:
    """``yes`` would never end: ``head`` stops reading, so ``yes`` dies at its next write."""
    steps = 0
    program = Shell({}, {}).run_script("yes | head -2; echo done")
    outputs = []
    for step in program:
        steps += 1
        if isinstance(step, Output):
            outputs.append(step.data)
    assert "".join(outputs) == "y\ny\ndone\n" and steps < 10


def test_a_pipeline_stage_sleeps_on_the_simulated_clock() -> None:
    run = ProgramRun(Shell({}, {}).run_script(
        "(echo a; sleep 5; echo b) | while read x; do echo got $x; done"))
    run.advance(1)
    assert [t for _, t in run.lines] == ["got a"] and run.exit_code is None
    run.advance(5.1)  # 5 s of sleep after the first iteration's 1 ms loop cost
    assert [t for _, t in run.lines] == ["got a", "got b"] and run.exit_code == 0
    assert run.lines[1][0] == pytest.approx(5.001)


@pytest.mark.parametrize("script", ["yes | grep -c n", "yes | sed -n '/n/p' | wc -l",
                                    "while true; do echo x; done | grep -c y"])
def test_work_inside_a_pipeline_is_made_of_steps(script: str) -> None:
    """A pipe's writes are steps of the program, so a pipeline that never ends (``yes``
    feeding a reader that waits for the end) runs under the step budget, never inside one
    step."""
    run = ProgramRun(Shell({}, {}).run_script(script))
    assert run.advance(10.0, budget=100) == 100 and run.busy and run.exit_code is None


def test_a_busy_pipeline_is_stepped_under_the_budget() -> None:
    run = ProgramRun(Shell({}, {}).run_script("while true; do echo x; done | grep -c y"))
    ran = run.advance(10.0, budget=50)
    assert ran == 50 and run.busy and run.exit_code is None


def test_here_document_expansion_can_be_quoted_in_part() -> None:
    out, _, _ = sh("cat <<E\"O\"F\n$NAME\nEOF", env={"NAME": "x"})
    assert out == "$NAME\n"


def test_sleeps_inside_substitutions_and_pipes_are_yielded() -> None:
    steps = list(Shell({}, {}).run_script("x=$(sleep 2; echo hi) ; echo $x | cat"))
    assert Sleep(2.0) in steps
    assert [s.data for s in steps if isinstance(s, Output)] == ["hi\n"]


def test_interactive_stdin_shell_runs_each_complete_command() -> None:
    shell = Shell({}, {})
    stdin = Input(closed=False)
    program = shell.run_stdin(stdin)
    stdin.feed("echo one\nif true\n")
    written = []
    for step in program:
        if isinstance(step, Output):
            written.append(step.text)
        else:
            break  # waiting for more input
    assert written == ["one"]
    stdin.feed("then echo two; fi\nexit 4\n")
    out, _, status = drain_text(program)
    assert (out, status) == ("two\n", 4)
