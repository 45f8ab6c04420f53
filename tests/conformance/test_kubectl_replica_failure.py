"""A Deployment over its ResourceQuota, seen with the real kubectl: what a learner meets when
``kubectl create quota --hard=pods=2`` meets three replicas.

Upstream: the ReplicaSet controller's sync writes its status even when a create was refused
(``replica_set.go`` ``syncReplicaSet``; ``replica_set_utils.go`` ``calculateStatus``), so
``kubectl get rs`` shows CURRENT 2, and sets ``ReplicaFailure`` (reason ``FailedCreate``,
message the quota admission's error). The Deployment controller copies it into the
Deployment's conditions (``progress.go`` ``getReplicaFailures``); both go once the quota
allows the pod. The message is the ResourceQuota admission plugin's
(``plugin/pkg/admission/resourcequota/controller.go``): ``exceeded quota: <name>, requested:
…, used: …, limited: …`` after ``pods "<name>" is forbidden:``.
"""

from __future__ import annotations

import json
import re

import pytest
from conformance.support import wait_for
from sandbox_support import SandboxHandle

pytestmark = pytest.mark.slow

NS = "quota-rs"
FORBIDDEN = re.compile(r'pods "web-[a-z0-9]{8,10}-[a-z0-9]{5}" is forbidden: exceeded quota: q, '
                       r"requested: pods=1, used: pods=2, limited: pods=2")


def _conditions(sandbox: SandboxHandle, kind: str) -> dict[str, dict[str, str]]:
    out = sandbox.kubectl("get", kind, "-n", NS, "-o", "json").stdout
    items = json.loads(out)["items"]
    return {c["type"]: c for item in items for c in item.get("status", {}).get("conditions", [])}


def test_quota_refusal_shows_current_replicas_and_replica_failure(
        cluster_sandbox: SandboxHandle) -> None:
    sb = cluster_sandbox
    sb.kubectl("create", "namespace", NS)
    sb.kubectl("create", "quota", "q", "--hard=pods=2", "-n", NS)
    wait_for(lambda: "pods" in sb.kubectl("get", "quota", "q", "-n", NS, "-o",
                                          "jsonpath={.status.used}").stdout,
             what="the quota controller's first status")
    sb.kubectl("create", "deployment", "web", "--image=nginx", "--replicas=3", "-n", NS)

    wait_for(lambda: "ReplicaFailure" in _conditions(sb, "deployments"), timeout=60,
             what="the Deployment's ReplicaFailure condition")
    wait_for(lambda: sb.kubectl("get", "rs", "-n", NS, "--no-headers").stdout.split()[1:3]
             == ["3", "2"], timeout=60, what="the ReplicaSet's CURRENT 2")
    lines = sb.kubectl("get", "rs", "-n", NS).stdout.splitlines()
    assert lines[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert lines[1].split()[1:3] == ["3", "2"]

    rs_failure = _conditions(sb, "rs")["ReplicaFailure"]
    assert (rs_failure["status"], rs_failure["reason"]) == ("True", "FailedCreate")
    assert FORBIDDEN.fullmatch(rs_failure["message"]), rs_failure["message"]
    assert set(rs_failure) == {"type", "status", "lastTransitionTime", "reason", "message"}

    yaml = sb.kubectl("get", "deploy", "web", "-n", NS, "-o", "yaml").stdout
    assert "type: ReplicaFailure" in yaml
    failure = _conditions(sb, "deployments")["ReplicaFailure"]
    assert failure == {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                       "message": rs_failure["message"],
                       "lastUpdateTime": rs_failure["lastTransitionTime"],
                       "lastTransitionTime": rs_failure["lastTransitionTime"]}
    describe = sb.kubectl("describe", "rs", "-n", NS).stdout
    assert re.search(r"ReplicaFailure\s+True\s+FailedCreate", describe), describe
    assert "Error creating: " + rs_failure["message"] in describe

    sb.kubectl("patch", "quota", "q", "-n", NS, "-p", '{"spec":{"hard":{"pods":"3"}}}')
    wait_for(lambda: sb.kubectl("get", "rs", "-n", NS, "--no-headers").stdout.split()[1:3]
             == ["3", "3"], timeout=60, what="the third pod once the quota allows it")
    wait_for(lambda: "ReplicaFailure" not in _conditions(sb, "rs")
             and "ReplicaFailure" not in _conditions(sb, "deployments"), timeout=60,
             what="ReplicaFailure removed from the ReplicaSet and the Deployment")
