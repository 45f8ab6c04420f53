"""Fixtures for the kubectl conformance suite: sandboxes, golden files, ``--update-golden``.

Run ``pytest tests/conformance --update-golden`` to rewrite the golden files from the current
output (then review every change against upstream behaviour before keeping it).
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from conformance.support import Golden, sandbox_with_components, sandbox_without_components
from sandbox_support import SandboxHandle

GOLDEN_DIR = Path(__file__).parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/conformance/golden/*.txt from the current output")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """A passing test whose only mismatches are KNOWN_DEVIATIONS is an expected failure;
    a known deviation that now matches fails the test, so its entry gets removed."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    golden_fixture = getattr(item, "funcargs", {}).get("golden")
    if call.when != "call" or not isinstance(golden_fixture, Golden) or report.failed:
        return
    if golden_fixture.fixed:
        report.outcome = "failed"
        report.longrepr = (f"known deviations now match upstream: {golden_fixture.fixed}; "
                           "remove them from KNOWN_DEVIATIONS")
    elif golden_fixture.deviations:
        report.outcome = "skipped"
        report.wasxfail = "; ".join(golden_fixture.deviations)


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Golden:
    update = bool(request.config.getoption("--update-golden", default=False)) or \
        os.environ.get("KUBELAB_UPDATE_GOLDEN") == "1"
    return Golden(GOLDEN_DIR, update=update)


@pytest.fixture(scope="module")
def api_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """A fresh sandbox serving the API only: no controllers, scheduler or kubelets."""
    handle = sandbox_without_components(tmp_path_factory.mktemp("api-sandbox"))
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def cluster_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """A fresh sandbox with every component running (skips while components are missing)."""
    handle = sandbox_with_components(tmp_path_factory.mktemp("cluster-sandbox"))
    yield handle
    handle.stop()
