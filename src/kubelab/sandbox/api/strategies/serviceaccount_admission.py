"""The ServiceAccount admission plugin's API-access volume: ``kube-api-access-xxxxx``.

Mirrors kube-apiserver's ``plugin/pkg/admission/serviceaccount`` (``admission.go``:
``shouldAutomount``, ``mountServiceAccountToken``, ``TokenVolumeSource``). On every pod
*create* (never on an update, and never for a mirror pod of a static pod) the plugin gives the
pod what a process needs to call the API server from inside it:

* a projected volume named ``kube-api-access-`` plus five random characters (apiserver's
  ``SimpleNameGenerator``), ``defaultMode: 420``, with three sources: a bound
  ``serviceAccountToken`` (``expirationSeconds: 3607``, path ``token``), the
  ``kube-root-ca.crt`` ConfigMap's ``ca.crt`` and the pod's namespace through the downward
  API (``metadata.namespace`` → ``namespace``);
* a read-only mount of it at ``/var/run/secrets/kubernetes.io/serviceaccount`` in every init
  container and every container (not in ephemeral containers: upstream leaves them alone)
  that has no mount at that path yet.

Nothing is added when ``automountServiceAccountToken`` is false on the pod, or, when the pod
does not say, on its ServiceAccount (the pod's preference wins); nor when every container
already mounts something at the token path. A volume already named ``kube-api-access-…`` is
reused instead of adding a second one.

Simulation note: upstream refuses a pod whose ServiceAccount does not exist (403
``error looking up service account``); this sandbox has no ServiceAccount controller creating
``default`` in new namespaces yet, so a missing ServiceAccount counts as one with no
preference and the pod is admitted.

This is pure: the pod storage looks the ServiceAccount up and supplies the name generator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubelab.apimachinery.types import Obj, ObjView

#: ``DefaultAPITokenMountPath``.
MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
#: ``ServiceAccountVolumeName`` (the generated name is this plus ``-`` and a suffix).
VOLUME_PREFIX = "kube-api-access-"
#: ``serviceaccount.WarnOnlyBoundTokenExpirationSeconds``: one hour and seven seconds, so
#: the API server can tell an admission-made token from one a user asked for.
TOKEN_EXPIRATION_SECONDS = 3607
#: The ConfigMap ``root-ca-cert-publisher`` keeps in every namespace.
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
#: ``kubetypes.ConfigMirrorAnnotationKey``: the kubelet's mirror of a static pod.
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


def should_automount(pod: ObjView, service_account: ObjView | None) -> bool:
    """``shouldAutomount``: the pod's ``automountServiceAccountToken``, else the
    ServiceAccount's, else true."""
    own = (pod.get("spec") or {}).get("automountServiceAccountToken")
    if own is not None:
        return bool(own)
    if service_account is not None and \
            service_account.get("automountServiceAccountToken") is not None:
        return bool(service_account["automountServiceAccountToken"])
    return True


def token_volume_source() -> Obj:
    """``TokenVolumeSource``: the projected source of the API-access volume."""
    return {
        "defaultMode": 420,
        "sources": [
            {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION_SECONDS,
                                     "path": "token"}},
            {"configMap": {"name": ROOT_CA_CONFIGMAP,
                           "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{
                "path": "namespace",
                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ],
    }


def mount_service_account_token(spec: Obj, suffix: Callable[[], str]) -> None:
    """``mountServiceAccountToken``: the volume (once) and a mount in each container."""
    volumes: list[Any] = spec.get("volumes") or []
    existing = next((v.get("name") for v in volumes if isinstance(v, dict)
                     and str(v.get("name", "")).startswith(VOLUME_PREFIX)), None)
    name = existing or VOLUME_PREFIX + suffix()
    mounted = False
    for group in ("initContainers", "containers"):
        for container in spec.get(group) or []:
            if not isinstance(container, dict):
                continue
            mounts = container.get("volumeMounts") or []
            if any(isinstance(m, dict) and m.get("mountPath") == MOUNT_PATH for m in mounts):
                continue
            mounts.append({"name": name, "readOnly": True, "mountPath": MOUNT_PATH})
            container["volumeMounts"] = mounts
            mounted = True
    if mounted and existing is None:
        volumes.append({"name": name, "projected": token_volume_source()})
        spec["volumes"] = volumes


def admit(pod: Obj, service_account: ObjView | None, suffix: Callable[[], str]) -> None:
    """The plugin's ``Admit`` on a pod create, as far as the token volume goes
    (``serviceAccountName`` is defaulted with the other admission defaults in
    :func:`kubelab.sandbox.api.strategies.pod.admit_pod`)."""
    meta = pod.get("metadata") or {}
    if MIRROR_ANNOTATION in (meta.get("annotations") or {}):
        return
    spec = pod.get("spec")
    if isinstance(spec, dict) and should_automount(pod, service_account):
        mount_service_account_token(spec, suffix)
