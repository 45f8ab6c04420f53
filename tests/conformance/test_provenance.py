"""Every conformance golden says where its expected output comes from.

A golden file is what a real cluster prints, not what the sandbox happened to print once; the
record that makes this checkable is ``golden/PROVENANCE.toml``. Each of its groups names the
goldens it covers, the kind of source (a published real cluster's output, upstream's code or
tests, or a sandbox snapshot reviewed against named upstream code), and the citations a
reviewer follows. This test fails when a golden has no entry, an entry names a golden that
does not exist, or an entry names no source.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "golden"
INDEX = GOLDEN / "PROVENANCE.toml"
NOT_GOLDEN = {"PROVENANCE.toml", "README.md"}

SOURCES = {"real-cluster", "upstream", "sandbox-snapshot"}
KEYS = {"goldens", "source", "cites", "reviewed_against", "what"}
# A citation is a page (https://...) or a path in an upstream repository ("owner/repo:path").
_URL = re.compile(r"^https://[^\s/]+\.[^\s/]+/\S*$")
_REPO_PATH = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+:[A-Za-z0-9_./#-]+")


def golden_files(directory: Path) -> set[str]:
    """Paths of golden files relative to ``directory``, as the index spells them."""
    return {p.relative_to(directory).as_posix() for p in directory.rglob("*")
            if p.is_file() and p.name not in NOT_GOLDEN}


def _is_citation(text: Any, *, annotated: bool = False) -> bool:
    if not isinstance(text, str):
        return False
    if _URL.match(text):
        return True
    match = _REPO_PATH.match(text)
    if match is None:
        return False
    rest = text[match.end():]
    return rest == "" or (annotated and rest.startswith(" (") and rest.endswith(")"))


def problems(index: dict[str, Any], files: set[str]) -> list[str]:
    """Everything wrong with ``index`` as the provenance of ``files``; empty when complete."""
    found: list[str] = []
    groups = index.get("group")
    if not isinstance(groups, list) or not groups:
        return ["the index has no [[group]] entries"]
    listed: Counter[str] = Counter()
    for number, group in enumerate(groups, 1):
        goldens = group.get("goldens")
        label = f"group {number} ({', '.join(goldens[:2]) if isinstance(goldens, list) else '?'})"
        unknown = set(group) - KEYS
        if unknown:
            found.append(f"{label}: unknown keys {sorted(unknown)}")
        if not isinstance(goldens, list) or not goldens:
            found.append(f"{label}: names no goldens")
            goldens = []
        listed.update(g for g in goldens if isinstance(g, str))
        source = group.get("source")
        if source not in SOURCES:
            found.append(f"{label}: source must be one of {sorted(SOURCES)}, not {source!r}")
        cites = group.get("cites")
        if not isinstance(cites, list) or not cites:
            found.append(f"{label}: cites no source")
        else:
            found.extend(f"{label}: {c!r} is neither https://... nor owner/repo:path"
                         for c in cites if not _is_citation(c))
        reviewed = group.get("reviewed_against")
        if source == "sandbox-snapshot":
            if not isinstance(reviewed, list) or not reviewed:
                found.append(f"{label}: a sandbox snapshot must name the upstream code it was "
                             "reviewed against")
            else:
                found.extend(f"{label}: reviewed_against {r!r} names no owner/repo:path"
                             for r in reviewed if not _is_citation(r, annotated=True))
        elif reviewed is not None:
            found.append(f"{label}: reviewed_against belongs to sandbox-snapshot entries")
        what = group.get("what")
        if not isinstance(what, str) or not what.strip():
            found.append(f"{label}: 'what' must say what the source fixes")
    found.extend(f"{name}: golden has no provenance entry" for name in sorted(files - set(listed)))
    found.extend(f"{name}: entry names a golden that does not exist"
                 for name in sorted(set(listed) - files))
    found.extend(f"{name}: listed in {count} groups" for name, count in sorted(listed.items())
                 if count > 1)
    return found


def test_every_golden_has_a_provenance_entry_naming_its_source() -> None:
    index = tomllib.loads(INDEX.read_text())
    files = golden_files(GOLDEN)
    assert len(files) > 50, "the golden directory moved or is nearly empty"
    assert problems(index, files) == []


def test_the_check_refuses_a_golden_without_entry_and_an_entry_without_source() -> None:
    good = {"goldens": ["a.txt"], "source": "upstream",
            "cites": ["kubernetes/kubectl:pkg/cmd/get/get.go"], "what": "columns"}
    assert problems({"group": [good]}, {"a.txt"}) == []
    assert problems({"group": [good]}, {"a.txt", "b.txt"}) == [
        "b.txt: golden has no provenance entry"]
    assert problems({"group": [good]}, set()) == [
        "a.txt: entry names a golden that does not exist"]
    assert problems({"group": [good, good]}, {"a.txt"}) == ["a.txt: listed in 2 groups"]
    no_cites = {**good, "cites": []}
    assert problems({"group": [no_cites]}, {"a.txt"}) == ["group 1 (a.txt): cites no source"]
    vague = {**good, "cites": ["a real cluster"]}
    assert len(problems({"group": [vague]}, {"a.txt"})) == 1
    no_kind = {**good, "source": "sandbox"}
    assert len(problems({"group": [no_kind]}, {"a.txt"})) == 1
    snapshot = {**good, "source": "sandbox-snapshot"}
    assert "reviewed against" in problems({"group": [snapshot]}, {"a.txt"})[0]
    reviewed = {**snapshot, "reviewed_against": [
        "kubernetes/kubernetes:pkg/printers/internalversion/printers.go (printNode)"]}
    assert problems({"group": [reviewed]}, {"a.txt"}) == []
    assert problems({}, {"a.txt"}) == ["the index has no [[group]] entries"]

