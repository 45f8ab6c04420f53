"""Test support: run a sandbox shell program to its end, outside any clock."""

from __future__ import annotations

from kubelab.sandbox.images.shell import Output, Program


def drain(program: Program) -> tuple[list[str], list[str], int]:
    """(stdout lines, stderr lines, exit status); sleeps are skipped."""
    out: list[str] = []
    err: list[str] = []
    try:
        while True:
            step = next(program)
            if isinstance(step, Output):
                (err if step.stderr else out).append(step.text)
    except StopIteration as stop:
        return out, err, int(stop.value or 0)
