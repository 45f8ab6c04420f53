"""The real kubectl against a fresh sandbox serving the API alone (no controllers yet).

Every command the course uses whose output does not depend on controllers, the scheduler or
kubelets: discovery, get in its output forms, apply (create, configure, unchanged,
server-side), create (from files and the protobuf-bodied generators), delete, scale,
expose, run, label, annotate, set image, explain, diff, describe service and a bounded watch.
Each transcript is compared with ``golden/<name>.txt`` after normalisation.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from conformance.support import Golden, manifest, wait_for
from sandbox_support import SandboxHandle

from kubelab.connect import kubectl_binary


def test_version(api_sandbox: SandboxHandle, golden: Golden) -> None:
    golden.kubectl(api_sandbox, "version", "version")


def test_cluster_info(api_sandbox: SandboxHandle, golden: Golden) -> None:
    golden.kubectl(api_sandbox, "cluster-info", "cluster-info")


def test_api_resources(api_sandbox: SandboxHandle, golden: Golden) -> None:
    golden.kubectl(api_sandbox, "api-resources", "api-resources")


def test_get_namespaces_with_labels(api_sandbox: SandboxHandle, golden: Golden) -> None:
    golden.kubectl(api_sandbox, "get-ns-show-labels", "get", "ns", "--show-labels")


def test_get_services_all_namespaces_wide(api_sandbox: SandboxHandle, golden: Golden) -> None:
    golden.kubectl(api_sandbox, "get-svc-all-namespaces-wide", "get", "svc", "-A", "-o", "wide")


def test_apply_create_then_configure_then_unchanged(api_sandbox: SandboxHandle,
                                                    golden: Golden) -> None:
    golden.kubectl(api_sandbox, "apply-create", "apply", "-f", manifest("settings.yaml"))
    golden.kubectl(api_sandbox, "apply-configure", "apply", "-f", manifest("settings2.yaml"))
    golden.kubectl(api_sandbox, "apply-unchanged", "apply", "-f", manifest("settings2.yaml"))
    data = api_sandbox.kubectl("get", "cm", "settings", "-o", "jsonpath={.data.colour}").stdout
    assert data == "green"


def test_get_yaml_and_jsonpath(api_sandbox: SandboxHandle, golden: Golden) -> None:
    api_sandbox.kubectl("apply", "-f", manifest("settings.yaml"))
    golden.kubectl(api_sandbox, "get-cm-yaml", "get", "cm", "settings", "-o", "yaml")
    golden.kubectl(api_sandbox, "get-cm-jsonpath", "get", "cm", "settings", "-o",
                   "jsonpath={.metadata.name}{' '}{.data.greeting}{'\\n'}")


def test_get_with_selector_and_labels(api_sandbox: SandboxHandle, golden: Golden) -> None:
    api_sandbox.kubectl("apply", "-f", manifest("settings.yaml"))
    api_sandbox.kubectl("create", "configmap", "other", "--from-literal=k=v")
    golden.kubectl(api_sandbox, "get-cm-selector-show-labels", "get", "cm", "-l", "app=demo",
                   "--show-labels")
    golden.kubectl(api_sandbox, "get-cm-selector-no-match", "get", "cm", "-l", "app=absent")


def test_diff_shows_the_server_side_dry_run(api_sandbox: SandboxHandle, golden: Golden) -> None:
    api_sandbox.kubectl("apply", "-f", manifest("settings.yaml"))
    proc = golden.kubectl(api_sandbox, "diff-configmap", "diff", "-f", manifest("settings2.yaml"))
    assert proc.returncode == 1
    # The dry run changed nothing.
    assert api_sandbox.kubectl("get", "cm", "settings", "-o",
                               "jsonpath={.data.colour}").stdout == "blue"
    same = api_sandbox.kubectl("diff", "-f", manifest("settings.yaml"), check=False)
    assert (same.returncode, same.stdout) == (0, "")


def test_apply_server_side(api_sandbox: SandboxHandle, golden: Golden) -> None:
    golden.kubectl(api_sandbox, "apply-server-side", "apply", "--server-side", "-f",
                   manifest("deploy.yaml"))
    managers = api_sandbox.kubectl("get", "deploy", "web", "--show-managed-fields", "-o",
                                   "jsonpath={.metadata.managedFields[*].manager}").stdout
    assert "kubectl" in managers.split()


def test_create_and_delete_from_file(api_sandbox: SandboxHandle, golden: Golden) -> None:
    golden.kubectl(api_sandbox, "create-from-file", "create", "-f", manifest("bundle.yaml"))
    golden.kubectl(api_sandbox, "create-from-file-again", "create", "-f", manifest("bundle.yaml"))
    golden.kubectl(api_sandbox, "get-secret-yaml", "get", "secret", "bundle-secret", "-o", "yaml")
    golden.kubectl(api_sandbox, "delete-from-file", "delete", "-f", manifest("bundle.yaml"))
    gone = api_sandbox.kubectl("get", "cm", "bundle-config", check=False)
    assert gone.returncode == 1


def test_create_generators_send_protobuf(api_sandbox: SandboxHandle, golden: Golden) -> None:
    golden.kubectl(api_sandbox, "create-generators", "create", "namespace", "team")
    for name, args in [
        ("create-deployment", ("create", "deployment", "hello", "--image=nginx", "-n", "team")),
        ("create-secret-generic", ("create", "secret", "generic", "creds",
                                   "--from-literal=user=admin", "--from-literal=pass=s3cret",
                                   "-n", "team")),
        ("create-configmap", ("create", "configmap", "colours", "--from-literal=bg=blue",
                              "-n", "team")),
        ("create-service", ("create", "service", "clusterip", "hello", "--tcp=80:8080",
                            "-n", "team")),
    ]:
        golden.kubectl(api_sandbox, name, *args)
    golden.kubectl(api_sandbox, "get-created-objects", "get", "deploy,svc,cm,secret", "-n",
                   "team")
    secret = api_sandbox.kubectl("get", "secret", "creds", "-n", "team", "-o",
                                 "jsonpath={.data.user}").stdout
    assert secret == "YWRtaW4="


def test_scale_label_annotate_set_image(api_sandbox: SandboxHandle, golden: Golden) -> None:
    api_sandbox.kubectl("apply", "-f", manifest("deploy.yaml"))
    golden.kubectl(api_sandbox, "scale", "scale", "deployment", "web", "--replicas=5")
    golden.kubectl(api_sandbox, "label", "label", "deployment", "web", "tier=frontend")
    golden.kubectl(api_sandbox, "label-exists", "label", "deployment", "web", "tier=backend")
    golden.kubectl(api_sandbox, "annotate", "annotate", "deployment", "web",
                   "kubernetes.io/change-cause=nginx 1.27")
    golden.kubectl(api_sandbox, "set-image", "set", "image", "deployment/web",
                   "nginx=nginx:1.27")
    golden.kubectl(api_sandbox, "get-deploy-custom-columns", "get", "deploy", "web", "-o",
                   "custom-columns=NAME:.metadata.name,REPLICAS:.spec.replicas,"
                   "IMAGE:.spec.template.spec.containers[0].image,TIER:.metadata.labels.tier")


def test_expose_and_describe_service(api_sandbox: SandboxHandle, golden: Golden) -> None:
    api_sandbox.kubectl("apply", "-f", manifest("deploy.yaml"))
    golden.kubectl(api_sandbox, "expose", "expose", "deployment", "web", "--port=80",
                   "--target-port=8080")
    golden.kubectl(api_sandbox, "get-svc-wide", "get", "svc", "web", "-o", "wide")
    golden.kubectl(api_sandbox, "create-from-file-service", "create", "-f",
                   manifest("service.yaml"))
    golden.kubectl(api_sandbox, "describe-service", "describe", "service", "demo")
    golden.kubectl(api_sandbox, "expose-nodeport", "expose", "deployment", "web",
                   "--name=web-np", "--type=NodePort", "--port=80")
    golden.kubectl(api_sandbox, "get-svc-nodeport", "get", "svc", "web-np")


def test_run_creates_a_pod(api_sandbox: SandboxHandle, golden: Golden) -> None:
    golden.kubectl(api_sandbox, "run", "run", "nginx", "--image=nginx")
    golden.kubectl(api_sandbox, "run-again", "run", "nginx", "--image=nginx")
    labels = api_sandbox.kubectl("get", "pod", "nginx", "-o",
                                 "jsonpath={.metadata.labels.run}").stdout
    assert labels == "nginx"


@pytest.mark.parametrize("field", ["pods", "deployment.spec.replicas",
                                   "pod.spec.containers.image"])
def test_explain(api_sandbox: SandboxHandle, golden: Golden, field: str) -> None:
    golden.kubectl(api_sandbox, f"explain-{field.replace('.', '-')}", "explain", field)


def test_unknown_resource_and_missing_object(api_sandbox: SandboxHandle, golden: Golden) -> None:
    golden.kubectl(api_sandbox, "get-unknown-resource", "get", "widgets")
    golden.kubectl(api_sandbox, "get-missing-pod", "get", "pod", "no-such-pod")
    golden.kubectl(api_sandbox, "get-missing-namespace", "get", "pods", "-n", "no-such-ns")


def test_get_watch_is_bounded_and_streams_changes(api_sandbox: SandboxHandle,
                                                  golden: Golden) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBECTL_")}
    env["KUBECONFIG"] = str(api_sandbox.kubeconfig)
    args = ("get", "cm", "-l", "watch=demo", "-w", "--request-timeout=4s")
    cache = str(api_sandbox.state_dir / "kubectl-cache")
    api_sandbox.kubectl("create", "configmap", "w0", "--from-literal=a=1")
    api_sandbox.kubectl("label", "cm", "w0", "watch=demo")
    watcher = subprocess.Popen([kubectl_binary(), "--cache-dir", cache, *args], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)  # let the watch start before the changes it must show
        api_sandbox.kubectl("create", "configmap", "w1", "--from-literal=a=1")
        api_sandbox.kubectl("label", "cm", "w1", "watch=demo")
        api_sandbox.kubectl("annotate", "cm", "w1", "note=seen")
        api_sandbox.kubectl("delete", "cm", "w1")
        stdout, stderr = watcher.communicate(timeout=30)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    golden.check("get-watch", "$ kubectl " + " ".join(args) + "\n" + stdout + stderr)
    lines = stdout.strip().splitlines()
    # The listed object, then the labelled, annotated and deleted w1: three events.
    assert [line.split()[0] for line in lines] == ["NAME", "w0", "w1", "w1", "w1"]


def test_server_keeps_serving_after_the_suite(api_sandbox: SandboxHandle) -> None:
    wait_for(lambda: api_sandbox.request("GET", "/readyz")[0] == 200, 5, "readyz")
