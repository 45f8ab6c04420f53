"""API server benchmarks: GET, LIST of 100 and 1000 pods, CREATE, watch fan-out, start-up.

Each figure is printed beside a floor measured in the same run:

* GET / LIST / CREATE: a bare aiohttp server in its own process and its own session (as the
  sandbox daemon has: a process sharing the benchmark's session would also share its CPU
  scheduling group and get a smaller share), on the same TLS certificate, answering the very
  bytes the sandbox answered (captured first), driven by the same client with the same
  concurrency. Sandbox and floor are measured in alternating rounds (the median of three
  each), so a change in the machine's load hits both. The ratio is how much of the
  transport's speed the API machinery (auth, routing, store, serialisation) keeps.
* Watch fan-out: 50 watchers on the sandbox, one writer; latency is from just before the
  write is sent to each watcher's receipt of the event. The floor is the same 50 streams on
  the bare server, which writes one line to every stream when it receives a POST.
* Start-up: ``kubelab sandbox start`` to the first ``200`` from ``/readyz``. The floor is
  starting the bare server process (interpreter, aiohttp, TLS) to its first answer.

The sandbox runs with every component on (its 3 nodes take what fits of the 1,100 pods while
the API is measured, as in a lesson). Targets: GET >= 0.5x floor, LIST of 1,000 pods >= 0.3x
floor, watch p99 < 50 ms, API-ready < 1 s.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from benchmarks.report import Figure, figure, write
from kubelab.sandbox import daemon
from kubelab.sandbox.clock import RealClock

CLOCK = RealClock()
ROUNDS = 3
CONCURRENCY = 8
WATCHERS = 50
WATCH_WRITES = 100


def _pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.25",
                                     "resources": {"requests": {"cpu": "10m"}}}]}}


# --------------------------------------------------------------------------- floor server

def _floor_main(port: int, cert: str, key: str, bodies_path: str) -> None:
    """A bare aiohttp server: fixed bytes per path, and a broadcast stream for watches."""
    bodies: dict[str, dict[str, Any]] = json.loads(Path(bodies_path).read_text())
    streams: list[web.StreamResponse] = []

    async def answer(request: web.Request) -> web.StreamResponse:
        if request.path == "/watch":
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            await response.prepare(request)
            streams.append(response)
            while not request.transport or not request.transport.is_closing():
                await asyncio.sleep(3600)
            return response
        if request.path == "/readyz":
            return web.Response(text="ok")
        if request.path == "/broadcast":
            line = await request.read()
            for stream in streams:
                await stream.write(line + b"\n")
            return web.Response(status=201, body=b"{}", content_type="application/json")
        canned = bodies.get(f"{request.method} {request.path}") or bodies["default"]
        await request.read()
        return web.Response(status=int(canned["status"]), body=canned["body"].encode(),
                            content_type="application/json")

    async def run() -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", answer)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        await web.TCPSite(runner, "127.0.0.1", port, ssl_context=context).start()
        await asyncio.Event().wait()

    asyncio.run(run())


# --------------------------------------------------------------------------- load drivers

async def _hammer(session: aiohttp.ClientSession, count: int,
                  request: Callable[[int], Awaitable[None]]) -> float:
    """Run ``count`` requests with CONCURRENCY in flight; returns requests per second."""
    counter = iter(range(count))

    async def worker() -> None:
        for i in counter:
            await request(i)

    start = CLOCK.monotonic()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return count / (CLOCK.monotonic() - start)


def _get(session: aiohttp.ClientSession, url: str, headers: dict[str, str]
         ) -> Callable[[int], Awaitable[None]]:
    async def one(_: int) -> None:
        async with session.get(url, headers=headers) as response:
            await response.read()
            assert response.status == 200, response.status
    return one


def _create(session: aiohttp.ClientSession, url: str, headers: dict[str, str],
            prefix: str) -> Callable[[int], Awaitable[None]]:
    async def one(i: int) -> None:
        async with session.post(url, json=_pod(f"{prefix}-{i}"), headers=headers) as response:
            await response.read()
            assert response.status == 201, response.status
    return one


async def _fan_out(session: aiohttp.ClientSession, watch_url: str, write: Callable[[int],
                   Awaitable[None]], headers: dict[str, str]) -> list[float]:
    """Latencies (ms) from each write's start to its arrival at each of WATCHERS streams."""
    sent: dict[int, float] = {}
    latencies: list[float] = []
    opened = asyncio.Semaphore(0)

    async def watcher() -> None:
        async with session.get(watch_url, headers=headers,
                               timeout=aiohttp.ClientTimeout(total=None)) as response:
            opened.release()
            seen = 0
            async for raw in response.content:
                if not raw.strip():
                    continue
                step = _step_of(json.loads(raw))
                if step is None:
                    continue
                latencies.append((CLOCK.monotonic() - sent[step]) * 1000)
                seen += 1
                if seen == WATCH_WRITES:
                    return

    tasks = [asyncio.create_task(watcher()) for _ in range(WATCHERS)]
    for _ in range(WATCHERS):
        await opened.acquire()
    await CLOCK.sleep(0.2)
    for step in range(WATCH_WRITES):
        sent[step] = CLOCK.monotonic()
        await write(step)
        await CLOCK.sleep(0.01)
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    return latencies


