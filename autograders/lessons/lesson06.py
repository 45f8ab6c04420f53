"""Lesson 06 — secrets: credentials stored once, mounted into a pod as files."""

from __future__ import annotations

from autograders import checks as k
from autograders.engine import Check
from autograders.lessons import exercise


@exercise("06.secret", "Exercise 1: store the credentials in a Secret")
def secret() -> list[Check]:
    return [
        k.exists("secret", "app-secret",
                 hint="kubectl create secret generic app-secret --from-literal=..."),
        k.secret_value("app-secret", "user", "steven", hint="Key user, value steven."),
        k.secret_value("app-secret", "password", "randompassword",
                       hint="Key password, value randompassword."),
    ]


@exercise("06.pod", "Exercise 2: mount the Secret into a pod")
def pod() -> list[Check]:
    return [
        k.exists("pod", "secret-test-pod", hint="Apply the secret-test-pod manifest."),
        k.field("pod", "secret-test-pod", "spec.volumes[0].secret.secretName", "app-secret",
                hint="A volume whose secret.secretName is app-secret."),
        k.field("pod", "secret-test-pod",
                "spec.containers[0].volumeMounts[0].mountPath", "/etc/secret-volume",
                hint="Mount the volume at /etc/secret-volume."),
    ]


@exercise("06.decode", "Exercise 3: read the password back with the Python client")
def decode() -> list[Check]:
    return [k.variable("password", test=lambda v: isinstance(v, str) and bool(v),
                       description="password is a (decoded) string",
                       hint="read_namespaced_secret(...).data['password'] is base64: decode it.")]
