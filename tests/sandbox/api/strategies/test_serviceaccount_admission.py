"""The ServiceAccount admission plugin's token volume, rule by rule (``admission.go``)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from kubelab.sandbox.api.strategies import serviceaccount_admission as sa

MOUNT = {"name": "kube-api-access-b2c4d", "readOnly": True,
         "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}


def _suffixes() -> Any:
    counter = itertools.count()
    return lambda: ["b2c4d", "x7z9q"][next(counter)]


def _pod(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], **spec}}


def test_every_container_and_init_container_mounts_one_projected_volume() -> None:
    pod = _pod(initContainers=[{"name": "i"}], ephemeralContainers=[{"name": "e"}])
    sa.admit(pod, None, _suffixes())
    spec = pod["spec"]
    assert spec["volumes"] == [{"name": "kube-api-access-b2c4d", "projected": {
        "defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt",
                           "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}]
    for container in spec["initContainers"] + spec["containers"]:
        assert container["volumeMounts"] == [MOUNT]
    assert "volumeMounts" not in spec["ephemeralContainers"][0]


def test_the_volume_comes_after_the_pods_own() -> None:
    pod = _pod(volumes=[{"name": "data", "emptyDir": {}}])
    pod["spec"]["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    sa.admit(pod, None, _suffixes())
    assert [v["name"] for v in pod["spec"]["volumes"]] == ["data", "kube-api-access-b2c4d"]
    assert pod["spec"]["containers"][0]["volumeMounts"][-1] == MOUNT


@pytest.mark.parametrize(("pod_says", "account_says", "mounted"), [
    (None, None, True), (None, True, True), (None, False, False),
    (True, False, True), (False, True, False), (False, None, False),
])
def test_the_pods_preference_wins_over_the_service_accounts(
        pod_says: bool | None, account_says: bool | None, mounted: bool) -> None:
    pod = _pod(**({} if pod_says is None else {"automountServiceAccountToken": pod_says}))
    account = {"metadata": {"name": "default"},
               **({} if account_says is None else
                  {"automountServiceAccountToken": account_says})}
    sa.admit(pod, account, _suffixes())
    assert ("volumes" in pod["spec"]) is mounted
    assert ("volumeMounts" in pod["spec"]["containers"][1]) is mounted


def test_a_container_with_its_own_mount_at_the_path_keeps_it() -> None:
    own = {"name": "mine", "mountPath": sa.MOUNT_PATH}
    pod = _pod(volumes=[{"name": "mine", "secret": {"secretName": "s"}}])
    pod["spec"]["containers"][0]["volumeMounts"] = [dict(own)]
    sa.admit(pod, None, _suffixes())
    assert pod["spec"]["containers"][0]["volumeMounts"] == [own]
    assert pod["spec"]["containers"][1]["volumeMounts"] == [MOUNT]
    assert len(pod["spec"]["volumes"]) == 2


def test_no_volume_when_every_container_mounts_the_path_itself() -> None:
    pod = _pod()
    for container in pod["spec"]["containers"]:
        container["volumeMounts"] = [{"name": "x", "mountPath": sa.MOUNT_PATH}]
    sa.admit(pod, None, _suffixes())
    assert "volumes" not in pod["spec"]


def test_an_existing_kube_api_access_volume_is_reused() -> None:
    existing = {"name": "kube-api-access-abcde", "emptyDir": {}}
    pod = _pod(volumes=[dict(existing)])
    sa.admit(pod, None, _suffixes())
    assert pod["spec"]["volumes"] == [existing]
    assert pod["spec"]["containers"][0]["volumeMounts"][0]["name"] == "kube-api-access-abcde"


def test_a_mirror_pod_is_left_alone() -> None:
    pod = _pod()
    pod["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "abc"}
    sa.admit(pod, None, _suffixes())
    assert "volumes" not in pod["spec"]
    assert all("volumeMounts" not in c for c in pod["spec"]["containers"])
