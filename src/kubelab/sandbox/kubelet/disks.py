"""Where a volume's files live: the node's disks, and a container's view of them.

On a real node a PersistentVolume is a directory the kubelet bind-mounts into the container
(kind's local-path volumes: ``/var/local-path-provisioner/pvc-…`` on the node), and an
``emptyDir`` is a directory under ``/var/lib/kubelet/pods/<uid>/volumes`` that lives as long
as the pod — across container restarts, shared by the pod's containers, removed with the pod.
What a container writes under such a mount is written *there*, not into the container's own
layer, so it outlives the container.

The sandbox keeps these directories in memory: :class:`Disks` holds each persistent volume's
files (keyed by the PersistentVolume's uid, so a volume deleted and re-created under the same
name starts empty, and a Retained volume bound to a new claim keeps its data), shared by every
node of the sandbox (a volume's node affinity, checked by the scheduler, keeps its pods on its
node as upstream; a sandbox restart loses them, as it loses every container); a pod's emptyDir
files live in its runtime record. :class:`MountedFiles` is a container's file table whose
writes under a mount path also go to that volume's directory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class Disks:
    """Every persistent volume's files (relative path → content), by volume uid."""

    def __init__(self) -> None:
        self._volumes: dict[str, dict[str, str]] = {}

    def volume(self, key: str) -> dict[str, str]:
        """The volume's directory (created empty on first use, as ``DirectoryOrCreate``)."""
        return self._volumes.setdefault(key, {})

    def __contains__(self, key: object) -> bool:
        return key in self._volumes


@dataclass(frozen=True)
class Mount:
    """One writable mount: the container path, the sub-path inside the volume, its files."""

    path: str
    sub_path: str
    files: dict[str, str]

    def relative(self, path: str) -> str | None:
        """The volume-relative key of a container path under this mount, else None."""
        prefix = self.path.rstrip("/") + "/"
        if not path.startswith(prefix) or path == prefix:
            return None
        rel = path[len(prefix):]
        return f"{self.sub_path.strip('/')}/{rel}" if self.sub_path else rel


class MountedFiles(dict[str, str]):
    """A container's files where a write under a writable volume's mount path is also
    written to the volume (the bind mount), so the next container to mount it sees it."""

    def __init__(self, files: Mapping[str, str] | Iterable[tuple[str, str]] = (),
                 mounts: Iterable[Mount] = ()) -> None:
        super().__init__(files)
        # The deepest mount wins, as a nested bind mount hides the one above it.
        self._mounts = sorted(mounts, key=lambda m: -len(m.path))

    def _target(self, path: str) -> tuple[dict[str, str], str] | None:
        for mount in getattr(self, "_mounts", ()):
            rel = mount.relative(path)
            if rel is not None:
                return mount.files, rel
        return None

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key, value)
        target = self._target(key)
        if target is not None:
            target[0][target[1]] = value

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        target = self._target(key)
        if target is not None:
            target[0].pop(target[1], None)

    def pop(self, key: str, *default: Any) -> Any:  # type: ignore[override]
        target = self._target(key)
        if target is not None:
            target[0].pop(target[1], None)
        return super().pop(key, *default)

    def setdefault(self, key: str, default: str = "") -> str:  # type: ignore[override]
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def clear(self) -> None:
        for key in list(self):
            del self[key]
