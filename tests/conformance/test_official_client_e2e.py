"""The official Python client's own end-to-end suite, unchanged, against a fresh sandbox.

``tests/vendor/kubernetes_e2e`` holds ``kubernetes/e2e_test`` of kubernetes-client/python as
upstream wrote it (see its README for the commit). The suite finds its cluster the way it does
in the client's CI: ``base.get_e2e_configuration`` loads the kubeconfig named by
``KUBECONFIG``, which here is the sandbox's. It runs in a child pytest from the vendored root
(its YAML paths are relative to it) and reports one JUnit result per test; each upstream test
is one item here, passing when it passed there.

Tests that need what the sandbox does not serve are listed in ``NOT_DONE`` with the README
phrase that declares the gap, as strict expected failures: one that starts passing fails this
suite until its entry (and the README's line, once nothing else needs it) is removed.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conformance.support import sandbox_with_components

# The whole suite runs in the first item's setup: a busy machine (and a rerun) can take
# longer than the default per-test timeout.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
VENDORED = ROOT / "tests" / "vendor" / "kubernetes_e2e"
SUITE = VENDORED / "kubernetes" / "e2e_test"
PER_TEST_TIMEOUT_S = 60
#: The suite's modules in groups run side by side (the suite mostly waits: informer resyncs,
#: watch timeouts, pods starting). Modules that share objects stay in one group:
#: ``test_client``'s ConfigMap test and ``test_watch`` both use the label ``e2e-tests=true``.
GROUPS = (
    ("test_utils",),
    ("test_client", "test_watch", "test_batch", "test_apps"),
    ("test_informer", "test_issue_2387_proxy_ssl_context"),
)

# Upstream test → (the phrase of README's "Not done" column that covers it, why it fails).
NOT_DONE: dict[str, tuple[str, str]] = {
    "test_client.TestClient.test_portforward_raw": (
        "programs of your own run by an image's interpreter",
        "the pod runs port_server.py (a TCP echo server) with python; the python image "
        "simulates -m http.server and -c only, so the container fails"),
}


@dataclass(frozen=True)
class Outcome:
    result: str  # passed, failed, error or skipped
    detail: str = ""


def vendored_tests() -> list[str]:
    """``module.Class.test`` for every test method of the vendored suite, read from its source."""
    found = []
    for path in sorted(SUITE.glob("test_*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                found += [f"{path.stem}.{node.name}.{item.name}" for item in node.body
                          if isinstance(item, ast.FunctionDef) and item.name.startswith("test")]
    return found


def not_done_column(readme: str) -> str:
    """The third cell of every row of README's Real/Simulated/Not done table."""
    lines = readme.splitlines()
    start = next(i for i, line in enumerate(lines) if "| Not done" in line)
    cells = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells.append(line.strip().strip("|").split(" | ")[-1])
    return "\n".join(cells)


def parse_junit(xml: Path) -> dict[str, Outcome]:
    outcomes: dict[str, Outcome] = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        module_class = case.get("classname", "").removeprefix("kubernetes.e2e_test.")
        key = f"{module_class}.{case.get('name')}"
        result, detail = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                result = {"failure": "failed"}.get(child.tag, child.tag)
                detail = (child.get("message") or "") + "\n" + (child.text or "")
                break
        outcomes[key] = Outcome(result, detail.strip())
    return outcomes


