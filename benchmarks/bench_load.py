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
* **Scale rows** (speed 20, every component on): 100, 1,000 and 5,000 pods on 3 and on 50
  nodes (and 500 on 50, the base of the linearity check). Per row: create throughput (POST
  of each pod, 8 in flight; no floor), time until every pod that fits is Running and every
  other one is refused with ``PodScheduled=False`` (floor: the 500-pod time scaled linearly
  to the row's pod count, so the ratio is how far from linear bringing pods up is), GET p99
  of one pod on a new TLS connection per request once settled (floor: the same GET on the
  same sandbox once every node is Ready, before any pod was created), a chunked LIST of
  every pod as kubectl reads it (``limit=500`` and continue tokens), the daemon's RSS, and
  the daemon's CPU time (user + system, ``/proc/<pid>/stat``) from the first create until
  all are Running (floor: the 500-pod figure scaled linearly). On a shared machine the wall
  time follows the other processes' load; the CPU time much less (it still holds the
  sandbox's idle upkeep for as long as the bring-up lasts).
  Targets: at 5,000 pods on 50 nodes every pod that fits is Running within 10x the 500-pod
  time, GET p99 <= 100 ms.
  ``python -m benchmarks.bench_load scale`` runs only these rows; ``--rows 500x50,5000x50``
  picks some.
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
from dataclasses import dataclass
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


SCALE_ROWS: tuple[tuple[int, int], ...] = ((100, 3), (1000, 3), (5000, 3), (100, 50), (500, 50), (1000, 50), (5000, 50))
SCALE_BUDGET = 1200.0


def _scale_pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "scale"}},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.27", "resources": {
                "requests": {"cpu": "5m", "memory": "16Mi"}}}]}}


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, from ``/proc/<pid>/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _list_all(api: Api, path: str) -> list[dict[str, Any]]:
    """Every item, in chunks of 500 with continue tokens (kubectl's default chunk size)."""
    items: list[dict[str, Any]] = []
    token = ""
    while True:
        query = f"{path}{'&' if '?' in path else '?'}limit=500"
        if token:
            query += f"&continue={token}"
        status, body = api.request("GET", query, timeout=120)
        assert status == 200, body
        items += body["items"]
        token = body["metadata"].get("continue", "")
        if not token:
            return items


def _settled(items: list[dict[str, Any]]) -> tuple[bool, int]:
    """(every pod Running or refused by the scheduler, how many are Running)."""
    running = refused = 0
    for pod in items:
        if (pod.get("status") or {}).get("phase") == "Running":
            running += 1
        elif any(c.get("type") == "PodScheduled" and c.get("status") == "False"
                 for c in (pod.get("status") or {}).get("conditions") or []):
            refused += 1
    return running + refused == len(items), running


def _create_all(api: Api, total: int) -> float:
    """POST ``total`` pods with 8 in flight; return pods per second."""
    import concurrent.futures

    def one(i: int) -> None:
        status, body = api.request("POST", "/api/v1/namespaces/default/pods",
                                   _scale_pod(f"scale-{i:05d}"), timeout=120)
        assert status == 201, body

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(total)))
    return total / (time.perf_counter() - start)


def _wait_nodes_ready(api: Api, nodes: int, budget: float = 120.0) -> None:
    """Until every node is registered and Ready, and a second more: the floor's GETs
    measure the idle sandbox, not fifty kubelets registering (which took seconds)."""
    deadline = time.perf_counter() + budget
    while time.perf_counter() < deadline:
        status, body = api.request("GET", "/api/v1/nodes")
        items = body.get("items", []) if status == 200 and isinstance(body, dict) else []
        ready = [n for n in items if any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (n.get("status") or {}).get("conditions") or [])]
        if len(items) >= nodes and len(ready) == len(items):
            time.sleep(1.0)
            return
        time.sleep(0.5)
    raise RuntimeError(f"the {nodes} nodes were not Ready within {budget:.0f} s")


@dataclass
class ScaleRow:
    pods: int
    nodes: int
    create_rate: float
    to_running: float
    running: int
    get_p99: float
    idle_get_p99: float
    list_seconds: float
    rss_mib: float
    cpu_seconds: float


