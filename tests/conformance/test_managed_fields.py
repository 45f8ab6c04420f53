"""Field managers as a real cluster records them, read back with the real kubectl.

Expected entries follow kube-apiserver's field manager (``managerOrUserAgent`` in
``staging/src/k8s.io/apiserver/pkg/endpoints/handlers/create.go``, the status strategies'
reset fields, the ``ScaleHandler`` for ``/scale`` writes) and what ``kubectl get -o yaml
--show-managed-fields`` prints on a kind cluster after the same commands: kubectl's
``fieldManager`` parameter names the manager (``kubectl-create``,
``kubectl-client-side-apply``); a write without one is its User-Agent's product
(``kubectl scale`` is ``kubectl``); the controller manager, the kubelet and their status
writes (``subresource: status``) appear under their binaries' names.
"""

from __future__ import annotations

import json
from typing import Any

from conformance.support import manifest, wait_for
from sandbox_support import SandboxHandle


def managed(handle: SandboxHandle, *target: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(manager, subresource) -> entry, from ``--show-managed-fields``."""
    out = handle.kubectl("get", *target, "-o", "json", "--show-managed-fields").stdout
    entries = json.loads(out)["metadata"].get("managedFields") or []
    return {(e["manager"], e.get("subresource", "")): e for e in entries}


def test_create_then_controller_status_then_scale(cluster_sandbox: SandboxHandle) -> None:
    k = cluster_sandbox
    k.kubectl("create", "deployment", "mf-web", "--image=nginx:1.27")
    wait_for(lambda: ("kube-controller-manager", "status") in managed(k, "deploy", "mf-web"),
             what="the deployment controller's status write")
    entries = managed(k, "deploy", "mf-web")
    created = entries[("kubectl-create", "")]
    assert created["operation"] == "Update"
    assert created["apiVersion"] == "apps/v1" and created["fieldsType"] == "FieldsV1"
    spec = created["fieldsV1"]["f:spec"]
    assert "f:replicas" in spec and "f:template" in spec
    # Defaults applied while decoding the request belong to its writer.
    assert "f:progressDeadlineSeconds" in spec and "f:revisionHistoryLimit" in spec
    assert "f:status" not in created["fieldsV1"]
    status = entries[("kube-controller-manager", "status")]
    assert status["operation"] == "Update"
    assert "f:status" in status["fieldsV1"] and "f:spec" not in status["fieldsV1"]
    assert "f:deployment.kubernetes.io/revision" in \
        status["fieldsV1"]["f:metadata"]["f:annotations"]

    k.kubectl("scale", "deployment", "mf-web", "--replicas=2")
    entries = managed(k, "deploy", "mf-web")
    scaled = entries[("kubectl", "scale")]
    assert scaled["operation"] == "Update"
    assert scaled["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    # Ownership of spec.replicas moved to the scaler.
    assert "f:replicas" not in entries[("kubectl-create", "")]["fieldsV1"]["f:spec"]


def test_pods_are_written_by_the_controller_manager_and_the_kubelet(
        cluster_sandbox: SandboxHandle) -> None:
    k = cluster_sandbox
    k.kubectl("create", "deployment", "mf-pods", "--image=nginx:1.27")
    name = ""

    def running() -> bool:
        nonlocal name
        out = k.kubectl("get", "pods", "-l", "app=mf-pods", "-o",
                        "jsonpath={.items[?(@.status.phase==\"Running\")].metadata.name}").stdout
        name = out.split()[0] if out.split() else ""
        return bool(name)

    wait_for(running, timeout=60, what="a running pod")
    entries = managed(k, "pod", name)
    assert set(entries) == {("kube-controller-manager", ""), ("kubelet", "status")}
    created = entries[("kube-controller-manager", "")]["fieldsV1"]
    assert "f:ownerReferences" in created["f:metadata"] and "f:containers" in created["f:spec"]
    kubelet = entries[("kubelet", "status")]["fieldsV1"]["f:status"]
    assert {"f:phase", "f:podIP", "f:containerStatuses"} <= set(kubelet)


def test_client_side_apply_and_a_client_without_a_field_manager(
        cluster_sandbox: SandboxHandle) -> None:
    k = cluster_sandbox
    k.kubectl("apply", "-f", manifest("deploy.yaml"))
    entries = managed(k, "deploy", "web")
    applied = entries[("kubectl-client-side-apply", "")]
    assert applied["operation"] == "Update"
    assert "f:kubectl.kubernetes.io/last-applied-configuration" in \
        applied["fieldsV1"]["f:metadata"]["f:annotations"]

    # No fieldManager parameter: the User-Agent's product (urllib's here).
    status, _ = k.request("POST", "/api/v1/namespaces/default/configmaps",
                          {"metadata": {"name": "mf-cm"}, "data": {"a": "1"}})
    assert status == 201
    entries = managed(k, "configmap", "mf-cm")
    assert list(entries) == [("Python-urllib", "")]
    assert entries[("Python-urllib", "")]["fieldsV1"] == {"f:data": {".": {}, "f:a": {}}}


def test_a_write_that_changes_nothing_records_nothing(cluster_sandbox: SandboxHandle) -> None:
    k = cluster_sandbox
    k.kubectl("create", "configmap", "mf-same", "--from-literal=a=1")
    before = managed(k, "configmap", "mf-same")
    k.kubectl("label", "configmap", "mf-same", "tier=web")
    after = managed(k, "configmap", "mf-same")
    assert after[("kubectl-create", "")] == before[("kubectl-create", "")]
    assert after[("kubectl-label", "")]["fieldsV1"] == \
        {"f:metadata": {"f:labels": {".": {}, "f:tier": {}}}}
    k.kubectl("label", "configmap", "mf-same", "tier=web", "--overwrite")
    assert managed(k, "configmap", "mf-same") == after