def _step_of(event: dict[str, Any]) -> int | None:
    if "step" in event:
        return int(event["step"])
    data = (event.get("object") or {}).get("data") or {}
    return int(data["step"]) if "step" in data else None


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --------------------------------------------------------------------------- start-up

def _poll_ready(url: str, ca: Path | None, token: str = "", budget: float = 20.0) -> None:
    import urllib.error
    import urllib.request

    context = ssl.create_default_context(cadata=ca.read_text()) if ca else None
    deadline = CLOCK.monotonic() + budget
    while CLOCK.monotonic() < deadline:
        if ca is None or not ca.exists():
            CLOCK.blocking_sleep(0.002)
            continue
        if context is None:
            context = ssl.create_default_context(cadata=ca.read_text())
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, context=context, timeout=1) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            CLOCK.blocking_sleep(0.002)
    raise RuntimeError(f"{url} not ready within {budget}s")


def startup_seconds(tmp: Path) -> float:
    """``kubelab sandbox start`` to the first 200 from /readyz (median of three)."""
    timings = []
    for attempt in range(3):
        state = tmp / f"startup-{attempt}"
        start = CLOCK.monotonic()
        subprocess.run([sys.executable, "-m", "kubelab.sandbox", "--state-dir", str(state),
                        "start"], check=True, capture_output=True)
        info = daemon.read_server_info(state)
        assert info is not None
        _poll_ready(info.url + "/readyz", state / "pki" / "ca.crt", info.token)
        timings.append(CLOCK.monotonic() - start)
        daemon.stop(state)
    return statistics.median(timings)


def _start_floor(port: int, cert: str, key: str, bodies: str, ca: Path) -> subprocess.Popen[bytes]:
    """The floor server as a process of its own session, like the sandbox daemon."""
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_api", "--floor", str(port), cert, key, bodies],
        start_new_session=True, stdin=subprocess.DEVNULL)
    _poll_ready(f"https://127.0.0.1:{port}/readyz", ca)
    return process


def floor_startup_seconds(cert: str, key: str, bodies: str, ca: Path) -> float:
    timings = []
    for _ in range(3):
        port = _free_port()
        start = CLOCK.monotonic()
        process = _start_floor(port, cert, key, bodies, ca)
        timings.append(CLOCK.monotonic() - start)
        process.kill()
        process.wait()
    return statistics.median(timings)


def _free_port() -> int:
    from kubelab.sandbox.cluster import free_port

    return free_port()


# --------------------------------------------------------------------------- main

