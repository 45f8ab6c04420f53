"""Image references, normalised the way containerd names them.

Mirrors the reference grammar of ``github.com/distribution/reference`` (``ParseNormalizedNamed``):
a name without a registry lives on ``docker.io``, a single-component name on Docker Hub is
under ``library/``, and a missing tag means ``latest``. So ``nginx``, ``nginx:latest`` and
``docker.io/library/nginx:latest`` are the same image, which is what
``status.containerStatuses[].image`` shows on a containerd node.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_NAME_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME_RE = re.compile(rf"^{_NAME_COMPONENT}(?:/{_NAME_COMPONENT})*$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")


class InvalidImageName(ValueError):
    """The reference cannot be parsed (the kubelet's ``InvalidImageName`` waiting reason)."""


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference: ``registry/repository`` plus a tag or a digest."""

    registry: str
    repository: str
    tag: str = "latest"
    digest: str = ""

    @property
    def name(self) -> str:
        """``docker.io/library/nginx``: the repository with its registry."""
        return f"{self.registry}/{self.repository}"

    @property
    def full(self) -> str:
        """``docker.io/library/nginx:latest`` (or ``…@sha256:…``)."""
        if self.digest:
            return f"{self.name}@{self.digest}"
        return f"{self.name}:{self.tag}"

    def image_id(self) -> str:
        """``repo@sha256:<64 hex>`` for ``imageID``: a stable digest derived from the name."""
        if self.digest:
            return f"{self.name}@{self.digest}"
        digest = hashlib.sha256(self.full.encode()).hexdigest()
        return f"{self.name}@sha256:{digest}"


def parse(reference: str) -> ImageRef:
    """Parse and normalise ``reference``; raise :class:`InvalidImageName` when malformed."""
    text = reference.strip()
    if not text or text != reference or any(c.isupper() for c in text.split("@")[0].split(":")[0]):
        raise InvalidImageName(f'Failed to apply default image tag "{reference}": '
                               f"couldn't parse image name \"{reference}\": invalid reference format")
    name, _, digest = text.partition("@")
    tag = ""
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, _, tag = name.rpartition(":")
        if not tag:
            raise InvalidImageName(f'Failed to apply default image tag "{reference}": '
                                   f"couldn't parse image name \"{reference}\": "
                                   "invalid reference format")
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, rest
    else:
        registry, repository = "docker.io", name
    if registry == "docker.io" and "/" not in repository:
        repository = f"library/{repository}"
    if (not _NAME_RE.match(repository) or (tag and not _TAG_RE.match(tag))
            or (digest and not _DIGEST_RE.match(digest))):
        raise InvalidImageName(f'Failed to apply default image tag "{reference}": '
                               f"couldn't parse image name \"{reference}\": invalid reference format")
    return ImageRef(registry, repository, tag or ("" if digest else "latest"), digest)
