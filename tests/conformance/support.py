"""Support for the conformance suite: golden transcripts and sandboxes with or without components.

A golden file is a terminal transcript (``$ kubectl …`` then what kubectl printed, stderr after
stdout, and ``[exit N]`` when N is not 0) after ``normalise``; reviewers read it as they
would read a real cluster's output.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conformance.normalise import folded, normalise, same_text
from sandbox_support import SandboxHandle, start_sandbox

MANIFESTS = Path(__file__).parent / "manifests"
_ENV_LOCK = threading.Lock()
MISSING_COMPONENT_SIGNS = ("AttributeError", "ImportError", "ModuleNotFoundError")


@contextlib.contextmanager
def _components(enabled: bool) -> Iterator[None]:
    with _ENV_LOCK:
        before = os.environ.get("KUBELAB_COMPONENTS")
        os.environ["KUBELAB_COMPONENTS"] = "1" if enabled else "0"
        try:
            yield
        finally:
            if before is None:
                del os.environ["KUBELAB_COMPONENTS"]
            else:
                os.environ["KUBELAB_COMPONENTS"] = before


def sandbox_without_components(state_dir: Path) -> SandboxHandle:
    with _components(False):
        return start_sandbox(state_dir)


def sandbox_with_components(state_dir: Path) -> SandboxHandle:
    """Start a full sandbox; skip (not fail) only while component modules do not exist yet."""
    with _components(True):
        try:
            handle = start_sandbox(state_dir)
        except RuntimeError as err:
            if any(sign in str(err) for sign in MISSING_COMPONENT_SIGNS):
                pytest.skip(f"sandbox components are not complete yet: {str(err)[-300:]}")
            raise
    return handle


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "",
             *, required: bool = True) -> bool:
    """Poll ``predicate``; past ``timeout`` fail, or return False when not ``required``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    if required:
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
    return False


def nodes_ready(handle: SandboxHandle, timeout: float = 60) -> SandboxHandle:
    """``handle`` once ``kubectl wait --for=condition=Ready nodes --all`` succeeds: the
    cluster fixtures' start, so no test races the kubelets' registration."""
    wait_for(lambda: handle.kubectl("wait", "--for=condition=Ready", "nodes", "--all",
                                    "--timeout=5s", check=False).returncode == 0,
             timeout, "every node Ready")
    return handle


def manifest(name: str) -> str:
    return str(MANIFESTS / name)


def transcript(args: tuple[str, ...], proc: subprocess.CompletedProcess[str]) -> str:
    """The terminal transcript, with manifest paths shown relative as a learner types them."""
    text = "$ kubectl " + " ".join(args) + "\n" + proc.stdout
    if proc.stdout and not proc.stdout.endswith("\n"):
        text += "\n"
    text += proc.stderr
    if proc.stderr and not proc.stderr.endswith("\n"):
        text += "\n"
    if proc.returncode:
        text += f"[exit {proc.returncode}]\n"
    return text.replace(str(MANIFESTS) + "/", "")


# Golden files hold what a real cluster prints. Where the sandbox is known to differ, the
# golden file still says what upstream prints, and the difference is listed here with its
# cause: the test is then reported as an expected failure, and as a failure once it matches
# (so the entry is removed when the cause is fixed).
KNOWN_DEVIATIONS: dict[str, str] = {}


@dataclass
class Golden:
    """Compare normalised output with ``golden/<name>.txt`` (or rewrite it when updating)."""

    directory: Path
    update: bool = False
    deviations: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)

    def check(self, name: str, raw: str) -> None:
        actual = normalise(raw)
        path = self.directory / f"{name}.txt"
        if self.update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual)
            return
        if not path.exists():
            raise AssertionError(f"no golden file {path.name}; run pytest with --update-golden "
                                 f"and review it. Output was:\n{actual}")
        expected = path.read_text()
        known = KNOWN_DEVIATIONS.get(name)
        if known is not None:
            if same_text(actual, expected):
                self.fixed.append(name)
            else:
                self.deviations.append(f"{name}: {known}")
            return
        if not same_text(actual, expected):
            import difflib

            diff = "\n".join(difflib.unified_diff(folded(expected), folded(actual),
                                                  "golden", "actual", lineterm=""))
            raise AssertionError(f"{path.name} differs (blank runs folded):\n{diff}")

    def kubectl(self, sandbox: SandboxHandle, name: str, *args: str, input: str | None = None,
                timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run kubectl and compare its transcript with the golden file ``name``."""
        proc = sandbox.kubectl(*args, input=input, check=False, timeout=timeout)
        self.check(name, transcript(args, proc))
        return proc
