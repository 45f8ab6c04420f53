"""Load benchmarks: the API stays prompt while programs spin and pods flood in.

* **GET p99 with 12 busy pods** (speed 20): ``GET /api/v1/namespaces`` on a new TLS
  connection each time (as every ``kubectl`` run makes one) against a sandbox running 12
  ``while true; do :; done`` replicas. Floor: the same GET against an idle sandbox started
  beside it, the two interleaved request by request. A request that times out (10 s)
  counts as 10 s.
* **Watch ADDED lag p50/p99 with 300 pods** (speed 20, busy processes on every core):
  the time from sending a create to its ADDED event on an open watch, for 300 pods
  (which the scheduler and kubelets then work on). Floor: the same for 300 ConfigMaps in
  the same sandbox (no component reacts to them), interleaved in rounds of 50.
"""

from __future__ import annotations

import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks import report
from kubelab.connect import kubectl_binary
from kubelab.sandbox import daemon

SPEED = 20.0
TIMEOUT = 10.0
BURNER = "import time\nend = time.monotonic() + {s}\nwhile time.monotonic() < end:\n    pass\n"


class Api:
    """Raw HTTPS to one sandbox (a fresh connection per request, like a kubectl run)."""

    def __init__(self, state: Path) -> None:
        info = daemon.running(state)
        assert info is not None
        self.state, self.url, self.token = state, info.url, info.token
        self.ctx = ssl.create_default_context(cadata=daemon.ca_of(state).decode())

    def request(self, method: str, path: str, body: Any = None,
                timeout: float = TIMEOUT) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=timeout) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def timed_get(self, path: str) -> float:
        start = time.perf_counter()
        try:
            self.request("GET", path)
        except (OSError, TimeoutError):
            return TIMEOUT
        return min(time.perf_counter() - start, TIMEOUT)


def _start(prefix: str) -> Path:
    state = Path(tempfile.mkdtemp(prefix=prefix)) / "sandbox"
    daemon.start(state, nodes=3, speed=SPEED)
    return state


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def get_with_busy_pods(requests: int = 200) -> list[report.Figure]:
    busy, idle = _start("kubelab-bench-busy-"), _start("kubelab-bench-idle-")
    try:
        env = dict(os.environ, KUBECONFIG=str(busy / "kubeconfig"))
        subprocess.run([kubectl_binary(), "--cache-dir", str(busy / "cache"), "create",
                        "deployment", "spin", "--image=busybox", "--replicas=12", "--", "sh",
                        "-c", "while true; do :; done"], env=env, check=True,
                       capture_output=True, timeout=60)
        busy_api, idle_api = Api(busy), Api(idle)
        time.sleep(10)  # the 12 containers start and spin (200 simulated seconds)
        busy_times, idle_times = [], []
        for _ in range(requests):
            busy_times.append(busy_api.timed_get("/api/v1/namespaces"))
            idle_times.append(idle_api.timed_get("/api/v1/namespaces"))
        print(f"# GET: busy p50 {statistics.median(busy_times) * 1000:.1f} ms, "
              f"idle p50 {statistics.median(idle_times) * 1000:.1f} ms")
        return [report.figure("GET p99, 12 busy pods @20x", _p(busy_times, 0.99) * 1000, "ms",
                              _p(idle_times, 0.99) * 1000)]
    finally:
        daemon.stop(busy)
        daemon.stop(idle)


class WatchClock:
    """Reads a watch stream on a thread, noting when each object's ADDED arrived."""

    def __init__(self, api: Api, path: str) -> None:
        self.seen: dict[str, float] = {}
        req = urllib.request.Request(api.url + path, headers={
            "Authorization": f"Bearer {api.token}"})
        self.resp = urllib.request.urlopen(req, context=api.ctx, timeout=600)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        # Ends when the sandbox stops (closing the response from another thread would block).
        try:
            for line in self.resp:
                event = json.loads(line)
                if event["type"] == "ADDED":
                    self.seen.setdefault(event["object"]["metadata"]["name"],
                                         time.perf_counter())
        except (OSError, ValueError, AttributeError):
            return


def _pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "containers": [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "86400"]}]}}


def watch_lag(total: int = 300, rounds: int = 6) -> list[report.Figure]:
    state = _start("kubelab-bench-watch-")
    burners = [subprocess.Popen([sys.executable, "-c", BURNER.format(s=300)])
               for _ in range(os.cpu_count() or 2)]
    try:
        api = Api(state)
        pods = WatchClock(api, "/api/v1/namespaces/default/pods?watch=true")
        maps = WatchClock(api, "/api/v1/namespaces/default/configmaps?watch=true")
        created: dict[str, dict[str, float]] = {"pods": {}, "maps": {}}
        per_round = total // rounds
        for r in range(rounds):
            for i in range(per_round):
                name = f"m-{r}-{i}"
                created["maps"][name] = time.perf_counter()
                api.request("POST", "/api/v1/namespaces/default/configmaps",
                            {"metadata": {"name": name}, "data": {"k": "v"}}, timeout=60)
            for i in range(per_round):
                name = f"p-{r}-{i}"
                created["pods"][name] = time.perf_counter()
                api.request("POST", "/api/v1/namespaces/default/pods", _pod(name), timeout=60)
        deadline = time.perf_counter() + 120
        while (len(pods.seen) < len(created["pods"]) or len(maps.seen) < len(created["maps"])) \
                and time.perf_counter() < deadline:
            time.sleep(0.1)
        lags = {kind: [max(0.0, clock.seen.get(name, deadline) - at)
                       for name, at in created[kind].items()]
                for kind, clock in (("pods", pods), ("maps", maps))}
        print(f"# watch: {len(pods.seen)} pod and {len(maps.seen)} configmap ADDED events, "
              f"{len(burners)} busy processes")
        return [
            report.figure(f"watch ADDED lag p50, {total} pods", _p(lags["pods"], 0.5) * 1000,
                          "ms", _p(lags["maps"], 0.5) * 1000),
            report.figure(f"watch ADDED lag p99, {total} pods", _p(lags["pods"], 0.99) * 1000,
                          "ms", _p(lags["maps"], 0.99) * 1000),
        ]
    finally:
        for proc in burners:
            proc.kill()
            proc.wait()
        daemon.stop(state)


def main() -> None:
    figures = get_with_busy_pods() + watch_lag()
    report.write("bench_load", figures)


if __name__ == "__main__":
    main()
