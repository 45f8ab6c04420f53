"""The OpenAPI v3 documents kept on disk between sandboxes (a per-user cache).

Why: :mod:`kubelab.sandbox.api.openapi` derives its documents from the client's models, and
the ``/openapi/v3`` index needs every document's hash, so the first ``kubectl apply`` against a
new sandbox waits while all fifteen are built (2-3 s on a busy two-core machine, more than
the rest of that apply). Grading starts a fresh sandbox for every submission, so every
submission paid it. The documents are a pure function of this package's code and the client
library, so they are built once and kept, as kubectl keeps the documents it downloaded in its
own cache (``~/.kube/cache/discovery/<host>/openapi``), keyed by their hash.

The key is a fingerprint of what the documents are made from: the client library's version
and the source of every module of :mod:`kubelab.sandbox.api` (the kinds table, the
descriptions, the enums, the patch keys). Editing any of them, or upgrading the client, selects
a new folder, so a stale document is never served. The cache lives under
``$XDG_CACHE_HOME/kubelab`` (default ``~/.cache/kubelab``), private to the user (folders 0700,
files 0600, written atomically); any failure to read or write it only means building again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

#: Bumped when the file layout below changes.
LAYOUT = "1"
#: Folders of other code versions kept beside the current one (two checkouts, a branch switch).
KEEP = 2


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kubelab"


def _client_version() -> str:
    """The installed client's version, from its metadata: importing ``kubernetes`` to ask
    would cost a second, the very time this cache saves."""
    from importlib import metadata

    try:
        return metadata.version("kubernetes")
    except metadata.PackageNotFoundError:
        return "none"


@cache
def fingerprint() -> str:
    """A digest of the client's version and this package's sources (see the module doc)."""
    digest = hashlib.sha256(f"{LAYOUT}\0{_client_version()}\0".encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def _folder() -> Path:
    return cache_root() / f"openapi-v3-{fingerprint()}"


def _file(folder: Path, name: str) -> Path:
    return folder / (name.replace("/", "_") + ".json")


def _private_dir(path: Path) -> bool:
    """True when ``path`` is a real folder of this user that no one else may enter."""
    try:
        info = path.lstat()
    except OSError:
        return False
    return path.is_dir() and not path.is_symlink() and info.st_uid == os.geteuid() \
        and not info.st_mode & 0o077


def _prune(current: Path, keep: int = KEEP) -> None:
    """Remove all but the ``keep`` most recently made folders besides ``current`` (each code
    change in a working copy makes a new one, of about 3 MB)."""
    others = [p for p in current.parent.glob("openapi-v3-*") if p != current and _private_dir(p)]
    others.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in others[keep:]:
        shutil.rmtree(stale, ignore_errors=True)


def read(name: str) -> Any:
    """The JSON value kept under ``name``, or None."""
    folder = _folder()
    if not _private_dir(folder) or not _private_dir(folder.parent):
        return None
    try:
        return json.loads(_file(folder, name).read_text())
    except (OSError, ValueError):
        return None


def write(name: str, data: Any) -> None:
    """Keep ``data`` (JSON) under ``name``; silently does nothing where the cache is not
    writable."""
    folder = _folder()
    with contextlib.suppress(OSError, ValueError):
        folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not folder.exists():
            folder.mkdir(mode=0o700)
            _prune(folder)
        if not _private_dir(folder) or not _private_dir(folder.parent):
            return
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(data, out, separators=(",", ":"))
            os.replace(tmp, _file(folder, name))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def load(key: str) -> tuple[dict[str, Any], str] | None:
    """The cached (document, hash) of group-version ``key``, or None."""
    data = read(key)
    if not isinstance(data, dict):
        return None
    doc, digest = data.get("doc"), data.get("hash")
    if not isinstance(doc, dict) or not isinstance(digest, str):
        return None
    return doc, digest


def save(key: str, doc: dict[str, Any], digest: str) -> None:
    """Keep (document, hash) of group-version ``key``."""
    write(key, {"hash": digest, "doc": doc})
