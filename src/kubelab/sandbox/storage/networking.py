"""networking.k8s.io/v1 storage: Ingresses, with the DefaultIngressClass admission plugin.

Mirrors ``pkg/registry/networking/ingress/storage`` (the generic store with a ``/status``
subresource) and ``plugin/pkg/admission/network/defaultingressclass``, which kube-apiserver
enables by default: an Ingress created without ``spec.ingressClassName`` (and without the
legacy ``kubernetes.io/ingress.class`` annotation) gets the name of the IngressClass marked
``ingressclass.kubernetes.io/is-default-class: "true"``; with several marked, the newest
(upstream sorts them by creation time, newest first). Updates are not defaulted, as upstream
admits only creates.
"""

from __future__ import annotations

from kubelab.apimachinery.types import Obj
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.strategies.ingress import INGRESS_CLASS_ANNOTATION, is_default_class
from kubelab.sandbox.store.registry import Registry
from kubelab.sandbox.store.storage import Storage


def default_class_name(classes: list[Obj]) -> str | None:
    """The default IngressClass's name: the newest of those marked default, or None."""
    marked = [c for c in classes if is_default_class(c)]
    if not marked:
        return None
    marked.sort(key=lambda c: (str(c["metadata"].get("creationTimestamp") or ""),
                               str(c["metadata"].get("name"))), reverse=True)
    return str(marked[0]["metadata"]["name"])


class IngressStorage(Storage):
    """The Ingress REST behind the DefaultIngressClass admission plugin."""

    def before_create(self, registry: Registry, obj: Obj) -> list[Cause]:
        spec = obj.setdefault("spec", {})
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if spec.get("ingressClassName") is not None or INGRESS_CLASS_ANNOTATION in annotations:
            return []
        name = default_class_name(
            registry.snapshot_list(kinds.resource("ingressclasses.networking.k8s.io")))
        if name is not None:
            spec["ingressClassName"] = name
        return []
