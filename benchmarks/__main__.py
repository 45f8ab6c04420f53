"""``python -m benchmarks``: run every ``benchmarks/bench_*.py`` module found, one by one.

Each module is run in its own interpreter (``python -m benchmarks.<name>``) so one
benchmark's servers, threads and imports never skew the next one's figures. The exit code is
non-zero when any module failed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def modules(directory: Path = Path(__file__).parent) -> list[str]:
    return sorted(p.stem for p in directory.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    wanted = set(argv if argv is not None else sys.argv[1:])
    failed = []
    root = Path(__file__).resolve().parent.parent
    for name in modules():
        if wanted and name not in wanted:
            continue
        print(f"== {name}", flush=True)
        code = subprocess.call([sys.executable, "-m", f"benchmarks.{name}"], cwd=root)
        if code:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
