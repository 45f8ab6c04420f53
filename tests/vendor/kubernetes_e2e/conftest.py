"""Makes the vendored suite importable as it is upstream, without changing its files.

Upstream the suite lives inside the client's source tree and imports itself as
``kubernetes.e2e_test``; the installed client has no such subpackage, so the package's
search path is extended with this directory's ``kubernetes/`` (the installed modules still
come first). Only the child pytest that runs the suite loads this file.
"""

from __future__ import annotations

from pathlib import Path

import kubernetes

kubernetes.__path__.append(str(Path(__file__).parent / "kubernetes"))
