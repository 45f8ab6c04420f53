"""Lesson 06 — secrets: credentials stored once, mounted into a pod as files."""

from __future__ import annotations

import base64
from typing import Any

from autograders import checks as k
from autograders.engine import Check, Context, ladder
from autograders.kube import dig
from autograders.lessons import exercise


def stored_password(ctx: Context) -> Any:
    """The Secret's password, decoded (``None`` while there is none)."""
    raw = dig(ctx.snapshot.get("secret", "app-secret"), "data.password")
    try:
        return base64.b64decode(raw).decode() if raw else None
    except ValueError:
        return None


@exercise("06.secret", "Exercise 1: store the credentials in a Secret")
def secret() -> list[Check]:
    return [
        k.exists("secret", "app-secret",
                 hint=ladder("kubectl get secrets: is app-secret there?",
                             "A generic Secret holds key/value pairs.",
                             "kubectl create secret generic <name> --from-literal=<key>=<value>"
                             " …")),
        k.secret_value("app-secret", "user", "steven",
                       hint=ladder("kubectl get secret app-secret -o yaml: which keys?",
                                   "Each --from-literal=<key>=<value> becomes one key.",
                                   "--from-literal=<key>=<value>")),
        k.secret_value("app-secret", "password", "randompassword",
                       hint=ladder("kubectl get secret app-secret -o yaml: which keys?",
                                   "Each --from-literal=<key>=<value> becomes one key.",
                                   "--from-literal=<key>=<value>")),
        k.field("secret", "app-secret", "type", "Opaque",
                description="it is a generic (Opaque) Secret",
                hint=ladder("kubectl get secret app-secret: the TYPE column.",
                            "kubectl create secret generic makes an Opaque Secret.",
                            "kubectl create secret generic <name> …")),
    ]


@exercise("06.pod", "Exercise 2: mount the Secret into a pod")
def pod() -> list[Check]:
    # Re-applying a changed pod fails with 422 "Forbidden: pod updates may not change fields
    # other than …": only the image and a few fields are mutable, so each hint on the pod's
    # spec ends with the fix that works, delete and re-create.
    return [
        k.exists("pod", "secret-test-pod",
                 hint=ladder("kubectl get pods: is secret-test-pod there?",
                             "The lesson describes the Pod; write it as a manifest.",
                             "%%kubectl apply -f - with kind: Pod, metadata.name")),
        k.field("pod", "secret-test-pod", "spec.volumes[0].secret.secretName", "app-secret",
                hint=ladder("Look at the pod's volumes.",
                            "A secret volume shows each key of a Secret as a file.",
                            "volumes: - name: <v>, secret: {secretName: <secret>}; a pod's "
                            "volumes cannot change, so kubectl delete pod <name> and apply "
                            "again")),
        k.field("pod", "secret-test-pod",
                "spec.containers[0].volumeMounts[0].mountPath", "/etc/secret-volume",
                hint=ladder("Where does the container mount the volume?",
                            "volumeMounts put a volume at a path inside the container.",
                            "volumeMounts: - name: <v>, mountPath: <path>; a pod's mounts "
                            "cannot change, so kubectl delete pod <name> and apply again")),
        k.log_contains("secret-test-pod", "hello steven your password is randompassword",
                       hint=ladder("kubectl logs secret-test-pod",
                                   "The program reads the Secret's files from the mount path.",
                                   "cat <mountPath>/<key> in the container's command (a "
                                   "pod's command cannot change: kubectl delete pod <name>, "
                                   "then apply again)")),
        k.field("pod", "secret-test-pod", "spec.restartPolicy", "Never",
                description="the pod never restarts",
                hint=ladder("Look at the pod's restartPolicy.",
                            "A pod's restartPolicy is Always unless you say otherwise.",
                            "spec: restartPolicy: <policy>; it cannot change on a pod that "
                            "exists: kubectl delete pod <name>, then apply again")),
    ]


@exercise("06.decode", "Exercise 3: read the password back with the Python client")
def decode() -> list[Check]:
    return [
        k.variable("password", test=lambda v: isinstance(v, str) and bool(v),
                   description="password is a (decoded) string",
                   hint=ladder("password must be a non-empty str.",
                               "bytes.decode() turns bytes into a str.",
                               "base64.b64decode(<value>).decode()")),
        k.variable("password", compute=stored_password,
                   description="password is the Secret's decoded password",
                   hint=ladder("Does your value look like base64 (ends with =)?",
                               "A Secret's data values are base64-encoded.",
                               "base64.b64decode(read_namespaced_secret(<name>, <namespace>)"
                               ".data[<key>]).decode()")),
    ]
