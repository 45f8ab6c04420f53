"""A real HTTP server for a simulated container: what a probe, a Service or a browser reaches.

Each running container of an HTTP image gets one aiohttp server on ``127.0.0.1`` and a
random port; the kubelet registers it in the :class:`~kubelab.sandbox.fabric.Fabric` under
the pod IP and the image's port. Answers come from the pure :func:`~kubelab.sandbox.images.respond`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from urllib.parse import parse_qsl

from aiohttp import web

from kubelab.sandbox.images import HttpApp, Response, answer_changes_at, respond

RequestHook = Callable[[str, str, int], None]
Uptime = Callable[[], float]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def listen_loopback(handler: Handler) -> tuple[web.AppRunner, int]:
    """Serve every method and path with ``handler`` on ``127.0.0.1`` and a free port.

    Shared by the app servers and the ingress controller's nginx: what a container listens
    on is only ever reachable from this machine.
    """
    application = web.Application()
    application.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sockets = getattr(site._server, "sockets", None) or []
    return runner, int(sockets[0].getsockname()[1])


class AppServer:
    """One listening app; ``port`` is valid after :meth:`start`."""

    def __init__(self, app: HttpApp, pod: str, on_request: RequestHook | None = None,
                 uptime: Uptime | None = None, now: Callable[[], datetime] | None = None,
                 files: Callable[[], Mapping[str, str]] | None = None) -> None:
        self.app = app
        self.pod = pod
        self.port = 0
        #: Requests answered so far (the bootcamp app's ``Total Requests``; with the app's
        #: ``cpu_seconds_per_request``, the CPU a metrics model can charge the container).
        self.requests = 0
        #: The requests' weight for a metrics model: a request from a program the sandbox
        #: throttled stands for the ones its loop lost (see :meth:`serve_inline`).
        self.load = 0.0
        self._on_request = on_request
        self._uptime = uptime
        self._now = now
        self._files = files
        self._runner: web.AppRunner | None = None

    def serve(self, method: str, path: str, query: dict[str, str], path_qs: str) -> Response:
        """Answer one request: count it and log it as the app does (the HTTP handler and
        in-cluster programs, :meth:`serve_inline`, both come here)."""
        uptime = self._uptime() if self._uptime is not None else 0.0
        now = self._now() if self._now is not None else None
        files = self._files() if self._files is not None else None
        answer = respond(self.app, self.pod, path, query, uptime, now, files)
        self.requests += 1
        self.load += 1.0
        if self._on_request is not None:
            self._on_request(method, path_qs, answer.status)
        return answer

    def answer_fixed(self, path: str) -> bool:
        """Whether this app's answer to ``GET path`` stays as it is while time alone passes
        (no route of it turns into its ``later`` form at an uptime still ahead)."""
        files = self._files() if self._files is not None else {}
        change = answer_changes_at(self.app, path, files)
        return change is None or (self._uptime is not None and self._uptime() > change)

    def serve_inline(self, method: str, path_qs: str, weight: float = 1.0) -> tuple[int, str]:
        """A request from a container's own program (a load generator's ``wget`` loop),
        answered in-process: (status, body). The program is stepped on the sandbox clock
        inside the kubelet, where a socket round trip would block the event loop. ``weight``
        is how many requests it stands for: a program the sandbox throttles (its step budget
        protects the event loop, and skips simulated time) makes fewer requests per
        simulated second than its loop says, and the load it puts on the app must not depend
        on the sandbox's speed."""
        path, _, query = path_qs.partition("?")
        answer = self.serve(method, path or "/", dict(parse_qsl(query)), path_qs)
        self.load += max(weight, 1.0) - 1.0
        return answer.status, answer.body if method != "HEAD" else ""

    async def _handle(self, request: web.Request) -> web.Response:
        answer = self.serve(request.method, request.path, dict(request.query),
                            request.path_qs)
        headers = {"Server": answer.server} if answer.server else {}
        body = answer.body if request.method != "HEAD" else ""
        response = web.Response(status=answer.status, text=body, headers=headers)
        response.content_type = answer.content_type.split(";")[0]
        if "charset=" in answer.content_type:
            response.charset = answer.content_type.split("charset=")[1]
        return response

    async def start(self) -> int:
        self._runner, self.port = await listen_loopback(self._handle)
        return self.port

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
