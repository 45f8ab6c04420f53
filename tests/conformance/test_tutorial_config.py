"""The ConfigMap and Secret tasks of kubernetes.io ("Configure a Pod to Use a ConfigMap",
"Distribute Credentials Securely Using Secrets") with their images
(``registry.k8s.io/busybox``, ``nginx``) and commands, against the sandbox and the real
kubectl. The manifests are our own copies of the tasks' examples.
"""

from __future__ import annotations

import pytest
from conformance.support import nodes_ready, wait_for
from sandbox_support import SandboxHandle

pytestmark = pytest.mark.slow

BUSYBOX = "registry.k8s.io/busybox:1.27.2"


@pytest.fixture(scope="module")
def k8s(cluster_sandbox: SandboxHandle) -> SandboxHandle:
    return nodes_ready(cluster_sandbox)


def run_pod(k8s: SandboxHandle, manifest: str, name: str) -> list[str]:
    """Apply a restartPolicy: Never pod, wait for it to finish, return its log lines."""
    assert k8s.kubectl("apply", "-f", "-", input=manifest).stdout == f"pod/{name} created\n"
    wait_for(lambda: k8s.kubectl("get", "pod", name, "-o", "jsonpath={.status.phase}").stdout
             in ("Succeeded", "Failed"), 60, f"{name} to finish")
    assert k8s.kubectl("get", "pod", name, "-o", "jsonpath={.status.phase}").stdout == "Succeeded"
    lines = k8s.kubectl("logs", name).stdout.splitlines()
    k8s.kubectl("delete", "pod", name)
    return lines


def pod(name: str, body: str) -> str:
    return (f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n"
            f"  containers:\n    - name: test-container\n      image: {BUSYBOX}\n{body}"
            "  restartPolicy: Never\n")


def test_configmap_as_environment_variables(k8s: SandboxHandle) -> None:
    assert k8s.kubectl("create", "configmap", "special-config",
                       "--from-literal=special.how=very").stdout == (
        "configmap/special-config created\n")
    k8s.kubectl("create", "configmap", "env-config", "--from-literal=log_level=INFO")
    env = run_pod(k8s, pod("dapi-test-pod", """\
      command: [ "/bin/sh", "-c", "env" ]
      env:
        - name: SPECIAL_LEVEL_KEY
          valueFrom:
            configMapKeyRef:
              name: special-config
              key: special.how
        - name: LOG_LEVEL
          valueFrom:
            configMapKeyRef:
              name: env-config
              key: log_level
"""), "dapi-test-pod")
    assert "SPECIAL_LEVEL_KEY=very" in env and "LOG_LEVEL=INFO" in env


def test_configmap_env_from_and_command_line_expansion(k8s: SandboxHandle) -> None:
    k8s.kubectl("delete", "configmap", "special-config")
    k8s.kubectl("apply", "-f", "-", input="""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: special-config
  namespace: default
data:
  SPECIAL_LEVEL: very
  SPECIAL_TYPE: charm
""")
    env = run_pod(k8s, pod("dapi-test-pod", """\
      command: [ "/bin/sh", "-c", "env" ]
      envFrom:
      - configMapRef:
          name: special-config
"""), "dapi-test-pod")
    assert "SPECIAL_LEVEL=very" in env and "SPECIAL_TYPE=charm" in env
    echoed = run_pod(k8s, pod("dapi-test-pod", """\
      command: [ "/bin/echo", "$(SPECIAL_LEVEL_KEY) $(SPECIAL_TYPE_KEY)" ]
      env:
        - name: SPECIAL_LEVEL_KEY
          valueFrom:
            configMapKeyRef:
              name: special-config
              key: SPECIAL_LEVEL
        - name: SPECIAL_TYPE_KEY
          valueFrom:
            configMapKeyRef:
              name: special-config
              key: SPECIAL_TYPE
"""), "dapi-test-pod")
    assert echoed == ["very charm"]


