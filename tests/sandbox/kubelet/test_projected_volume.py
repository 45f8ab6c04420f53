"""The projected volume plugin: the kube-api-access volume every pod gets, and the other
sources a projected volume gathers."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from sandbox.kubelet.kubelet_sim import TEST_CA_PEM, Cluster

from kubelab.sandbox.api import kinds, serviceaccount_token
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.kubelet.volumes import MountError, container_files, volume_files

PODS = kinds.core("pods")
TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def _create(cluster: Cluster, namespace: str = "default", **spec: Any) -> dict[str, Any]:
    pod = {"metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}
    return dict(cluster.registry.create(PODS, pod, namespace=namespace))


def test_kube_api_access_files_are_token_ca_and_namespace() -> None:
    cluster = Cluster(ManualClock())
    cluster.ensure_namespace("team")
    pod = _create(cluster, "team")
    now = cluster.clock.now()
    files = container_files(volume_files(cluster.snapshot, pod, now=now),
                            pod["spec"]["containers"][0])
    assert sorted(files) == [f"{TOKEN_DIR}/ca.crt", f"{TOKEN_DIR}/namespace",
                             f"{TOKEN_DIR}/token"]
    assert files[f"{TOKEN_DIR}/ca.crt"] == TEST_CA_PEM
    assert files[f"{TOKEN_DIR}/namespace"] == "team"
    claims = serviceaccount_token.verify(files[f"{TOKEN_DIR}/token"], now)
    assert claims is not None
    assert claims["sub"] == "system:serviceaccount:team:default"
    assert claims["kubernetes.io"]["pod"] == {"name": "p", "uid": pod["metadata"]["uid"]}


def test_without_the_root_ca_configmap_the_mount_fails_as_the_kubelet_reports() -> None:
    cluster = Cluster(ManualClock())
    pod = _create(cluster)
    cluster.registry.delete(kinds.core("configmaps"), "default", "kube-root-ca.crt")
    name = pod["spec"]["volumes"][0]["name"]
    with pytest.raises(MountError) as err:
        volume_files(cluster.snapshot, pod)
    assert err.value.message == (f'MountVolume.SetUp failed for volume "{name}" : '
                                 'configmap "kube-root-ca.crt" not found')


def test_projected_secret_configmap_and_downward_items() -> None:
    cluster = Cluster(ManualClock())
    cluster.registry.create(kinds.core("secrets"), {
        "metadata": {"name": "creds"},
        "data": {"user": base64.b64encode(b"admin").decode(), "pass": "eA=="}},
        namespace="default")
    cluster.registry.create(kinds.core("configmaps"), {
        "metadata": {"name": "settings"}, "data": {"mode": "fast"}}, namespace="default")
    pod = _create(cluster, automountServiceAccountToken=False, volumes=[{
        "name": "all", "projected": {"sources": [
            {"secret": {"name": "creds", "items": [{"key": "user", "path": "u"}]}},
            {"configMap": {"name": "settings"}},
            {"configMap": {"name": "absent", "optional": True}},
            {"downwardAPI": {"items": [{"path": "name",
                                        "fieldRef": {"fieldPath": "metadata.name"}}]}},
            {"serviceAccountToken": {"path": "vault-token", "audience": "vault",
                                     "expirationSeconds": 600}}]}}])
    now = cluster.clock.now()
    files = volume_files(cluster.snapshot, pod, now=now)["all"]
    assert {k: v for k, v in files.items() if k != "vault-token"} == {
        "u": "admin", "mode": "fast", "name": "p"}
    token = files["vault-token"]
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["aud"] == ["vault"] and claims["exp"] - claims["iat"] == 600


def test_downward_api_files_of_the_labels_and_annotations_maps() -> None:
    # the "Expose Pod Information to Containers Through Files" task's volume: each map as
    # fieldpath.FormatMap writes it, key="value" lines sorted by key, no final newline
    cluster = Cluster(ManualClock())
    pod = dict(cluster.registry.create(PODS, {
        "metadata": {"name": "p", "labels": {"zone": "us-est-coast", "cluster": "test-cluster1",
                                             "rack": "rack-22"},
                     "annotations": {"builder": "john-doe", "build": 'two "quoted"'}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}],
                 "automountServiceAccountToken": False,
                 "volumes": [{"name": "podinfo", "downwardAPI": {"items": [
                     {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                     {"path": "annotations",
                      "fieldRef": {"fieldPath": "metadata.annotations"}}]}}]}},
        namespace="default"))
    files = volume_files(cluster.snapshot, pod)["podinfo"]
    assert files["labels"] == 'cluster="test-cluster1"\nrack="rack-22"\nzone="us-est-coast"'
    assert files["annotations"] == 'build="two \\"quoted\\""\nbuilder="john-doe"'
