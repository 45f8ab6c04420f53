"""Soak: pods created and deleted in a loop; the daemon's RSS, the datastore's size and the
live Event count, printed per round. ``make soak`` runs the big version (5,000 pods); the
slow test ``tests/sandbox/server/test_soak.py`` a small one.

What should level off: Events expire after ``--event-ttl`` (the soak sets a short TTL through
``KUBELAB_EVENT_TTL`` so expiry happens within the run), compaction frees datastore pages
that later writes reuse, and the watch cache holds only live objects.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubelab.sandbox import daemon
from kubelab.sandbox.clock import RealClock

NS = "/api/v1/namespaces/default"


@dataclass
class Round:
    pods: int
    seconds: float
    rss_mib: float
    datastore_mib: float
    events: int


class _Client:
    def __init__(self, info: daemon.ServerInfo) -> None:
        self.info = info
        self.ctx = ssl.create_default_context(cadata=daemon.ca_of(info.state_dir).decode())

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.info.url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.info.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=60) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _datastore_mib(state_dir: Path) -> float:
    return sum(p.stat().st_size for p in state_dir.glob("etcd.sqlite*")) / 2**20


def _wait(predicate: Any, budget: float) -> None:
    deadline = time.monotonic() + budget
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the sandbox did not converge in time")
        RealClock.blocking_sleep(0.2)


def churn(info: daemon.ServerInfo, *, pods: int, batch: int) -> list[Round]:
    """Create ``batch`` pods, wait until they run, delete them, wait until they are gone;
    repeat until ``pods`` pods went through; one :class:`Round` per batch."""
    client = _Client(info)
    rounds: list[Round] = []
    done = 0
    start = time.monotonic()
    while done < pods:
        names = [f"soak-{done + i}" for i in range(batch)]
        for name in names:
            status, body = client.call("POST", f"{NS}/pods", {
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name,
                                                                "labels": {"soak": "1"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}],
                         "terminationGracePeriodSeconds": 1}})
            assert status == 201, body

        def running() -> bool:
            _, listed = client.call("GET", f"{NS}/pods?labelSelector=soak%3D1")
            return sum(p.get("status", {}).get("phase") == "Running"
                       for p in listed["items"]) >= batch

        _wait(running, 120)
        status, _ = client.call("DELETE", f"{NS}/pods?labelSelector=soak%3D1")
        assert status == 200

        def gone() -> bool:
            _, listed = client.call("GET", f"{NS}/pods?labelSelector=soak%3D1")
            return not listed["items"]

        _wait(gone, 120)
        done += batch
        _, events = client.call("GET", "/api/v1/events")
        rounds.append(Round(done, time.monotonic() - start, _rss_mib(info.pid),
                            _datastore_mib(info.state_dir), len(events["items"])))
    return rounds


def report(rounds: list[Round]) -> str:
    lines = [f"{'pods':>6} {'seconds':>8} {'RSS MiB':>8} {'store MiB':>9} {'events':>7}"]
    lines += [f"{r.pods:>6} {r.seconds:>8.1f} {r.rss_mib:>8.1f} {r.datastore_mib:>9.2f} "
              f"{r.events:>7}" for r in rounds]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--speed", type=float, default=50)
    parser.add_argument("--event-ttl", type=float, default=300,
                        help="simulated seconds (default 300: 6 real seconds at speed 50)")
    args = parser.parse_args(argv)
    os.environ["KUBELAB_EVENT_TTL"] = str(args.event_ttl)
    with tempfile.TemporaryDirectory(prefix="kubelab-soak-") as tmp:
        info = daemon.start(Path(tmp) / "state", speed=args.speed)
        try:
            rounds = churn(info, pods=args.pods, batch=args.batch)
        finally:
            daemon.stop(Path(tmp) / "state")
    print(report(rounds))
    half = rounds[len(rounds) // 2]
    print(f"second half: RSS {rounds[-1].rss_mib - half.rss_mib:+.1f} MiB, datastore "
          f"{rounds[-1].datastore_mib - half.datastore_mib:+.2f} MiB, live Events at the end "
          f"{rounds[-1].events}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
