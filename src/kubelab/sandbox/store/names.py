"""Random name suffixes and uids, as the API server generates them.

``generateName`` gets 5 characters from the alphabet of
``k8s.io/apimachinery/pkg/util/rand`` (no vowels, no look-alike digits), as in
``apiserver/pkg/storage/names``. One seeded ``random.Random`` makes runs reproducible in tests.
"""

from __future__ import annotations

import random
import uuid

ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


class NameGenerator:
    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed)

    def suffix(self, n: int = 5) -> str:
        return "".join(self._rng.choice(ALPHABET) for _ in range(n))

    def uid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def hex(self, n: int) -> str:
        return "".join(self._rng.choice("0123456789abcdef") for _ in range(n))