def test_configmap_as_a_volume(k8s: SandboxHandle) -> None:
    listing = run_pod(k8s, pod("dapi-test-pod", """\
      command: [ "/bin/sh", "-c", "ls /etc/config/" ]
      volumeMounts:
      - name: config-volume
        mountPath: /etc/config
  volumes:
    - name: config-volume
      configMap:
        name: special-config
"""), "dapi-test-pod")
    assert listing == ["SPECIAL_LEVEL", "SPECIAL_TYPE"]
    keyed = run_pod(k8s, pod("dapi-test-pod", """\
      command: [ "/bin/sh","-c","cat /etc/config/keys" ]
      volumeMounts:
      - name: config-volume
        mountPath: /etc/config
  volumes:
    - name: config-volume
      configMap:
        name: special-config
        items:
        - key: SPECIAL_LEVEL
          path: keys
"""), "dapi-test-pod")
    assert keyed == ["very"]
    k8s.kubectl("delete", "configmap", "special-config", "env-config")


def test_secret_volume_and_env(k8s: SandboxHandle) -> None:
    assert k8s.kubectl("create", "secret", "generic", "test-secret",
                       "--from-literal=username=my-app",
                       "--from-literal=password=39528$vdg7Jb").stdout == (
        "secret/test-secret created\n")
    k8s.kubectl("apply", "-f", "-", input="""\
apiVersion: v1
kind: Pod
metadata:
  name: secret-test-pod
spec:
  containers:
    - name: test-container
      image: nginx
      volumeMounts:
        - name: secret-volume
          mountPath: /etc/secret-volume
          readOnly: true
  volumes:
    - name: secret-volume
      secret:
        secretName: test-secret
""")
    k8s.kubectl("wait", "--for=condition=Ready", "pod/secret-test-pod", "--timeout=60s",
                timeout=90)
    assert k8s.kubectl("exec", "secret-test-pod", "--", "ls", "/etc/secret-volume").stdout == (
        "password\nusername\n")
    # The task runs these in an interactive shell; here the same lines go to `sh` on stdin.
    script = 'echo "$( cat /etc/secret-volume/username )"\necho "$( cat /etc/secret-volume/password )"\n'
    assert k8s.kubectl("exec", "-i", "secret-test-pod", "--", "/bin/bash",
                       input=script).stdout == "my-app\n39528$vdg7Jb\n"
    k8s.kubectl("create", "secret", "generic", "backend-user",
                "--from-literal=backend-username=backend-admin")
    k8s.kubectl("apply", "-f", "-", input="""\
apiVersion: v1
kind: Pod
metadata:
  name: env-single-secret
spec:
  containers:
  - name: envars-test-container
    image: nginx
    env:
    - name: SECRET_USERNAME
      valueFrom:
        secretKeyRef:
          name: backend-user
          key: backend-username
""")
    k8s.kubectl("wait", "--for=condition=Ready", "pod/env-single-secret", "--timeout=60s",
                timeout=90)
    assert k8s.kubectl("exec", "env-single-secret", "--", "/bin/sh", "-c",
                       "echo $SECRET_USERNAME").stdout == "backend-admin\n"
    k8s.kubectl("delete", "pod", "secret-test-pod", "env-single-secret", "--grace-period=0",
                "--force", check=False)
    k8s.kubectl("delete", "secret", "test-secret", "backend-user")


def test_nginx_serves_a_mounted_configmap_and_what_exec_writes(k8s: SandboxHandle) -> None:
    k8s.kubectl("create", "configmap", "site", "--from-literal=index.html=<h1>Hello from a ConfigMap</h1>")
    k8s.kubectl("apply", "-f", "-", input="""\
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
""")
    out = k8s.kubectl("run", "web-0", "--image=registry.k8s.io/nginx-slim:0.21").stdout
    assert out == "pod/web-0 created\n"
    k8s.kubectl("wait", "--for=condition=Ready", "pod/site", "pod/web-0", "--timeout=60s",
                timeout=90)
    assert k8s.kubectl("get", "--raw", "/api/v1/namespaces/default/pods/site/proxy/").stdout == (
        "<h1>Hello from a ConfigMap</h1>")
    # The StatefulSet tutorial's step: write the hostname into the document root, then GET it.
    k8s.kubectl("exec", "web-0", "--", "sh", "-c",
                'echo "$(hostname)" > /usr/share/nginx/html/index.html')
    assert k8s.kubectl("get", "--raw", "/api/v1/namespaces/default/pods/web-0/proxy/").stdout == (
        "web-0\n")
    k8s.kubectl("delete", "pod", "site", "web-0", "--grace-period=0", "--force", check=False)
    k8s.kubectl("delete", "configmap", "site")
