"""A tiny fake Kubernetes API server for the watcher and widget tests.

It serves LIST and chunked WATCH for the resources the diagram reads, with a global
``resourceVersion`` counter, an event log, compaction (a watch from a compacted version
gets the ``410 Expired`` ERROR event, as kube-apiserver sends it) and ``/livez``,
``/readyz``, ``/version``. Just enough of the real protocol for the official
``kubernetes`` client's ``watch.Watch`` to work against it unchanged.
"""

from __future__ import annotations

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from kubernetes import client

PATHS = {
    "/api/v1/nodes": "nodes",
    "/api/v1/pods": "pods",
    "/apis/coordination.k8s.io/v1/leases": "leases",
    "/api/v1/events": "events",
    "/apis/apps/v1/replicasets": "replicasets",
    "/apis/apps/v1/deployments": "deployments",
    "/api/v1/services": "services",
    "/apis/discovery.k8s.io/v1/endpointslices": "endpointslices",
}


class FakeCluster:
    def __init__(self) -> None:
        self.objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = {
            k: {} for k in PATHS.values()
        }
        self.rv = 100
        self.log: list[tuple[int, str, str, dict[str, Any]]] = []
        self.compacted = 0
        self.cond = threading.Condition()
        self.forbidden: set[str] = set()
        self.livez = "ok"
        self.readyz = "[+]ping ok\n[+]etcd ok\nreadyz check passed"
        self.epoch = 0  # bumping it ends every open watch
        self.watch_requests: dict[str, int] = dict.fromkeys(PATHS.values(), 0)
        self.server: ThreadingHTTPServer | None = None

    # -------------------------------------------------------------- mutations

    def put(self, kind: str, obj: dict[str, Any]) -> None:
        with self.cond:
            self.rv += 1
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            meta["resourceVersion"] = str(self.rv)
            key = (meta.get("namespace") or "", meta["name"])
            etype = "MODIFIED" if key in self.objects[kind] else "ADDED"
            self.objects[kind][key] = obj
            self.log.append((self.rv, kind, etype, obj))
            self.cond.notify_all()

    def delete(self, kind: str, namespace: str, name: str) -> None:
        with self.cond:
            self.rv += 1
            obj = self.objects[kind].pop((namespace, name))
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self.log.append((self.rv, kind, "DELETED", obj))
            self.cond.notify_all()

    def compact(self) -> None:
        """Forget the event log, so older resourceVersions answer 410."""
        with self.cond:
            self.rv += 1  # writes to other keys moved the revision on, as in etcd
            self.compacted = self.rv
            self.log.clear()

    def end_watches(self) -> None:
        with self.cond:
            self.epoch += 1
            self.cond.notify_all()

    # -------------------------------------------------------------- server

    def start(self) -> str:
        cluster = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, code: int, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path.rstrip("/") == "/version":
                    self._send(
                        200,
                        json.dumps(
                            {
                                "major": "1",
                                "minor": "37",
                                "gitVersion": "v1.37.0-fake",
                                "gitCommit": "0",
                                "gitTreeState": "clean",
                                "buildDate": "2026-01-01T00:00:00Z",
                                "goVersion": "go1.25",
                                "compiler": "gc",
                                "platform": "linux/amd64",
                            }
                        ).encode(),
                    )
                    return
                if url.path in ("/livez", "/readyz"):
                    text = cluster.livez if url.path == "/livez" else cluster.readyz
                    code = 200 if "fail" not in text else 500
                    self._send(code, text.encode(), "text/plain")
                    return
                kind = PATHS.get(url.path)
                if kind is None:
                    self._send(404, b'{"kind":"Status","code":404}')
                    return
                if kind in cluster.forbidden:
                    self._send(
                        403,
                        json.dumps(
                            {
                                "kind": "Status",
                                "apiVersion": "v1",
                                "status": "Failure",
                                "reason": "Forbidden",
                                "code": 403,
                            }
                        ).encode(),
                    )
                    return
                if query.get("watch") in ("true", "1"):
                    self._watch(kind, query)
                    return
                with cluster.cond:
                    items = [copy.deepcopy(o) for o in cluster.objects[kind].values()]
                    rv = cluster.rv
                body = {
                    "kind": "List",
                    "apiVersion": "v1",
                    "metadata": {"resourceVersion": str(rv)},
                    "items": items,
                }
                self._send(200, json.dumps(body).encode())

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _watch(self, kind: str, query: dict[str, str]) -> None:
                cluster.watch_requests[kind] += 1
                since = int(query.get("resourceVersion") or 0)
                timeout = min(float(query.get("timeoutSeconds") or 5), 5.0)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    with cluster.cond:
                        if since < cluster.compacted:
                            status = {
                                "type": "ERROR",
                                "object": {
                                    "kind": "Status",
                                    "apiVersion": "v1",
                                    "metadata": {},
                                    "status": "Failure",
                                    "message": f"too old resource version: {since} ({cluster.compacted})",
                                    "reason": "Expired",
                                    "code": 410,
                                },
                            }
                            self._chunk((json.dumps(status) + "\n").encode())
                            self._chunk(b"")
                            return
                        epoch = cluster.epoch
                        remaining = timeout
                        while remaining > 0 and cluster.epoch == epoch:
                            for rv, k, etype, obj in cluster.log:
                                if k == kind and rv > since:
                                    self._chunk(
                                        (json.dumps({"type": etype, "object": obj}) + "\n").encode()
                                    )
                                    since = rv
                            cluster.cond.wait(0.05)
                            remaining -= 0.05
                    self._chunk(b"")
                except (BrokenPipeError, ConnectionResetError, OSError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.end_watches()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def api_client(self, host: str) -> client.ApiClient:
        cfg = client.Configuration()
        cfg.host = host
        cfg.api_key = {"BearerToken": "test-token"}
        cfg.api_key_prefix = {"BearerToken": "Bearer"}
        return client.ApiClient(cfg)
