"""The OpenAPI documents and model facts kept on disk between sandboxes.

What matters: a second sandbox serves the same documents and hashes without importing the
client's models (the second it saves is the point), a code change never serves a stale
document, and a cache folder someone else could write is ignored.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubelab.sandbox.api import openapi, openapi_cache

# One sandbox's first requests in a fresh interpreter: the /openapi/v3 index and a document,
# Table column descriptions (kubectl get) and strict field validation (kubectl apply).
FIRST_REQUESTS = """
import json, sys
from kubelab.sandbox.api import fieldcheck, kinds, openapi, tables
root = openapi.v3_root()
doc = openapi.v3_group_version("apis/apps/v1")
columns = tables.column_definitions(kinds.by_kind("v1", "Pod"))
unknown = fieldcheck.unknown_fields("apps/v1", "Deployment", {"spec": {"replcias": 3}})
openapi.keep_model_facts()
print(json.dumps({"root": root, "doc_title": doc["info"]["title"], "columns": columns,
                  "unknown": unknown,
                  "models_imported": "kubernetes.client.models" in sys.modules}))
"""


def first_requests(cache_home: Path) -> dict[str, object]:
    env = dict(os.environ, XDG_CACHE_HOME=str(cache_home))
    proc = subprocess.run([sys.executable, "-c", FIRST_REQUESTS], env=env, check=True,
                          capture_output=True, text=True, timeout=300)
    result: dict[str, object] = json.loads(proc.stdout)
    return result


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    yield home


def test_a_second_sandbox_answers_from_disk_without_the_client_models(cache_home: Path) -> None:
    first = first_requests(cache_home)
    assert first["models_imported"] is True  # nothing on disk yet: derived from the models
    folders = list((cache_home / "kubelab").glob("openapi-v3-*"))
    assert len(folders) == 1
    assert (folders[0] / "api_v1.json").exists() and (folders[0] / "models.json").exists()
    assert oct((cache_home / "kubelab").stat().st_mode & 0o777) == "0o700"
    assert all(p.stat().st_mode & 0o077 == 0 for p in folders[0].iterdir())

    second = first_requests(cache_home)
    assert second["models_imported"] is False
    assert second == {**first, "models_imported": False}
    assert second["unknown"] == ["spec.replcias"]


def test_documents_and_hashes_round_trip(cache_home: Path) -> None:
    doc, digest = {"openapi": "3.0.0", "paths": {"/x": {}}}, "AB" * 64
    openapi_cache.save("apis/example.com/v1", doc, digest)
    assert openapi_cache.load("apis/example.com/v1") == (doc, digest)
    assert openapi_cache.load("apis/example.com/v2") is None


def test_another_code_version_reads_another_folder(cache_home: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    openapi_cache.save("api/v1", {"paths": {}}, "00")
    monkeypatch.setattr(openapi_cache, "fingerprint", lambda: "another-version")
    assert openapi_cache.load("api/v1") is None


def test_the_fingerprint_follows_the_sources() -> None:
    # Every module the documents are derived from lies in the fingerprinted package.
    package = Path(openapi_cache.__file__).parent
    for module in (openapi, sys.modules["kubelab.sandbox.api.kinds"],
                   sys.modules["kubelab.sandbox.api.openapi_descriptions"]):
        assert Path(str(module.__file__)).parent == package
    assert openapi_cache.fingerprint() == openapi_cache.fingerprint()


def test_a_folder_others_may_enter_is_ignored(cache_home: Path) -> None:
    openapi_cache.save("api/v1", {"paths": {}}, "00")
    folder = next((cache_home / "kubelab").glob("openapi-v3-*"))
    os.chmod(folder, 0o755)
    assert openapi_cache.load("api/v1") is None
    os.chmod(folder, 0o700)
    assert openapi_cache.load("api/v1") == ({"paths": {}}, "00")


def test_a_damaged_file_is_a_miss(cache_home: Path) -> None:
    openapi_cache.save("api/v1", {"paths": {}}, "00")
    folder = next((cache_home / "kubelab").glob("openapi-v3-*"))
    (folder / "api_v1.json").write_text('{"hash": "00", "doc": ')
    assert openapi_cache.load("api/v1") is None
    (folder / "api_v1.json").write_text('{"hash": 1, "doc": {}}')
    assert openapi_cache.load("api/v1") is None


def test_old_code_versions_are_pruned(cache_home: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(5):
        monkeypatch.setattr(openapi_cache, "fingerprint", lambda i=i: f"version{i}")
        openapi_cache.save("api/v1", {"paths": {}}, str(i))
        folder = cache_home / "kubelab" / f"openapi-v3-version{i}"
        os.utime(folder, (1_000_000 + i, 1_000_000 + i))
    left = sorted(p.name for p in (cache_home / "kubelab").glob("openapi-v3-*"))
    assert left == [f"openapi-v3-version{i}" for i in (2, 3, 4)]


def test_an_unwritable_cache_only_means_building_again(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    openapi_cache.save("api/v1", {"paths": {}}, "00")  # no exception
    assert openapi_cache.load("api/v1") is None


# After a sandbox's warm-up: the strict decoding of the kinds written through subresources.
SUBRESOURCE_WRITES = """
import json, sys
from kubelab.sandbox import cluster
from kubelab.sandbox.api import fieldcheck
if sys.argv[1] == "warm":
    cluster._warm_up()
print(json.dumps({
    "eviction": fieldcheck.unknown_fields("policy/v1", "Eviction",
                                          {"metadata": {"name": "p"}, "deleteOption": {}}),
    "scale": fieldcheck.unknown_fields("autoscaling/v1", "Scale", {"spec": {"replicas": 2}}),
    "models_imported": "kubernetes.client.models" in sys.modules}))
"""


def test_the_warm_up_keeps_the_models_of_kinds_written_through_subresources(
        cache_home: Path) -> None:
    """kubectl drain's Eviction and kubectl scale's Scale: the next sandbox decodes them
    from the facts on disk, without the half-second import of the client's models."""
    env = dict(os.environ, XDG_CACHE_HOME=str(cache_home))

    def run(mode: str) -> dict[str, object]:
        proc = subprocess.run([sys.executable, "-c", SUBRESOURCE_WRITES, mode], env=env,
                              check=True, capture_output=True, text=True, timeout=300)
        result: dict[str, object] = json.loads(proc.stdout.splitlines()[-1])
        return result

    warm = run("warm")
    assert warm["eviction"] == ["deleteOption"] and warm["scale"] == []
    later = run("request")
    assert later == {**warm, "models_imported": False}