async def measure(handle_url: str, token: str, ca: Path, tmp: Path) -> list[Figure]:
    auth = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    ssl_context = ssl.create_default_context(cadata=ca.read_text())
    connector = aiohttp.TCPConnector(ssl=ssl_context, limit=CONCURRENCY + WATCHERS + 4)
    figures: list[Figure] = []
    async with aiohttp.ClientSession(connector=connector) as session:
        base = handle_url
        # Fixtures: one configmap to GET, namespaces of 100 and 1000 pods (the CREATE run).
        for ns in ("bench-100", "bench-1000", "bench-watch", "bench-create"):
            async with session.post(f"{base}/api/v1/namespaces", headers=auth,
                                    json={"metadata": {"name": ns}}) as r:
                assert r.status == 201, await r.text()
        async with session.post(f"{base}/api/v1/namespaces/default/configmaps", headers=auth,
                                json={"metadata": {"name": "bench"},
                                      "data": {"k": "v" * 64}}) as r:
            assert r.status == 201
        await _hammer(session, 1000, _create(
            session, f"{base}/api/v1/namespaces/bench-1000/pods", auth, "p"))
        await _hammer(session, 100, _create(
            session, f"{base}/api/v1/namespaces/bench-100/pods", auth, "p"))

        # Capture the exact bytes the floor server will answer.
        paths = {"get": "/api/v1/namespaces/default/configmaps/bench",
                 "list100": "/api/v1/namespaces/bench-100/pods",
                 "list1000": "/api/v1/namespaces/bench-1000/pods"}
        bodies: dict[str, dict[str, Any]] = {}
        for path in paths.values():
            async with session.get(base + path, headers=auth) as r:
                bodies[f"GET {path}"] = {"status": 200, "body": await r.text()}
        async with session.post(f"{base}/api/v1/namespaces/bench-100/pods", headers=auth,
                                json=_pod("captured")) as r:
            bodies["default"] = {"status": 201, "body": await r.text()}
        bodies_path = tmp / "bodies.json"
        bodies_path.write_text(json.dumps(bodies))

    # The floor: same bytes, same TLS certificate, same client, a bare server process in its
    # own session; measured in rounds alternating with the sandbox.
    pki = tmp / "sandbox" / "pki" / "serving"
    cert, key = str(pki / "apiserver.crt"), str(pki / "apiserver.key")
    port = _free_port()
    floor = _start_floor(port, cert, key, str(bodies_path), ca)
    floor_base = f"https://127.0.0.1:{port}"
    rates: dict[str, list[float]] = {}
    try:
        connector = aiohttp.TCPConnector(ssl=ssl_context, limit=CONCURRENCY + WATCHERS + 4)
        floor_connector = aiohttp.TCPConnector(ssl=ssl_context,
                                               limit=CONCURRENCY + WATCHERS + 4)
        async with aiohttp.ClientSession(connector=connector) as session, \
                aiohttp.ClientSession(connector=floor_connector) as floor_session:
            for round_ in range(ROUNDS):
                for name, count, path in (("get", 1000, paths["get"]),
                                          ("list100", 100, paths["list100"]),
                                          ("list1000", 20, paths["list1000"])):
                    rates.setdefault(name, []).append(
                        await _hammer(session, count, _get(session, base + path, auth)))
                    rates.setdefault(f"floor-{name}", []).append(
                        await _hammer(floor_session, count,
                                      _get(floor_session, floor_base + path, auth)))
                rates.setdefault("create", []).append(await _hammer(session, 300, _create(
                    session, f"{base}/api/v1/namespaces/bench-create/pods", auth,
                    f"r{round_}")))
                rates.setdefault("floor-create", []).append(await _hammer(
                    floor_session, 300, _create(
                        floor_session, floor_base + "/api/v1/namespaces/bench-create/pods",
                        auth, f"r{round_}")))

            async def patch(step: int) -> None:
                async with session.patch(
                        f"{base}/api/v1/namespaces/bench-watch/configmaps/fan",
                        headers=dict(auth, **{"Content-Type": "application/merge-patch+json"}),
                        data=json.dumps({"data": {"step": str(step)}})) as r:
                    await r.read()
                    assert r.status == 200, r.status

            async with session.post(f"{base}/api/v1/namespaces/bench-watch/configmaps",
                                    headers=auth, json={"metadata": {"name": "fan"}}) as r:
                rv = (await r.json())["metadata"]["resourceVersion"]
            sandbox_latency = await _fan_out(
                session, f"{base}/api/v1/namespaces/bench-watch/configmaps?watch=true"
                         f"&resourceVersion={rv}", patch, auth)

            async def broadcast(step: int) -> None:
                async with floor_session.post(floor_base + "/broadcast",
                                              data=json.dumps({"step": step})) as r:
                    await r.read()

            floor_latency = await _fan_out(floor_session, floor_base + "/watch", broadcast,
                                           auth)
    finally:
        floor.kill()
        floor.wait()

    def median(name: str) -> float:
        return statistics.median(rates[name])

    get_rate, f_get = median("get"), median("floor-get")
    list100, f_list100 = median("list100"), median("floor-list100")
    list1000, f_list1000 = median("list1000"), median("floor-list1000")
    create_rate, f_create = median("create"), median("floor-create")
    figures += [
        figure("GET configmap throughput", get_rate, "req/s", f_get),
        figure("LIST 100 pods throughput", list100, "req/s", f_list100),
        figure("LIST 1000 pods throughput", list1000, "req/s", f_list1000),
        figure("CREATE pod throughput", create_rate, "req/s", f_create),
        figure("watch fan-out 50 p50", statistics.median(sandbox_latency), "ms",
               statistics.median(floor_latency)),
        figure("watch fan-out 50 p99", _percentile(sandbox_latency, 0.99), "ms",
               _percentile(floor_latency, 0.99)),
    ]
    return figures


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--floor"]:
        port, cert, key, bodies = args[1:5]
        _floor_main(int(port), cert, key, bodies)
        return 0
    with tempfile.TemporaryDirectory(prefix="kubelab-bench-") as name:
        tmp = Path(name)
        info = daemon.start(tmp / "sandbox", nodes=3)
        try:
            ca = tmp / "sandbox" / "pki" / "ca.crt"
            _poll_ready(info.url + "/readyz", ca, info.token)
            figures = asyncio.run(measure(info.url, info.token, ca, tmp))
        finally:
            daemon.stop(tmp / "sandbox")
        pki = tmp / "sandbox" / "pki" / "serving"
        up = startup_seconds(tmp)
        floor_up = floor_startup_seconds(str(pki / "apiserver.crt"), str(pki / "apiserver.key"),
                                         str(tmp / "bodies.json"), ca)
        figures.append(figure("start-up to API-ready", up * 1000, "ms", floor_up * 1000))
    write("bench_api", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
