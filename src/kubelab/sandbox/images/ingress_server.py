"""The ingress-nginx controller's nginx, for real: a listener that routes by Host and path.

The kubelet starts one per running controller container, as it starts an
:class:`~.server.AppServer` for other HTTP images, and registers it under the pod's IP and
port 80, so everything that reaches a pod reaches it: the API server's service proxy
(``services/ingress-nginx-controller:80/proxy/`` passes the client's ``Host`` header on, as
kube-apiserver's proxy does), ``curl -H 'Host: …'`` in an exec shell, and the Service's
nodePort on ``127.0.0.1``. For each request it reads the API objects the controller watches
(in a real cluster through its informers; here through the fabric's API reader), asks the
pure :func:`~.ingress_nginx.route` where the request goes, and forwards it to one ready
endpoint (round robin, ingress-nginx's default balancer) with the headers nginx adds
(``X-Forwarded-For``, ``X-Forwarded-Host``, ``X-Real-IP``…), keeping the client's ``Host``.
Unknown hosts and paths get the built-in default backend's 404, a Service without ready
endpoints 503, an endpoint nothing listens on 502. Each request is logged in the
controller's access-log format.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from kubelab.sandbox.images import ingress_nginx
from kubelab.sandbox.images.catalog import Route
from kubelab.sandbox.images.ingress_nginx import Decision, IngressControllerApp
from kubelab.sandbox.images.server import listen_loopback

#: ``resource`` (``ingresses.networking.k8s.io``) → the objects of that resource.
ApiReader = Callable[[str], list[Mapping[str, Any]]]
#: ``(pod IP, port)`` → the local address of the app server behind it, or None.
Resolver = Callable[[str, int], tuple[str, int] | None]

#: Headers a proxy does not forward (hop-by-hop), plus what aiohttp sets itself.
_NOT_FORWARDED = frozenset({"connection", "keep-alive", "proxy-authenticate",
                            "proxy-authorization", "te", "trailer", "transfer-encoding",
                            "upgrade", "content-length"})


def routing_decision(read: ApiReader, app: IngressControllerApp, host: str,
                     path: str) -> Decision:
    """Read the objects the controller watches and route one request (see ``route``)."""
    classes = read("ingressclasses.networking.k8s.io")
    served = [i for i in read("ingresses.networking.k8s.io")
              if ingress_nginx.serves_ingress(i, classes, app.flags)]
    return ingress_nginx.route(served, read("services"), read("endpointslices.discovery.k8s.io"),
                               host, path)


class IngressNginxServer:
    """One controller pod's nginx; ``port`` is valid after :meth:`start`."""

    def __init__(self, app: IngressControllerApp, pod: str, read: ApiReader,
                 resolve: Resolver, now: Callable[[], datetime],
                 log: Callable[[str], None] | None = None) -> None:
        self.app = app
        self.pod = pod
        self.port = 0
        self.requests = 0
        self._read = read
        self._resolve = resolve
        self._log = log
        self._now = now
        self._turns: dict[str, itertools.count[int]] = {}
        self._runner: web.AppRunner | None = None
        self._http: ClientSession | None = None

    def _page(self, route: Route) -> web.Response:
        response = web.Response(status=route.status, text=route.body,
                                headers={"Server": "nginx"})
        response.content_type = route.content_type
        return response

    def _pick(self, decision: Decision) -> tuple[str, int]:
        assert decision.backend is not None
        turn = self._turns.setdefault(decision.backend.label, itertools.count())
        return decision.endpoints[next(turn) % len(decision.endpoints)]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        host = request.headers.get("Host", "")
        decision = routing_decision(self._read, self.app, host, request.path)
        self.requests += 1
        upstream: tuple[str, int] | None = None
        answer = decision.answer
        if answer is not None:
            response = self._page(answer)
        else:
            upstream = self._pick(decision)
            response = await self._forward(request, upstream)
        self._record(request, response, decision, upstream)
        return response

    async def _forward(self, request: web.Request, upstream: tuple[str, int]) -> web.Response:
        local = self._resolve(*upstream)
        if local is None:
            return self._page(ingress_nginx.BAD_GATEWAY)
        remote = request.remote or "127.0.0.1"
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in _NOT_FORWARDED}
        headers.update({
            "X-Real-IP": remote, "X-Forwarded-For": remote,
            "X-Forwarded-Host": request.headers.get("Host", ""),
            "X-Forwarded-Port": str(self.app.port), "X-Forwarded-Proto": "http",
            "X-Forwarded-Scheme": "http", "X-Scheme": "http",
        })
        if self._http is None:
            self._http = ClientSession(timeout=ClientTimeout(total=10))
        body = await request.read()
        try:
            async with self._http.request(request.method, f"http://{local[0]}:{local[1]}"
                                          f"{request.path_qs}", headers=headers,
                                          data=body or None, allow_redirects=False) as answer:
                payload = await answer.read()
                kept = {k: v for k, v in answer.headers.items()
                        if k.lower() in ("content-type", "location", "cache-control",
                                         "set-cookie", "x-served-by")}
                return web.Response(body=payload, status=answer.status,
                                    headers={**kept, "Server": "nginx"})
        except (ClientError, TimeoutError):
            return self._page(ingress_nginx.BAD_GATEWAY)

    def _record(self, request: web.Request, response: web.StreamResponse, decision: Decision,
                upstream: tuple[str, int] | None) -> None:
        if self._log is None:
            return
        body = response.body if isinstance(response, web.Response) else None
        size = len(body) if isinstance(body, bytes) else 0
        self._log(ingress_nginx.access_log_line(
            request.remote or "127.0.0.1", self._now().strftime("%d/%b/%Y:%H:%M:%S +0000"),
            request.method, request.path_qs, response.status, size,
            request.headers.get("User-Agent", ""), decision, upstream))

    async def start(self) -> int:
        self._runner, self.port = await listen_loopback(self._handle)
        return self.port

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