def _scale_deployment(replicas: int) -> dict[str, Any]:
    pod = _scale_pod("")
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "scale", "labels": {"app": "scale"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "scale"}},
                     "template": {"metadata": {"labels": {"app": "scale"}},
                                  "spec": pod["spec"]}}}


def scale_row(pods: int, nodes: int, deployment: bool = False) -> ScaleRow:
    """One row; ``deployment``: one Deployment of ``pods`` replicas instead of bare pods
    (the ReplicaSet and Deployment controllers then create them; create rate not measured)."""
    state = Path(tempfile.mkdtemp(prefix="kubelab-bench-scale-")) / "sandbox"
    info = daemon.start(state, nodes=nodes, speed=SPEED, timeout=120)
    try:
        api = Api(state)
        _wait_nodes_ready(api, nodes)
        idle = [api.timed_get("/api/v1/namespaces/default") for _ in range(100)]
        cpu_start = _cpu_seconds(info.pid)
        start = time.perf_counter()
        if deployment:
            status, body = api.request("POST", "/apis/apps/v1/namespaces/default/deployments",
                                       _scale_deployment(pods), timeout=120)
            assert status == 201, body
            rate = 0.0
        else:
            rate = _create_all(api, pods)
        running = 0
        items: list[dict[str, Any]] = []
        while time.perf_counter() - start < SCALE_BUDGET:
            items = _list_all(api, "/api/v1/namespaces/default/pods?labelSelector=app%3Dscale")
            done, running = _settled(items)
            if done and len(items) >= pods:
                break
            time.sleep(1.0)
        to_running = time.perf_counter() - start
        cpu = _cpu_seconds(info.pid) - cpu_start
        first = items[0]["metadata"]["name"] if items else "scale-00000"
        name = f"/api/v1/namespaces/default/pods/{first}"
        gets = [api.timed_get(name) for _ in range(100)]
        lists = []
        for _ in range(3):
            begin = time.perf_counter()
            _list_all(api, "/api/v1/namespaces/default/pods")
            lists.append(time.perf_counter() - begin)
        row = ScaleRow(pods, nodes, rate, to_running, running, _p(gets, 0.99) * 1000,
                       _p(idle, 0.99) * 1000, statistics.median(lists), _rss_mib(info.pid),
                       cpu)
        print(f"# {pods} pods on {nodes} nodes: {running} Running after {to_running:.1f}s "
              f"({cpu:.1f}s of daemon CPU)", flush=True)
        return row
    finally:
        daemon.stop(state)


def scale(rows: tuple[tuple[int, int], ...] = SCALE_ROWS,
          deployment: bool = False) -> list[report.Figure]:
    measured = {(r.pods, r.nodes): r for r in (scale_row(p, n, deployment) for p, n in rows)}
    base = measured.get((500, 50))
    figures = []
    for (pods, nodes), row in measured.items():
        tag = f"{pods} pods / {nodes} nodes" + (" (Deployment)" if deployment else "")
        linear = base.to_running * pods / 500 if base is not None and nodes == 50 else 0.0
        linear_cpu = base.cpu_seconds * pods / 500 if base is not None and nodes == 50 \
            else 0.0
        figures += [
            report.figure(f"create pods/s, {tag}", row.create_rate, "pods/s", 0.0),
            report.figure(f"to all Running ({row.running}), {tag}", row.to_running, "s",
                          linear),
            report.figure(f"daemon CPU to all Running, {tag}", row.cpu_seconds, "s",
                          linear_cpu),
            report.figure(f"GET pod p99, {tag}", row.get_p99, "ms", row.idle_get_p99),
            report.figure(f"LIST all pods (chunked), {tag}", row.list_seconds * 1000, "ms",
                          0.0),
            report.figure(f"RSS, {tag}", row.rss_mib, "MiB", 0.0),
        ]
    return figures


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    rows = SCALE_ROWS
    if "--rows" in args:
        wanted = args[args.index("--rows") + 1].split(",")
        rows = tuple((int(p), int(n)) for p, n in (w.split("x") for w in wanted))
    if "scale" in args:
        deployment = "--deployment" in args
        report.write("bench_load_scale_deployment" if deployment else "bench_load_scale",
                     scale(rows, deployment))
        return
    figures = get_with_busy_pods() + watch_lag() + scale(rows)
    report.write("bench_load", figures)


if __name__ == "__main__":
    main()
