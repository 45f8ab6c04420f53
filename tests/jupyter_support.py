"""Finding a Jupyter server a test started, without handing it a port.

A test that picks a free port and passes it to ``jupyter lab`` leaves that port free for the
seconds the server takes to import; any other listener (a sandbox's Service proxy, another
test's server) can take it and answer in its place, and the server then exits with "port in
use". So tests start servers on port 0 and read the URL back from the runtime file each
server writes once it listens (``jpserver-<pid>.json`` in ``JUPYTER_RUNTIME_DIR``).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path


def wait_for_jupyter(runtime_dir: Path, token: str, running: Callable[[], bool], *,
                     timeout: float = 90.0) -> str | None:
    """The URL (base URL included, no final slash) of the server whose runtime file is in
    ``runtime_dir`` once its ``api/status`` answers with ``token``; None when ``running()``
    turns false or ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while running() and time.monotonic() < deadline:
        for info_file in sorted(runtime_dir.glob("jpserver-*.json")):
            try:
                url = str(json.loads(info_file.read_text())["url"]).rstrip("/")
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                    return url
            except (OSError, ValueError, KeyError):
                continue
        time.sleep(0.2)
    return None
