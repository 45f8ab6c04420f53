"""%kubectl: pipelines between kubectl commands, friendly errors, nothing on stderr."""

from __future__ import annotations

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
    result = magics.run_pipeline("create x | apply -f -", None, fake_runner(calls, "create"))
    assert not result.ok and len(calls) == 1 and "boom" in result.stderr


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
    monkeypatch.setattr(magics, "show", lambda result: (print(result.stdout, end=""),
                                                        shown.append({"err": result.stderr})))
    magics.kubectl_line("create namespace magic-test --dry-run=client -o yaml "
                        "| kubectl apply -f -")
    magics.kubectl_line("get namespace magic-test -o name")
    magics.kubectl_line("get deployment does-not-exist")
    out = capsys.readouterr().out
    assert "namespace/magic-test created" in out and "namespace/magic-test\n" in out
    assert "NotFound" in shown[-1]["err"]
