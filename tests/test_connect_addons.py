"""``Cluster.enable_addon``: a notebook switches on the sandbox's ingress add-on through its
own connection (a grader's sandbox is reached only by its kubeconfig), as
``kubelab sandbox addons enable ingress`` does from a terminal; a real cluster is told how
to install its controller instead."""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox_support import start_sandbox

from kubelab.connect import Cluster

REAL_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: kind-kubelab
  cluster: {server: "https://127.0.0.1:1"}
contexts:
- name: kind-kubelab
  context: {cluster: kind-kubelab, user: kind-kubelab}
current-context: kind-kubelab
users:
- name: kind-kubelab
  user: {token: not-a-sandbox}
"""


def test_a_real_cluster_is_told_to_install_the_controller(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(REAL_KUBECONFIG)
    cluster = Cluster(path)
    assert not cluster.is_sandbox
    with pytest.raises(RuntimeError, match="minikube addons enable ingress") as err:
        cluster.enable_addon("ingress")
    assert "ingress-nginx" in str(err.value)


@pytest.mark.slow
def test_the_sandbox_gets_the_controller_once_through_the_kubeconfig(tmp_path: Path) -> None:
    sb = start_sandbox(tmp_path / "sandbox")
    try:
        cluster = Cluster(sb.kubeconfig)  # no sandbox_dir: only the kubeconfig, as a grader has
        assert cluster.is_sandbox
        first = cluster.enable_addon("ingress")
        assert "service/ingress-nginx-controller created" in first
        assert "ingressclass.networking.k8s.io/nginx created" in first
        again = cluster.enable_addon("ingress")
        assert again == [line.replace(" created", " unchanged") for line in first]
        classes = sb.kubectl("get", "ingressclass").stdout.splitlines()
        assert classes[1].split()[:3] == ["nginx", "(default)", "k8s.io/ingress-nginx"]
        cluster.close()
    finally:
        sb.stop()