def _run_groups(groups: list[list[str]], work: Path, env: dict[str, str],
                tag: str) -> dict[str, Outcome]:
    """Run each group of node ids in its own child pytest, the groups side by side."""
    ini = work / "pytest.ini"
    ini.write_text("[pytest]\n")
    runs = []
    try:
        for index, nodes in enumerate(groups):
            junit = work / f"junit-{tag}{index}.xml"
            log = work / f"log-{tag}{index}.txt"
            with log.open("w") as sink:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                     "-p", "pytest_timeout", "-c",
                     str(ini), "--rootdir", str(VENDORED), "--confcutdir", str(VENDORED),
                     f"--timeout={PER_TEST_TIMEOUT_S}", f"--junitxml={junit}", *nodes],
                    cwd=VENDORED, env=env, stdout=sink, stderr=subprocess.STDOUT)
            runs.append((proc, junit, log))
        for proc, _junit, _log in runs:
            proc.wait(timeout=600)
    finally:
        for proc, _junit, _log in runs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    outcomes: dict[str, Outcome] = {}
    for proc, junit, log in runs:
        if not junit.exists():
            raise AssertionError(f"the vendored suite did not run ({proc.args[-1]}):\n"
                                 f"{log.read_text()}")
        outcomes |= parse_junit(junit)
    return outcomes


def _node_id(test: str) -> str:
    module, cls, name = test.split(".")
    return f"kubernetes/e2e_test/{module}.py::{cls}::{name}"


@pytest.fixture(scope="module")
def e2e_results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Outcome]]:
    """Run the vendored suite once against a fresh sandbox with every component: its modules
    in :data:`GROUPS`, the groups side by side, each group's modules one after another.

    A test that fails and is not in :data:`NOT_DONE` runs once more, alone: upstream's
    ``SharedInformer.stop()`` can miss a watch that is just starting (``Watch.stream`` resets
    its stop flag), and then waits for an event that never comes, on any cluster, more often
    on a busy machine. A real failure fails twice."""
    sandbox = sandbox_with_components(tmp_path_factory.mktemp("e2e-sandbox"))
    work = tmp_path_factory.mktemp("e2e-run")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KUBECTL_", "PYTEST_", "KUBELAB_"))}
    env["KUBECONFIG"] = str(sandbox.kubeconfig)
    env["HOME"] = str(work)  # nothing of the machine's ~/.kube reaches the suite
    # Upstream's suite needs no plugin but the timeout: not loading the others (Jupyter's,
    # asyncio's…) halves each child's start-up.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        outcomes = _run_groups([[f"kubernetes/e2e_test/{m}.py" for m in group]
                                for group in GROUPS], work, env, "")
        again = [_node_id(test) for test, outcome in outcomes.items()
                 if outcome.result in ("failed", "error") and test not in NOT_DONE]
        if again:
            outcomes |= _run_groups([again], work, env, "again-")
    finally:
        sandbox.stop()
    yield outcomes


def _params() -> list[object]:
    params: list[object] = []
    for test in vendored_tests():
        marks = []
        if test in NOT_DONE:
            marks.append(pytest.mark.xfail(strict=True, reason=NOT_DONE[test][1]))
        params.append(pytest.param(test, id=test, marks=marks))
    return params


@pytest.mark.parametrize("test", _params())
def test_upstream_e2e(test: str, e2e_results: dict[str, Outcome]) -> None:
    outcome = e2e_results.get(test)
    assert outcome is not None, f"{test} did not report a result"
    if outcome.result == "skipped":
        pytest.skip(f"upstream skipped it: {outcome.detail[:300]}")
    assert outcome.result == "passed", f"{test} {outcome.result}:\n{outcome.detail[-4000:]}"


def test_not_done_entries_name_upstream_tests_and_readme_gaps() -> None:
    """Every expected failure names a real upstream test and a gap README's table declares."""
    tests = set(vendored_tests())
    column = not_done_column((ROOT / "README.md").read_text())
    for test, (phrase, _reason) in NOT_DONE.items():
        assert test in tests, f"NOT_DONE names {test}, which the vendored suite does not have"
        assert phrase in column, f"README's Not done column does not mention {phrase!r} ({test})"


def test_vendored_suite_is_found_and_every_module_runs() -> None:
    """The static listing sees the suite upstream runs (so a bad path cannot pass vacuously),
    and every module of it is in one group."""
    tests = vendored_tests()
    assert len(tests) >= 40
    assert "test_client.TestClient.test_pod_apis" in tests
    grouped = [module for group in GROUPS for module in group]
    assert sorted(grouped) == sorted({test.split(".")[0] for test in tests})
