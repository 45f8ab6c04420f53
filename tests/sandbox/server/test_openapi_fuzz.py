"""schemathesis over every group-version's OpenAPI v3 document the sandbox serves: requests
generated from the schemas (valid and invalid bodies, path and query parameters) never get
an answer >= 500.

Bounded: one valid example of every operation, then invalid and more valid examples while a
per-group-version time budget lasts (about 70 s in all), derandomised so every run sends the
same requests.
Streams are kept short (``watch``/``follow`` requests get ``timeoutSeconds=1``) so an
endless stream is not mistaken for a hang.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from sandbox_support import SandboxHandle
from schemathesis import GenerationMode

from kubelab.sandbox import daemon

BUDGET_SECONDS = {"api/v1": 30.0}
DEFAULT_BUDGET = 10.0
#: (mode, examples per operation): the first pass covers every operation whatever the
#: budget; the next ones run while the budget lasts.
PASSES = ((GenerationMode.POSITIVE, 1), (GenerationMode.NEGATIVE, 1),
          (GenerationMode.NEGATIVE, 3), (GenerationMode.POSITIVE, 3))


def _group_versions(sandbox: SandboxHandle) -> list[str]:
    status, root = sandbox.request("GET", "/openapi/v3")
    assert status == 200
    return sorted(root["paths"])


def _calm(case: Any) -> None:
    """No endless streams: a watch or a followed log ends after a second."""
    query = case.query if isinstance(case.query, dict) else {}
    if any(str(query.get(k, "")).lower() not in ("", "0", "false") for k in ("watch", "follow")):
        query["timeoutSeconds"] = 1
        query["follow"] = "false"
        case.query = query


@pytest.mark.parametrize("group_version", ["api/v1", "apis/apps/v1",
                                           "apis/coordination.k8s.io/v1",
                                           "apis/discovery.k8s.io/v1",
                                           "apis/events.k8s.io/v1"])
def test_no_generated_request_gets_a_server_error(sandbox: SandboxHandle,
                                                  group_version: str) -> None:
    assert group_version in _group_versions(sandbox)  # every served document is covered
    status, doc = sandbox.request("GET", f"/openapi/v3/{group_version}")
    assert status == 200
    schema = schemathesis.openapi.from_dict(doc)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    base = sandbox.url
    headers = {"Authorization": f"Bearer {sandbox.info.token}"}
    ca = str(sandbox.state_dir / "pki" / "ca.crt")
    failures: list[str] = []
    sent = [0]
    deadline = time.monotonic() + BUDGET_SECONDS.get(group_version, DEFAULT_BUDGET)
    covered = 0
    for index, (mode, examples) in enumerate(PASSES):
        for operation in operations:
            if index > 0 and time.monotonic() > deadline:
                break
            covered += index == 0

            @settings(max_examples=examples, deadline=None, database=None,
                      derandomize=True, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                _calm(case)
                response = case.call(base_url=base, headers=headers, verify=ca, timeout=30)
                sent[0] += 1
                if response.status_code >= 500:
                    body = json.dumps(case.body, default=str)[:300]
                    failures.append(f"{response.status_code} {case.method} {case.formatted_path}"
                                    f" query={case.query} body={body}: {response.text[:300]}")

            run()
    print(f"{group_version}: {sent[0]} requests, {covered}/{len(operations)} operations")
    assert not failures, "\n".join(failures[:10])
    assert covered == len(operations)
    assert daemon.probe(sandbox.info)[0] == 200
