"""Every acknowledged write survives ``kill -9``, and watches resume from their revision.

etcd (and kine, which the store mirrors) acknowledges a write only once it is in the log; a
client that got ``201``/``200`` with a resourceVersion may rely on it after any crash. The
test drives a burst of creates and updates from a thread, SIGKILLs the daemon mid-burst,
restarts it on the same state directory and checks: every acknowledged write is there with at
least its resourceVersion, and a watch from an acknowledged revision replays exactly the
writes after it, in order.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sandbox_support import SandboxHandle, start_sandbox

from kubelab.sandbox import daemon

CM = "/api/v1/namespaces/default/configmaps"


@dataclass
class Write:
    name: str
    value: str
    kind: str  # "ADDED" or "MODIFIED"
    rv: int = 0  # set once acknowledged


@dataclass
class Burst:
    """The writer's record: every attempt, and which ones the server acknowledged."""

    attempts: list[Write] = field(default_factory=list)
    acked: list[Write] = field(default_factory=list)
    error: str = ""


def _connection(handle: SandboxHandle) -> http.client.HTTPSConnection:
    ctx = ssl.create_default_context(cadata=daemon.ca_of(handle.state_dir).decode())
    return http.client.HTTPSConnection("127.0.0.1", handle.info.port, context=ctx, timeout=10)


def _write_burst(handle: SandboxHandle, burst: Burst, stop: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {handle.info.token}",
               "Content-Type": "application/json", "Accept": "application/json"}
    conn = _connection(handle)
    created: list[str] = []
    try:
        for i in range(100_000):
            if stop.is_set():
                return
            if i % 3 == 2 and created:  # every third write updates an earlier object
                name = created[(i * 7) % len(created)]
                write = Write(name, f"v{i}", "MODIFIED")
                method, path = "PATCH", f"{CM}/{name}"
                body = {"data": {"value": write.value}}
                sent = dict(headers, **{"Content-Type": "application/merge-patch+json"})
            else:
                name = f"burst-{i}"
                write = Write(name, f"v{i}", "ADDED")
                method, path = "POST", CM
                body = {"metadata": {"name": name}, "data": {"value": write.value}}
                sent = headers
            burst.attempts.append(write)
            conn.request(method, path, json.dumps(body), sent)
            response = conn.getresponse()
            answer = json.loads(response.read())
            if response.status not in (200, 201):
                burst.error = f"{response.status}: {answer}"
                return
            write.rv = int(answer["metadata"]["resourceVersion"])
            burst.acked.append(write)
            if write.kind == "ADDED":
                created.append(name)
    except (OSError, http.client.HTTPException, ValueError):
        return  # the server died under us: expected
    finally:
        conn.close()


def _start(state_dir: Path) -> SandboxHandle:
    before = os.environ.get("KUBELAB_COMPONENTS")
    os.environ["KUBELAB_COMPONENTS"] = "0"  # only our writes touch the store
    try:
        return start_sandbox(state_dir)
    finally:
        if before is None:
            del os.environ["KUBELAB_COMPONENTS"]
        else:
            os.environ["KUBELAB_COMPONENTS"] = before


@pytest.fixture
def crashed(tmp_path: Path) -> Iterator[tuple[SandboxHandle, Burst]]:
    state_dir = tmp_path / "sandbox"
    first = _start(state_dir)
    burst, stop = Burst(), threading.Event()
    writer = threading.Thread(target=_write_burst, args=(first, burst, stop), daemon=True)
    writer.start()
    deadline = time.monotonic() + 30
    while len(burst.acked) < 300 and time.monotonic() < deadline and writer.is_alive():
        time.sleep(0.005)
    assert not burst.error, burst.error
    assert len(burst.acked) >= 300, "the burst did not get going"
    os.kill(first.info.pid, signal.SIGKILL)  # mid-burst: the writer is still sending
    with contextlib.suppress(ChildProcessError):  # reap it when this process started it
        os.waitpid(first.info.pid, 0)
    writer.join(timeout=15)
    stop.set()
    assert not writer.is_alive()
    waited = time.monotonic() + 10
    while daemon.running(state_dir) is not None and time.monotonic() < waited:
        time.sleep(0.02)
    second = _start(state_dir)
    assert second.info.pid != first.info.pid
    yield second, burst
    second.stop()


def test_every_acknowledged_write_survives_sigkill(crashed: tuple[SandboxHandle, Burst]) -> None:
    handle, burst = crashed
    last_acked: dict[str, Write] = {}
    for write in burst.acked:
        last_acked[write.name] = write
    later_values: dict[str, set[str]] = {}
    for write in burst.attempts:  # values an unacknowledged, in-flight write may have left
        later_values.setdefault(write.name, set()).add(write.value)
    status, listed = handle.request("GET", CM)
    assert status == 200
    live = {item["metadata"]["name"]: item for item in listed["items"]}
    missing = [name for name in last_acked if name not in live]
    assert not missing, f"{len(missing)} acknowledged creates lost, e.g. {missing[:5]}"
    for name, write in last_acked.items():
        obj = live[name]
        assert int(obj["metadata"]["resourceVersion"]) >= write.rv, name
        value = obj["data"]["value"]
        if int(obj["metadata"]["resourceVersion"]) == write.rv:
            assert value == write.value, name
        else:  # only a write attempted after the acknowledged one may have replaced it
            attempted_after = [w.value for w in burst.attempts
                               if w.name == name and (w.rv == 0 or w.rv > write.rv)]
            assert value in attempted_after, name
    # The server keeps serving writes after the restart, with later revisions.
    status, created = handle.request("POST", CM, {"metadata": {"name": "after-restart"}})
    assert status == 201
    assert int(created["metadata"]["resourceVersion"]) > max(w.rv for w in burst.acked)


def _watch_events(handle: SandboxHandle, resource_version: int) -> list[tuple[str, str, int]]:
    conn = _connection(handle)
    try:
        conn.request("GET", f"{CM}?watch=true&resourceVersion={resource_version}"
                            "&timeoutSeconds=2",
                     headers={"Authorization": f"Bearer {handle.info.token}"})
        response = conn.getresponse()
        assert response.status == 200
        events = []
        for line in response.read().decode().splitlines():
            if line.strip():
                event = json.loads(line)
                meta = event["object"]["metadata"]
                events.append((event["type"], meta["name"], int(meta["resourceVersion"])))
        return events
    finally:
        conn.close()


def test_watch_from_an_acknowledged_revision_replays_exactly_the_later_writes(
        crashed: tuple[SandboxHandle, Burst]) -> None:
    handle, burst = crashed
    start = burst.acked[len(burst.acked) // 2].rv
    events = _watch_events(handle, start)
    later_acked = [(w.kind, w.name, w.rv) for w in burst.acked if w.rv > start]
    # In-flight writes at the kill may or may not have been committed; nothing else may show.
    in_flight = {(w.kind, w.name) for w in burst.attempts if w.rv == 0}
    assert [e for e in events if e[2] <= start] == []
    assert [rv for _, _, rv in events] == sorted({rv for _, _, rv in events}), "out of order"
    acknowledged_events = [e for e in events if (e[0], e[1], e[2]) in set(later_acked)]
    assert acknowledged_events == later_acked
    extra = [e for e in events if e not in acknowledged_events]
    assert all((kind, name) in in_flight for kind, name, _ in extra), extra
