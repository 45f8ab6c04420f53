"""A real HTTP server for a simulated container: what a probe, a Service or a browser reaches.

Each running container of an HTTP image gets one aiohttp server on ``127.0.0.1`` and a
random port; the kubelet registers it in the :class:`~kubelab.sandbox.fabric.Fabric` under
the pod IP and the image's port. Answers come from the pure :func:`~kubelab.sandbox.images.respond`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from aiohttp import web

from kubelab.sandbox.images import HttpApp, respond

RequestHook = Callable[[str, str, int], None]
Uptime = Callable[[], float]


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
        self._on_request = on_request
        self._uptime = uptime
        self._now = now
        self._files = files
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        uptime = self._uptime() if self._uptime is not None else 0.0
        now = self._now() if self._now is not None else None
        files = self._files() if self._files is not None else None
        answer = respond(self.app, self.pod, request.path, dict(request.query), uptime, now,
                         files)
        self.requests += 1
        if self._on_request is not None:
            self._on_request(request.method, request.path_qs, answer.status)
        headers = {"Server": answer.server} if answer.server else {}
        body = answer.body if request.method != "HEAD" else ""
        response = web.Response(status=answer.status, text=body, headers=headers)
        response.content_type = answer.content_type.split(";")[0]
        if "charset=" in answer.content_type:
            response.charset = answer.content_type.split("charset=")[1]
        return response

    async def start(self) -> int:
        application = web.Application()
        application.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(application, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1])
        return self.port

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
