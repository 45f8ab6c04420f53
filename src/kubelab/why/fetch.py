"""Gather what :func:`kubelab.why.diagnose.diagnose` looks at, through the Kubernetes API.

The thin I/O shell of :mod:`kubelab.why`: plain ``GET`` requests through the official
``kubernetes`` client's ``ApiClient`` (server, CA and token come from the kubeconfig context
:mod:`kubelab.connect` picked), answered as the JSON ``kubectl get -o json`` shows. Only the
API is used — the same paths ``kubectl describe`` and ``kubectl logs --previous`` read — so it
works on the sandbox and on any real cluster. A list the user may not read (RBAC answers 403)
is left empty rather than failing the whole diagnosis.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from kubelab.why.diagnose import Diagnosis, Objects, diagnose, parse_target

Obj = dict[str, Any]

# The lists a namespaced diagnosis reads: (field of Objects, API prefix, plural).
NAMESPACED = (
    ("pods", "/api/v1", "pods"),
    ("events", "/api/v1", "events"),
    ("replicasets", "/apis/apps/v1", "replicasets"),
    ("deployments", "/apis/apps/v1", "deployments"),
    ("services", "/api/v1", "services"),
    ("endpointslices", "/apis/discovery.k8s.io/v1", "endpointslices"),
    ("resourcequotas", "/api/v1", "resourcequotas"),
    ("persistentvolumeclaims", "/api/v1", "persistentvolumeclaims"),
)
# How many crashed containers' previous logs one diagnosis reads (each is one request).
MAX_PREVIOUS_LOGS = 4
LOG_TAIL_LINES = 20


class FetchError(RuntimeError):
    """The cluster did not answer (connection refused, TLS, timeout)."""


class Fetcher:
    """GETs through an official-client ``ApiClient``; returns parsed JSON or text."""

    def __init__(self, api_client: Any, request_timeout: float = 10.0) -> None:
        self.api_client = api_client
        self.request_timeout = request_timeout

    def get(self, path: str, query: list[tuple[str, str]] | None = None) -> tuple[int, str]:
        try:
            request = self.api_client.param_serialize(
                "GET", path, query_params=query or [], auth_settings=["BearerToken"])
            response = self.api_client.call_api(*request, _request_timeout=self.request_timeout)
            response.read()
        except Exception as exc:  # connection refused, TLS, timeouts: all mean "no answer"
            raise FetchError(f"the cluster did not answer ({type(exc).__name__}: {exc})") \
                from exc
        data = response.data or b""
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
        return int(response.status), text

    def items(self, path: str, query: list[tuple[str, str]] | None = None) -> list[Obj]:
        status, text = self.get(path, query)
        if status != 200:
            return []
        return list(json.loads(text).get("items") or [])

    def previous_log(self, namespace: str, pod: str, container: str,
                     previous: bool = True) -> str | None:
        """The last lines of a crashed run: the previous container's (``previous``) or, for
        a container that ended and will not restart, the current one's."""
        query = [("container", container)] + ([("previous", "true")] if previous else [])
        status, text = self.get(
            f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(pod, safe='')}/log",
            [*query, ("tailLines", str(LOG_TAIL_LINES))])
        return text if status == 200 else None


def gather(api_client: Any, target: str, namespace: str = "default") -> Objects:
    """Read the objects a diagnosis of ``target`` needs from the cluster behind ``api_client``."""
    fetch = Fetcher(api_client)
    kind, _name = parse_target(target)
    nodes = fetch.items("/api/v1/nodes")
    if kind == "node":
        return Objects(nodes=nodes)
    ns = quote(namespace, safe="")
    lists: dict[str, list[Obj]] = {
        name: fetch.items(f"{prefix}/namespaces/{ns}/{plural}")
        for name, prefix, plural in NAMESPACED}
    logs: dict[str, str] = {}
    for pod in lists["pods"]:
        if len(logs) >= MAX_PREVIOUS_LOGS:
            break
        pod_name = str((pod.get("metadata") or {}).get("name", ""))
        if kind == "pod" and pod_name != _name:
            continue
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            restarted = bool((status.get("lastState") or {}).get("terminated"))
            ended = ((status.get("state") or {}).get("terminated") or {}).get("exitCode", 0)
            if (restarted or ended) and len(logs) < MAX_PREVIOUS_LOGS:
                text = fetch.previous_log(namespace, pod_name, status.get("name", ""),
                                          previous=restarted)
                if text is not None:
                    logs[f"{pod_name}/{status.get('name', '')}"] = text
    return Objects(nodes=nodes, previous_logs=logs, **lists)


def why(target: str, namespace: str | None = None, *, cluster: Any = None) -> Diagnosis:
    """Diagnose ``target`` (``pod/x``, ``deploy/x``, ``svc/x``, ``node/x``) on a cluster.

    ``cluster`` is a :class:`kubelab.connect.Cluster` (default: the notebook's current one).
    A target that cannot be diagnosed raises ``ValueError`` before any cluster is touched.
    """
    parse_target(target)
    if cluster is None:
        from kubelab.connect import current

        cluster = current()
    ns = namespace or "default"
    return diagnose(target, gather(cluster.api_client, target, ns), ns)
