"""Benchmark figures printed beside the floor measured in the same run, and kept as JSON.

A figure alone says little on a shared 2-core machine; the floor (the same work done by
the simplest server that could answer it, measured minutes apart on the same machine) turns
it into a ratio that is comparable between runs and machines.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    floor: float
    ratio: float


def figure(name: str, value: float, unit: str, floor: float) -> Figure:
    """A measurement and its floor; ratio = value / floor (0 when the floor is 0)."""
    ratio = value / floor if floor else 0.0
    return Figure(name, round(value, 3), unit, round(floor, 3), round(ratio, 3))


def line(fig: Figure) -> str:
    return (f"{fig.name:<34} {fig.value:>12.3f} {fig.unit:<10} floor {fig.floor:>12.3f}  "
            f"ratio {fig.ratio:>7.3f}")


def write(module: str, figures: list[Figure], directory: Path = RESULTS) -> Path:
    """Print every figure and write ``<directory>/<module>.json``; returns the path."""
    for fig in figures:
        print(line(fig), flush=True)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{module}.json"
    path.write_text(json.dumps([asdict(f) for f in figures], indent=2) + "\n")
    return path
