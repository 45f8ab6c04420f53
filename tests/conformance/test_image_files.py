"""An image's files as the container's own program and its web server see them, with the real
kubectl: the program reads the image's ``/etc/os-release`` without anyone exec'ing first, and a
ConfigMap mounted on nginx's document root hides the image's pages (the "nginx with a
ConfigMap" pattern of the kubernetes.io ConfigMap task). Manifests are our own.
"""

from __future__ import annotations

import pytest
from conformance.support import nodes_ready, wait_for
from sandbox_support import SandboxHandle

pytestmark = pytest.mark.slow

OS_RELEASE = """\
apiVersion: v1
kind: Pod
metadata:
  name: os
spec:
  containers:
  - name: os
    image: alpine:3.22
    command: ["sh", "-c", "cat /etc/os-release; sleep 3600"]
"""

SITE = """\
apiVersion: v1
kind: Pod
metadata:
  name: site
spec:
  containers:
  - name: nginx
    image: nginx:1.27
    volumeMounts:
    - name: html
      mountPath: /usr/share/nginx/html
  volumes:
  - name: html
    configMap:
      name: site
"""


@pytest.fixture(scope="module")
def k8s(cluster_sandbox: SandboxHandle) -> SandboxHandle:
    return nodes_ready(cluster_sandbox)


def test_a_containers_own_program_reads_the_images_files(k8s: SandboxHandle) -> None:
    k8s.kubectl("apply", "-f", "-", input=OS_RELEASE)
    k8s.kubectl("wait", "--for=condition=Ready", "pod/os", "--timeout=60s", timeout=90)
    wait_for(lambda: bool(k8s.kubectl("logs", "os").stdout), 30, "the os-release in the logs")
    lines = k8s.kubectl("logs", "os").stdout.splitlines()
    assert lines[:2] == ['NAME="Alpine Linux"', "ID=alpine"]
    assert lines[3].startswith('PRETTY_NAME="Alpine Linux v3.')
    k8s.kubectl("delete", "pod", "os", "--grace-period=0", "--force", check=False)


def test_a_configmap_on_the_document_root_hides_the_images_pages(k8s: SandboxHandle) -> None:
    k8s.kubectl("create", "configmap", "site", "--from-literal=index.html=<h1>Hi</h1>")
    k8s.kubectl("apply", "-f", "-", input=SITE)
    k8s.kubectl("run", "plain", "--image=nginx:1.27")
    k8s.kubectl("wait", "--for=condition=Ready", "pod/site", "pod/plain", "--timeout=60s",
                timeout=90)
    proxy = "/api/v1/namespaces/default/pods/{}/proxy/{}"
    assert k8s.kubectl("get", "--raw", proxy.format("site", "")).stdout == "<h1>Hi</h1>"
    # the image's 50x.html is beneath the mount: nginx answers 404, as on a node
    missing = k8s.kubectl("get", "--raw", proxy.format("site", "50x.html"), check=False)
    assert missing.returncode == 1 and "NotFound" in missing.stderr
    assert k8s.kubectl("exec", "site", "--", "ls", "/usr/share/nginx/html").stdout == (
        "index.html\n")
    # without the mount the image's own pages are there
    assert k8s.kubectl("exec", "plain", "--", "ls", "/usr/share/nginx/html").stdout == (
        "50x.html\nindex.html\n")
    assert "<h1>An error occurred.</h1>" in k8s.kubectl(
        "get", "--raw", proxy.format("plain", "50x.html")).stdout
    k8s.kubectl("delete", "pod", "site", "plain", "--grace-period=0", "--force", check=False)
    k8s.kubectl("delete", "configmap", "site")
