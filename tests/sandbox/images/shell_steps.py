"""Test support: run a sandbox shell program to its end, outside any clock."""

from __future__ import annotations

from kubelab.sandbox.images.shell import Output, Program


def drain_text(program: Program) -> tuple[str, str, int]:
    """(stdout, stderr, exit status) as the bytes a terminal would show; sleeps are
    skipped."""
    out: list[str] = []
    err: list[str] = []
    try:
        while True:
            step = next(program)
            if isinstance(step, Output):
                (err if step.stderr else out).append(step.data)
    except StopIteration as stop:
        return "".join(out), "".join(err), int(stop.value or 0)


def drain(program: Program) -> tuple[list[str], list[str], int]:
    """(stdout lines, stderr lines, exit status); sleeps are skipped."""
    out, err, status = drain_text(program)
    return out.splitlines(), err.splitlines(), status
