"""%kubectl: pipelines between kubectl commands, friendly errors, nothing on stderr."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from kubelab import magics


def test_split_pipeline_drops_leading_kubectl_and_respects_quotes() -> None:
    stages = magics.split_pipeline(
        "create ns x --dry-run=client -o yaml | kubectl apply -f - | kubectl get -l 'a=b c'")
    assert stages == [["create", "ns", "x", "--dry-run=client", "-o", "yaml"],
                      ["apply", "-f", "-"], ["get", "-l", "a=b c"]]
    with pytest.raises(ValueError):
        magics.split_pipeline("get pods |")


@pytest.mark.parametrize(("stderr", "expected"), [
    ('Error from server (AlreadyExists): deployments.apps "web" already exists', "kubectl apply"),
    ('Error from server (NotFound): deployments.apps "web" not found', "check the spelling"),
    ("The Deployment \"web\" is invalid: spec.replicas: Invalid value: -1", "field"),
    ("error: unknown flag: --replica", "--help"),
    ("Unable to connect to the server: dial tcp 127.0.0.1:1: connect: connection refused",
     "first cell"),
    ("error: something new", "--help"),
    ('The Pod "secret-test-pod" is invalid: spec: Forbidden: pod updates may not change fields '
     "other than `spec.containers[*].image`,`spec.initContainers[*].image`", "delete it"),
    ('error: deployment "hello-world" exceeded its progress deadline', "%why deploy/"),
])
def test_hints_are_one_plain_sentence(stderr: str, expected: str) -> None:
    hint = magics.hint_for(stderr)
    assert expected in hint
    assert hint.endswith(".") and hint.count(". ") <= 1


def fake_runner(calls: list[tuple[list[str], str | None]], fail_on: str = ""
                ) -> magics.Runner:
    def run(args: Sequence[str], stdin: str | None) -> subprocess.CompletedProcess[str]:
        calls.append((list(args), stdin))
        if fail_on and fail_on in args:
            return subprocess.CompletedProcess(list(args), 1, "", "error: boom\n")
        return subprocess.CompletedProcess(list(args), 0, f"out-of-{args[0]}\n", "")
    return run


def test_pipeline_feeds_each_stdout_to_the_next_stage() -> None:
    calls: list[tuple[list[str], str | None]] = []
    result = magics.run_pipeline("create x | kubectl apply -f -", "cell", fake_runner(calls))
    assert result.ok and result.stdout == "out-of-apply\n"
    assert calls == [(["create", "x"], "cell"), (["apply", "-f", "-"], "out-of-create\n")]


def test_a_failing_stage_stops_the_pipeline() -> None:
    calls: list[tuple[list[str], str | None]] = []
    result = magics.run_pipeline("create x | kubectl apply -f -", None,
                                 fake_runner(calls, "create"))
    assert not result.ok and len(calls) == 1 and "boom" in result.stderr


class FakeStarted(magics.Started):
    """A started stage that records what happened to it instead of running kubectl."""

    def __init__(self, args: Sequence[str], log: list[str]) -> None:
        self.args, self.log = list(args), log
        log.append(f"start {args[0]}")

    def finish(self, stdin: str | None) -> subprocess.CompletedProcess[str]:
        self.log.append(f"finish {self.args[0]} <- {stdin!r}")
        return subprocess.CompletedProcess(self.args, 0, f"out-of-{self.args[0]}\n", "")

    def cancel(self) -> None:
        self.log.append(f"cancel {self.args[0]}")


def test_a_stage_reading_stdin_starts_before_the_stage_that_feeds_it() -> None:
    log: list[str] = []
    def run(args: Sequence[str], stdin: str | None) -> subprocess.CompletedProcess[str]:
        log.append(f"run {args[0]}")
        return subprocess.CompletedProcess(list(args), 0, f"out-of-{args[0]}\n", "")

    result = magics.run_pipeline("create x -o yaml | kubectl apply -f - | kubectl get pods",
                                 None, run, lambda args: FakeStarted(args, log))
    assert result.ok and result.stdout == "out-of-get\n"
    # `get pods` reads no input: it runs only once `apply` succeeded, never beside it.
    assert log == ["start apply", "run create", "finish apply <- 'out-of-create\\n'",
                   "run get"]


def test_a_failing_stage_cancels_the_started_stage_it_would_have_fed() -> None:
    log: list[str] = []
    def run(args: Sequence[str], stdin: str | None) -> subprocess.CompletedProcess[str]:
        log.append(f"run {args[0]}")
        return subprocess.CompletedProcess(list(args), 1, "", "error: boom\n")

    result = magics.run_pipeline("create x | kubectl apply --filename=-", None, run,
                                 lambda args: FakeStarted(args, log))
    assert not result.ok and result.stderr == "error: boom\n"
    assert log == ["start apply", "run create", "cancel apply"]


@pytest.mark.parametrize(("args", "reads"), [
    (["apply", "-f", "-"], True), (["apply", "--filename=-"], True), (["create", "-f-"], True),
    (["apply", "-f", "web.yaml"], False), (["get", "pods"], False), (["apply", "-f"], False),
])
def test_which_stages_read_standard_input(args: list[str], reads: bool) -> None:
    assert magics.reads_stdin(args) is reads


def test_show_prints_stdout_and_displays_errors_never_on_stderr(capsys: Any) -> None:
    shown: list[dict[str, str]] = []
    magics.show(magics.Run(1, "partial\n", 'Error from server (NotFound): pods "x" not found\n'),
                display=lambda data, raw: shown.append(data))
    captured = capsys.readouterr()
    assert captured.out == "partial\n" and captured.err == ""
    assert "What to do:" in shown[0]["text/plain"]
    assert "&quot;x&quot;" in shown[0]["text/html"]


def test_magic_runs_the_real_kubectl_against_the_current_cluster(
        sandbox: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    from kubelab import connect

    monkeypatch.setattr(connect, "_current", connect.Cluster(Path(sandbox.kubeconfig)))
    shown: list[dict[str, str]] = []
    def record(result: magics.Run, **kw: Any) -> None:
        print(result.stdout, end="")
        shown.append({"err": result.stderr})

    monkeypatch.setattr(magics, "show", record)
    magics.kubectl_line("create namespace magic-test --dry-run=client -o yaml "
                        "| kubectl apply -f -")
    magics.kubectl_line("get namespace magic-test -o name")
    magics.kubectl_line("get deployment does-not-exist")
    out = capsys.readouterr().out
    assert "namespace/magic-test created" in out and "namespace/magic-test\n" in out
    assert "NotFound" in shown[-1]["err"]
    # A first stage that fails: the `apply` started beside it is killed having created nothing.
    magics.kubectl_line("create configmap --from-literal=a=b --dry-run=client -o yaml "
                        "| kubectl apply -f -")
    assert shown[-1]["err"].startswith("error: exactly one NAME is required, got 0\n")
    assert "no objects passed" not in shown[-1]["err"]
    assert _child_commands() == []   # nothing left running or unreaped


def _child_commands() -> list[str]:
    children = []
    for task in Path("/proc/self/task").iterdir():
        for pid in (task / "children").read_text().split():
            with contextlib.suppress(OSError):
                children.append((Path("/proc") / pid / "comm").read_text())  # zombies too
    return [c for c in children if "kubectl" in c]


@pytest.mark.parametrize(("line", "program"), [
    ("get pods -o name | sed 's|pod/||'", "sed"),
    ("kubectl get pods | grep web", "grep"),
    ("get pods | kubectl get -f - | head -3", "head"),
])
def test_a_pipe_into_another_program_is_refused_before_anything_runs(
        line: str, program: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[list[str], str | None]] = []
    monkeypatch.setattr(magics, "_default_runner", fake_runner(calls))
    shown: list[dict[str, str]] = []
    def record(result: magics.Run, display: Any = None, hint: str | None = None) -> None:
        shown.append({"err": result.stderr, "hint": hint or "", "ok": str(result.ok)})

    monkeypatch.setattr(magics, "show", record)
    magics.kubectl_line(line)
    magics.kubectl_cell(line, "apiVersion: v1\nkind: Namespace\n")
    assert calls == []   # nothing ran, not even the first stage
    for seen in shown:
        assert seen["ok"] == "False"
        assert "pipes only into kubectl" in seen["err"] and f"`{program}`" in seen["err"]
        assert "unknown command" not in seen["err"]
        bang = "!" + (line if line.startswith("kubectl ") else "kubectl " + line)
        assert seen["hint"].endswith(bang)   # the same command as a shell escape
        assert "shell escape" in seen["hint"]


def test_the_refusal_is_displayed_with_the_shell_form_as_what_to_do(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(magics, "_default_runner", fake_runner([]))
    shown: list[dict[str, str]] = []
    real_show = magics.show
    monkeypatch.setattr(magics, "show", lambda result, hint=None: real_show(
        result, display=lambda data, raw: shown.append(data), hint=hint))
    magics.kubectl_line("get pods | sed s/a/b/")
    text = shown[0]["text/plain"]
    assert "What to do: For a shell pipeline use the shell escape" in text
    assert text.endswith("!kubectl get pods | sed s/a/b/")
    assert "kubectl has no such command" not in text


def test_a_cell_with_only_comments_runs_nothing_and_says_not_answered(
        monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    calls: list[tuple[list[str], str | None]] = []
    monkeypatch.setattr(magics, "_default_runner", fake_runner(calls))
    magics.kubectl_cell("apply -f -", "# your manifest: a Deployment named web\n\n")
    captured = capsys.readouterr()
    assert calls == [] and captured.err == ""
    assert captured.out.startswith("Not answered yet: nothing to pass to `kubectl apply -f -`")
    magics.kubectl_cell("apply -f -", "# a manifest\napiVersion: v1\n")
    assert calls == [(["apply", "-f", "-"], "# a manifest\napiVersion: v1\n")]
