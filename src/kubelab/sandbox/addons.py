"""Cluster add-ons a learner switches on, as ``minikube addons enable <name>`` does.

A fresh cluster has no ingress controller: kubeadm installs none, and the kubernetes.io
tutorial "Set up Ingress on Minikube with the NGINX Ingress Controller" starts with
``minikube addons enable ingress``. The sandbox does the same on request,
``kubelab sandbox addons enable ingress``, rather than at bootstrap, so the lessons' clusters
(``kubectl get pods -A``, ``get ns``, the diagram) stay what kubeadm leaves.

The ``ingress`` add-on creates what minikube's ``ingress-deploy.yaml`` creates for the
controller, through the API like ``kubectl apply`` would: the ``ingress-nginx`` namespace, its
ServiceAccount and ConfigMap, the ``ingress-nginx-controller`` Deployment
(``registry.k8s.io/ingress-nginx/controller`` with minikube's flags: ``--controller-class=
k8s.io/ingress-nginx``, ``--watch-ingress-without-class=true``), its ``NodePort`` Service
(the sandbox serves each nodePort on ``127.0.0.1``) and the ``nginx`` IngressClass marked as
the cluster's default. Left out: the admission webhook and its certificate Jobs, the RBAC
objects, and the probes on port 10254 (the simulated controller serves only port 80).
Creating is idempotent: objects that exist are left as they are.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

from kubelab.sandbox.api import kinds

NAMESPACE = "ingress-nginx"
CONTROLLER = "ingress-nginx-controller"
CONTROLLER_IMAGE = "registry.k8s.io/ingress-nginx/controller:v1.13.3"
_LABELS = {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/instance":
           "ingress-nginx"}
_CONTROLLER_LABELS = {**_LABELS, "app.kubernetes.io/component": "controller"}


def ingress_manifests() -> list[dict[str, Any]]:
    """The objects of the ``ingress`` add-on, in creation order."""
    meta = {"namespace": NAMESPACE, "labels": _CONTROLLER_LABELS}
    return [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": NAMESPACE, "labels": _LABELS}},
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": "ingress-nginx", **meta}, "automountServiceAccountToken": True},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": CONTROLLER, **meta},
         "data": {"allow-snippet-annotations": "false", "hsts": "false"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": CONTROLLER, **meta},
         "spec": {"type": "NodePort", "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"],
                  "selector": _CONTROLLER_LABELS,
                  "ports": [{"name": "http", "port": 80, "protocol": "TCP",
                             "targetPort": "http", "appProtocol": "http"},
                            {"name": "https", "port": 443, "protocol": "TCP",
                             "targetPort": "https", "appProtocol": "https"}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": CONTROLLER, **meta},
         "spec": {
             "replicas": 1, "revisionHistoryLimit": 10, "minReadySeconds": 0,
             "selector": {"matchLabels": _CONTROLLER_LABELS},
             "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
             "template": {
                 "metadata": {"labels": {**_CONTROLLER_LABELS,
                                         "gcp-auth-skip-secret": "true"}},
                 "spec": {
                     "serviceAccountName": "ingress-nginx",
                     "terminationGracePeriodSeconds": 0,
                     "dnsPolicy": "ClusterFirst",
                     "nodeSelector": {"kubernetes.io/os": "linux"},
                     "containers": [{
                         "name": "controller", "image": CONTROLLER_IMAGE,
                         "imagePullPolicy": "IfNotPresent",
                         "args": ["/nginx-ingress-controller",
                                  "--election-id=ingress-nginx-leader",
                                  "--controller-class=k8s.io/ingress-nginx",
                                  "--watch-ingress-without-class=true",
                                  "--configmap=$(POD_NAMESPACE)/ingress-nginx-controller",
                                  "--tcp-services-configmap=$(POD_NAMESPACE)/tcp-services",
                                  "--udp-services-configmap=$(POD_NAMESPACE)/udp-services"],
                         "env": [
                             {"name": "POD_NAME",
                              "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                             {"name": "POD_NAMESPACE",
                              "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                             {"name": "LD_PRELOAD", "value": "/usr/local/lib/libmimalloc.so"}],
                         "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"},
                                   {"name": "https", "containerPort": 443, "protocol": "TCP"}],
                         "resources": {"requests": {"cpu": "100m", "memory": "90Mi"}},
                     }],
                 },
             },
         }},
        {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
         "metadata": {"name": "nginx", "labels": _CONTROLLER_LABELS,
                      "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
         "spec": {"controller": "k8s.io/ingress-nginx"}},
    ]


ADDONS = {"ingress": ingress_manifests}


def _path(obj: dict[str, Any]) -> str:
    info = kinds.by_kind(obj["apiVersion"], obj["kind"])
    assert info is not None, obj["kind"]
    namespace = obj["metadata"].get("namespace")
    scope = f"/namespaces/{namespace}" if info.namespaced and namespace else ""
    return f"{info.path_prefix()}{scope}/{info.plural}"


def _reference(obj: dict[str, Any]) -> str:
    info = kinds.by_kind(obj["apiVersion"], obj["kind"])
    assert info is not None
    resource = f"{info.singular}.{info.group}" if info.group else info.singular
    return f"{resource}/{obj['metadata']['name']}"


def enable(name: str, url: str, token: str, ca_pem: bytes) -> list[str]:
    """Create the add-on's objects through the API; one ``kubectl``-style line per object."""
    context = ssl.create_default_context(cadata=ca_pem.decode())
    lines: list[str] = []
    for obj in ADDONS[name]():
        request = urllib.request.Request(
            f"{url}{_path(obj)}?fieldManager=kubectl-client-side-apply",
            data=json.dumps(obj).encode(), method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10, context=context):
                lines.append(f"{_reference(obj)} created")
        except urllib.error.HTTPError as err:
            if err.code != 409:
                raise
            lines.append(f"{_reference(obj)} unchanged")
    return lines
