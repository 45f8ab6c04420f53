"""Read cluster state through the Kubernetes API, as ``kubectl get -o json`` would.

The graders look at exactly what a learner could look at: objects served by the API server
(through the official ``kubernetes`` client's transport, so authentication and TLS come from
the kubeconfig) and HTTP answers through the API server's service proxy
(``/api/v1/namespaces/<ns>/services/<name>:<port>/proxy/<path>``, which works on real
clusters too). Objects stay plain JSON dictionaries with the API's camelCase field names, so
a check's field path reads like the manifest the learner wrote. One :class:`Snapshot` caches
each read for one evaluation round, so many checks on one object cost one request.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from kubelab.apimachinery.types import Obj

# kind (as learners type it) -> (API prefix, plural, namespaced)
RESOURCES: dict[str, tuple[str, str, bool]] = {
    "pod": ("/api/v1", "pods", True),
    "service": ("/api/v1", "services", True),
    "endpoints": ("/api/v1", "endpoints", True),
    "secret": ("/api/v1", "secrets", True),
    "configmap": ("/api/v1", "configmaps", True),
    "event": ("/api/v1", "events", True),
    "resourcequota": ("/api/v1", "resourcequotas", True),
    "namespace": ("/api/v1", "namespaces", False),
    "node": ("/api/v1", "nodes", False),
    "deployment": ("/apis/apps/v1", "deployments", True),
    "replicaset": ("/apis/apps/v1", "replicasets", True),
    "job": ("/apis/batch/v1", "jobs", True),
    "cronjob": ("/apis/batch/v1", "cronjobs", True),
    "persistentvolumeclaim": ("/api/v1", "persistentvolumeclaims", True),
    "statefulset": ("/apis/apps/v1", "statefulsets", True),
    "storageclass": ("/apis/storage.k8s.io/v1", "storageclasses", False),
    "serviceaccount": ("/api/v1", "serviceaccounts", True),
    "role": ("/apis/rbac.authorization.k8s.io/v1", "roles", True),
    "rolebinding": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings", True),
    "horizontalpodautoscaler": ("/apis/autoscaling/v2", "horizontalpodautoscalers", True),
}


def resource_path(kind: str, namespace: str | None = None, name: str | None = None) -> str:
    """The REST path of a kind (and optionally one object), e.g. ``/apis/apps/v1/...``."""
    prefix, plural, namespaced = RESOURCES[kind]
    path = prefix
    if namespaced and namespace:
        path += f"/namespaces/{quote(namespace, safe='')}"
    path += f"/{plural}"
    if name:
        path += f"/{quote(name, safe='')}"
    return path


class ApiError(Exception):
    """The API server could not be reached or answered an unexpected status."""


@dataclass
class Response:
    status: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


class Reader:
    """GET requests through an official-client ``ApiClient`` (credentials from kubeconfig)."""

    def __init__(self, api_client: Any, request_timeout: float = 10.0) -> None:
        self.api_client = api_client
        self.request_timeout = request_timeout

    def get(self, path: str, query: list[tuple[str, str]] | None = None) -> Response:
        try:
            req = self.api_client.param_serialize(
                "GET", path, query_params=query or [], auth_settings=["BearerToken"])
            resp = self.api_client.call_api(*req, _request_timeout=self.request_timeout)
            resp.read()
        except Exception as exc:  # connection refused, TLS, timeouts: all mean "no answer"
            raise ApiError(f"the cluster did not answer ({type(exc).__name__})") from exc
        data = resp.data or b""
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
        return Response(int(resp.status), text)


@dataclass
class Snapshot:
    """Cluster state read lazily and cached for one evaluation round."""

    reader: Reader
    _objects: dict[tuple[str, str | None, str], Obj | None] = field(default_factory=dict)
    _lists: dict[tuple[str, str | None, str], list[Obj]] = field(default_factory=dict)
    _proxied: dict[tuple[str, str, str, str], Response] = field(default_factory=dict)

    def get(self, kind: str, name: str, namespace: str | None = "default") -> Obj | None:
        """One object, or ``None`` when the API answers 404."""
        key = (kind, namespace, name)
        if key not in self._objects:
            resp = self.reader.get(resource_path(kind, namespace, name))
            if resp.status == 404:
                self._objects[key] = None
            elif resp.status == 200:
                self._objects[key] = resp.json()
            else:
                raise ApiError(f"GET {kind} {name} answered HTTP {resp.status}")
        return self._objects[key]

    def list(self, kind: str, namespace: str | None = "default", selector: str = "") -> list[Obj]:
        """Objects of a kind (all namespaces when ``namespace`` is ``None``)."""
        key = (kind, namespace, selector)
        if key not in self._lists:
            query = [("labelSelector", selector)] if selector else []
            resp = self.reader.get(resource_path(kind, namespace), query)
            if resp.status != 200:
                raise ApiError(f"listing {RESOURCES[kind][1]} answered HTTP {resp.status}")
            self._lists[key] = list(resp.json().get("items") or [])
        return self._lists[key]

    def log(self, pod: str, namespace: str = "default", container: str | None = None) -> str | None:
        """A pod's log, or ``None`` when the API has none to give (yet)."""
        query = [("container", container)] if container else []
        resp = self.reader.get(resource_path("pod", namespace, pod) + "/log", query)
        return resp.text if resp.status == 200 else None

    def proxy(self, service: str, port: int | str, path: str = "/",
              namespace: str = "default") -> Response:
        """An HTTP GET to a Service through the API server's service proxy."""
        key = (namespace, service, str(port), path)
        if key not in self._proxied:
            full = (resource_path("service", namespace, f"{service}:{port}") + "/proxy/"
                    + path.lstrip("/"))
            base, _, qs = full.partition("?")
            query = [tuple(p.split("=", 1)) for p in qs.split("&") if "=" in p] if qs else []
            self._proxied[key] = self.reader.get(base, query)  # type: ignore[arg-type]
        return self._proxied[key]


def dig(obj: Any, path: str) -> Any:
    """Follow a dotted field path such as ``spec.template.spec.containers[0].image``.

    A list step may also select by name or type: ``containers[kdemo]``,
    ``conditions[Available]``; a dot inside a key is
    escaped: ``metadata.annotations.deployment\\.kubernetes\\.io/revision``. Missing steps
    give ``None``.
    """
    current = obj
    for raw in re.split(r"(?<!\\)\.", path):
        part = raw.replace("\\.", ".")
        name, _, rest = part.partition("[")
        if name:
            if not isinstance(current, dict):
                return None
            current = current.get(name)
        while rest:
            index, _, rest = rest.partition("]")
            rest = rest.lstrip("[")
            if not isinstance(current, list):
                return None
            if index.lstrip("-").isdigit():
                i = int(index)
                current = current[i] if -len(current) <= i < len(current) else None
            else:
                current = next((x for x in current if isinstance(x, dict)
                                and index in (x.get("name"), x.get("type"))), None)
    return current
