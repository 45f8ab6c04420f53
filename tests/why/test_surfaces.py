"""The surfaces of kubelab.why: gather() over an ApiClient, Cluster.why, the %why magic and
the command-line parser — with an in-memory ApiClient serving a captured scenario."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from kubelab import magics
from kubelab.connect import Cluster
from kubelab.why import Objects, gather
from kubelab.why import cli as why_cli
from kubelab.why import fetch as why_fetch

SANDBOX = Path(__file__).parent / "fixtures" / "sandbox"


class _Response:
    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.data = (body if isinstance(body, str) else json.dumps(body)).encode()

    def read(self) -> bytes:
        return self.data


class FakeApiClient:
    """Serves a captured scenario's objects at their REST paths, as the API server does."""

    def __init__(self, scenario: str, logs: dict[str, str] | None = None) -> None:
        record = json.loads((SANDBOX / f"{scenario}.json").read_text())
        self.ns = record["namespace"]
        self.objects = Objects.from_dict(record["objects"])
        self.logs = logs or {}
        self.paths: list[str] = []

    def param_serialize(self, method: str, path: str, query_params: list[tuple[str, str]],
                        auth_settings: list[str]) -> tuple[Any, ...]:
        return (method, path, dict(query_params), None, None)

    def call_api(self, method: str, path: str, query: dict[str, str], body: Any, post: Any,
                 _request_timeout: float = 0) -> _Response:
        self.paths.append(path)
        parts = urlsplit(path).path.strip("/").split("/")
        if parts[-1] == "log":
            key = f"{parts[-2]}/{query.get('container')}"
            assert query.get("previous") == "true"
            return _Response(200, self.logs[key]) if key in self.logs \
                else _Response(400, {"kind": "Status"})
        if parts == ["api", "v1", "nodes"]:
            return _Response(200, {"items": self.objects.nodes})
        assert parts[-2] == self.ns or parts[-3] == "namespaces", path
        if parts[-2] != self.ns:
            return _Response(200, {"items": []})
        items = getattr(self.objects, parts[-1], None)
        if items is None:
            return _Response(403, {"kind": "Status", "reason": "Forbidden"})
        return _Response(200, {"items": items})


def test_gather_reads_the_namespace_and_previous_logs() -> None:
    client = FakeApiClient("crash-exit-3", logs={"crasher/app": "starting the app\n"
                                                 "cannot open /data/db\n"})
    objects = gather(client, "pod/crasher", client.ns)
    assert [p["metadata"]["name"] for p in objects.pods] == ["crasher"]
    assert objects.previous_logs == {"crasher/app": "starting the app\ncannot open /data/db\n"}
    assert "/api/v1/nodes" in client.paths
    assert f"/apis/discovery.k8s.io/v1/namespaces/{client.ns}/endpointslices" in client.paths


def test_cluster_why_uses_the_clusters_client() -> None:
    client = FakeApiClient("missing-key")
    cluster = Cluster(Path("unused-kubeconfig"), None, _api_client=client)
    found = cluster.why("pod/greeter", client.ns)
    assert found.reason == "MissingKey"
    assert "key greting" in found.problem


def test_node_targets_read_only_nodes() -> None:
    client = FakeApiClient("node-not-ready")
    cluster = Cluster(Path("unused-kubeconfig"), None, _api_client=client)
    assert cluster.why("node/kubelab-worker2").reason == "NodeNotReady"
    assert client.paths == ["/api/v1/nodes"]


def test_why_magic_shows_rich_output(monkeypatch: pytest.MonkeyPatch) -> None:
    client = FakeApiClient("svc-selects-nothing")
    cluster = Cluster(Path("unused-kubeconfig"), None, _api_client=client)
    monkeypatch.setattr("kubelab.connect._current", cluster)
    shown: list[dict[str, str]] = []
    monkeypatch.setattr("IPython.display.display",
                        lambda data, raw=False: shown.append(data))
    magics.why_line(f"svc/web -n {client.ns}")
    assert len(shown) == 1
    assert shown[0]["text/plain"].startswith("✗ Service web has no endpoints")
    assert "<code>kubectl get pods -l app=wbe" in shown[0]["text/html"]


def test_why_magic_never_raises_on_bad_input(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    def no_cluster() -> None:
        raise AssertionError("a bad target must not reach the cluster")

    monkeypatch.setattr("kubelab.connect.current", no_cluster)
    magics.why_line("configmap/x")
    magics.why_line("--bogus")
    magics.why_line("--help")
    out, err = capsys.readouterr()
    assert "%why: cannot diagnose 'configmap/x'" in out
    assert "%why:" in out and "usage" in out
    assert err == ""


def test_magic_is_registered() -> None:
    registered: dict[str, Any] = {}

    class Shell:
        def register_magic_function(self, fn: Any, magic_kind: str, magic_name: str) -> None:
            registered[f"{magic_kind}:{magic_name}"] = fn

    magics.load_ipython_extension(Shell())
    assert registered["line:why"] is magics.why_line


def test_fetch_error_is_reported(monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    class Down:
        def param_serialize(self, *a: Any, **k: Any) -> tuple[Any, ...]:
            return ()

        def call_api(self, *a: Any, **k: Any) -> Any:
            raise ConnectionRefusedError("refused")

    monkeypatch.setattr("kubelab.connect._current",
                        Cluster(Path("unused"), None, _api_client=Down()))
    with pytest.raises(why_fetch.FetchError, match="did not answer"):
        why_fetch.why("pod/x")
    magics.why_line("pod/x")
    assert "Re-run the lesson's first cell" in capsys.readouterr().out


def test_cli_parser() -> None:
    args = why_cli.parser().parse_args(["deploy/web", "-n", "team-b", "--json"])
    assert (args.target, args.namespace, args.json) == ("deploy/web", "team-b", True)
