"""Every lesson says what it teaches, how long it takes, and ends with a recap and a cheat sheet.

Plain tests over the notebooks' markdown (no kernel, no cluster), so ``make test`` fails at
once when a lesson loses one of them. The markers, as a lesson's author writes them:

* **Objectives**: within the first three cells, a markdown cell with the line
  ``**By the end you can:**`` followed by at least two bullet points (``- …``).
* **Time and track**: in that same cell, ``**Time:** about N minutes`` and
  ``**Track:** workshop track …`` or ``**Track:** optional track …``.
* **Recap**: after the last graded cell, a markdown cell whose first line starts with
  ``## Recap`` and that has at least two bullet points.
* **Cheat sheet**: the notebook's last cell, markdown, starting with ``## Cheat sheet``, with a
  fenced ``bash`` block of ``kubectl …`` lines (``# what it does`` after each); every kubectl
  sub-command it lists (``get``, ``rollout undo``…) is one the lesson's code cells run.

The workshop track (the lessons the original one-morning workshop covers, plus the debugging
lesson) must fit a morning: at most 180 minutes in all.

**Thought, not copying**: at most half of a lesson's points may be for copying. A graded cell's
answer is the solution text of the answer cells before it (back to the previous graded cell);
it counts as *copied* when at least 80 % of its lines (blank lines and comments left out,
whitespace and a leading ``%``/``%%``/``!`` ignored) appear verbatim in what the student
notebook prints: its markdown (lines and inline code) and its code outside solution regions.
A manifest printed above its answer cell is copied; one the learner writes from a spec in
words, completes (probes added to a given Deployment) or changes (a given manifest at a new
version) is not; nor is a command or a Python answer the lesson describes but does not print.
The points are nbgrader's (``metadata.nbgrader.points`` of the graded cells).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "course" / "source"
OBJECTIVES = "**By the end you can:**"
TIME = re.compile(r"\*\*Time:\*\* about (\d+) minutes")
TRACK = re.compile(r"\*\*Track:\*\* (workshop|optional) track")
BULLET = re.compile(r"^\s*- \S", re.MULTILINE)
MORNING_MINUTES = 180
# An answer is copied when this share of its lines is printed in the lesson; a lesson may give
# at most this share of its points for copied answers.
COPIED_LINES = 0.8
COPIED_POINTS = 0.5
SOLUTION = ("### BEGIN SOLUTION", "### END SOLUTION")
# kubectl sub-commands that take a second word (kubectl rollout undo, kubectl create secret).
TWO_WORDS = {"rollout", "create", "config", "auth"}


def lessons() -> list[str]:
    return sorted(p.name for p in SOURCE.iterdir() if (p / f"{p.name}.ipynb").exists())


def cells(lesson: str, folder: Path = SOURCE) -> list[dict[str, Any]]:
    nb = json.loads((folder / lesson / f"{lesson}.ipynb").read_text())
    return [{**c, "text": "".join(c["source"])} for c in nb["cells"]]


def objectives_cell(lesson: str, folder: Path = SOURCE) -> str | None:
    for cell in cells(lesson, folder)[:3]:
        if cell["cell_type"] == "markdown" and OBJECTIVES in cell["text"]:
            return str(cell["text"])
    return None


def minutes(lesson: str) -> int:
    text = objectives_cell(lesson) or ""
    found = TIME.search(text)
    return int(found.group(1)) if found else 0


def track(lesson: str) -> str:
    found = TRACK.search(objectives_cell(lesson) or "")
    return found.group(1) if found else ""


def subcommand(words: list[str]) -> tuple[str, ...]:
    """``kubectl rollout status deployment/x`` → ``("rollout", "status")``."""
    if not words:
        return ()
    return tuple(words[:2]) if words[0] in TWO_WORDS and len(words) > 1 else (words[0],)


def used_subcommands(lesson: str) -> set[tuple[str, ...]]:
    """Every kubectl sub-command the lesson's code cells run (magics, ``!kubectl``, pipes)."""
    found: set[tuple[str, ...]] = set()
    for cell in cells(lesson):
        if cell["cell_type"] != "code":
            continue
        for match in re.finditer(r"(?:%%?|!|\|\s*)kubectl\s+([^\n|]*)", cell["text"]):
            found.add(subcommand(match.group(1).split()))
    return found


def cheat_sheet_lines(text: str) -> list[str]:
    block = re.search(r"```bash\n(.*?)```", text, re.DOTALL)
    return [ln for ln in (block.group(1).splitlines() if block else []) if ln.strip()]


@pytest.mark.parametrize("lesson", lessons())
def test_lesson_opens_with_objectives_time_and_track(lesson: str) -> None:
    text = objectives_cell(lesson)
    assert text is not None, f"{lesson}: no '{OBJECTIVES}' cell among its first three cells"
    goals = text.split(OBJECTIVES, 1)[1]
    assert len(BULLET.findall(goals)) >= 2, f"{lesson}: fewer than two objectives"
    assert minutes(lesson) > 0, f"{lesson}: no '**Time:** about N minutes'"
    assert track(lesson), f"{lesson}: no '**Track:** workshop track' or 'optional track'"


@pytest.mark.parametrize("lesson", lessons())
def test_lesson_ends_with_recap_and_cheat_sheet(lesson: str) -> None:
    all_cells = cells(lesson)
    graded = [i for i, c in enumerate(all_cells)
              if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    recaps = [i for i, c in enumerate(all_cells)
              if c["cell_type"] == "markdown" and c["text"].startswith("## Recap")]
    assert recaps, f"{lesson}: no '## Recap' cell"
    assert recaps[-1] > max(graded, default=-1), f"{lesson}: the recap comes before an exercise"
    assert len(BULLET.findall(all_cells[recaps[-1]]["text"])) >= 2, f"{lesson}: an empty recap"
    last = all_cells[-1]
    assert last["cell_type"] == "markdown" and last["text"].startswith("## Cheat sheet"), \
        f"{lesson}: the last cell is not the cheat sheet"
    rows = cheat_sheet_lines(last["text"])
    assert len(rows) >= 3, f"{lesson}: the cheat sheet lists fewer than three commands"
    used = used_subcommands(lesson)
    for row in rows:
        command, _, what = row.partition("#")
        words = command.split()
        assert words[0] in ("kubectl", "%why"), (lesson, row)
        assert what.strip(), f"{lesson}: '{command.strip()}' says not what it does"
        if words[0] == "kubectl":
            assert subcommand(words[1:]) in used, \
                f"{lesson}: the cheat sheet lists '{command.strip()}', which the lesson never runs"


def test_workshop_track_fits_a_morning() -> None:
    workshop = {lesson: minutes(lesson) for lesson in lessons() if track(lesson) == "workshop"}
    assert {"01", "08"} <= {lesson[:2] for lesson in workshop}, workshop
    assert sum(workshop.values()) <= MORNING_MINUTES, workshop


@pytest.mark.parametrize("lesson", lessons())
def test_student_notebook_keeps_the_markers(lesson: str) -> None:
    """``make release`` must not lose them: the student version is what learners see."""
    released = REPO / "notebooks"
    assert objectives_cell(lesson, released) is not None, lesson
    assert cells(lesson, released)[-1]["text"].startswith("## Cheat sheet"), lesson


def test_markers_are_detected() -> None:
    """The parsers find what they look for, and notice when it is missing."""
    assert subcommand(["rollout", "undo", "deployment/x"]) == ("rollout", "undo")
    assert subcommand(["get", "pods", "-o", "wide"]) == ("get",)
    assert cheat_sheet_lines("## Cheat sheet\n```bash\nkubectl get pods  # pods\n\n```") == [
        "kubectl get pods  # pods"]
    assert cheat_sheet_lines("## Cheat sheet\nno block") == []
    found = TIME.search("**Time:** about 25 minutes, exercises included")
    assert found is not None and found.group(1) == "25"
    assert TIME.search("Time: 25 minutes") is None
    assert len(BULLET.findall("**By the end you can:**\n\n- one;\n- two.")) == 2


def test_readme_lesson_table_matches_the_notebooks() -> None:
    """The README's lesson table states each lesson's time and track as the lesson does."""
    rows = re.findall(r"^\| (\w+) \| .* \| (\d+) min \| (workshop|optional) \|$",
                      (REPO / "README.md").read_text(), re.MULTILINE)
    table = {number: (int(mins), where) for number, mins, where in rows}
    assert table == {lesson.split("-")[0]: (minutes(lesson), track(lesson))
                     for lesson in lessons()}


def plain(line: str) -> str:
    """A line as compared for copying: no magic or shell prefix, whitespace collapsed."""
    return " ".join(re.sub(r"^(%%?|!)", "", line.strip()).split())


def split_solution(text: str) -> tuple[list[str], list[str]]:
    """A cell's lines outside and inside its ``### BEGIN/END SOLUTION`` regions."""
    given: list[str] = []
    solution: list[str] = []
    inside = False
    for line in text.splitlines():
        if line.strip() in SOLUTION:
            inside = line.strip() == SOLUTION[0]
            continue
        (solution if inside else given).append(line)
    return given, solution


def printed(all_cells: list[dict[str, Any]]) -> set[str]:
    """Every line the student notebook shows: markdown lines and inline code, code cells
    outside their solution regions."""
    shown: set[str] = set()
    for cell in all_cells:
        given, _ = split_solution(cell["text"])
        shown.update(plain(line) for line in given)
        if cell["cell_type"] == "markdown":
            shown.update(plain(code) for code in re.findall(r"`([^`\n]+)`", cell["text"]))
    shown.discard("")
    return shown


def graded_answers(all_cells: list[dict[str, Any]]) -> list[tuple[str, float, list[str]]]:
    """(grade id, points, the answer's lines) for each graded cell, its answer being the
    solution regions of the answer cells since the previous graded cell."""
    found: list[tuple[str, float, list[str]]] = []
    pending: list[str] = []
    for cell in all_cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            pending += split_solution(cell["text"])[1]
        if meta.get("grade"):
            found.append((str(meta["grade_id"]), float(meta.get("points", 0)), pending))
            pending = []
    return found


def copied(answer: list[str], shown: set[str]) -> bool:
    """Whether an answer is (at least :data:`COPIED_LINES`) lines the lesson prints."""
    lines = [plain(line) for line in answer]
    lines = [line for line in lines if line and not line.startswith("#")]
    if not lines:
        return False
    return sum(line in shown for line in lines) >= COPIED_LINES * len(lines)


@pytest.mark.parametrize("lesson", lessons())
def test_at_most_half_the_points_are_for_copying(lesson: str) -> None:
    all_cells = cells(lesson)
    shown = printed(all_cells)
    answers = graded_answers(all_cells)
    total = sum(points for _, points, _ in answers)
    copies = {grade_id: points for grade_id, points, answer in answers if copied(answer, shown)}
    assert total > 0, f"{lesson}: no graded cells"
    assert sum(copies.values()) <= COPIED_POINTS * total, \
        f"{lesson}: {sum(copies.values()):g} of {total:g} points are for copying: {copies}"


def test_copying_is_detected() -> None:
    """A manifest printed in the markdown and applied as is counts as copied; the same
    manifest with its labels changed, or a command the lesson only describes, does not."""
    manifest = ["apiVersion: v1", "kind: Pod", "metadata:", "  name: web", "  labels:",
                "    app: web", "spec:", "  containers:", "  - name: web", "    image: nginx"]
    lesson: list[dict[str, Any]] = [
        {"cell_type": "markdown", "text": "Apply this:\n```yaml\n" + "\n".join(manifest) +
         "\n```\nthen `kubectl get pods -l app=web`."},
        {"cell_type": "code", "text": "%%kubectl apply -f -\n# Your manifest\n### BEGIN SOLUTION\n"
         + "\n".join(manifest) + "\n### END SOLUTION",
         "metadata": {"nbgrader": {"solution": True, "grade_id": "ex-a"}}},
        {"cell_type": "code", "text": "ex.score(out_of=4)",
         "metadata": {"nbgrader": {"grade": True, "grade_id": "test-a", "points": 4}}},
        {"cell_type": "code", "text": "### BEGIN SOLUTION\n%kubectl scale deploy web --replicas=2"
         "\n### END SOLUTION", "metadata": {"nbgrader": {"solution": True}}},
        {"cell_type": "code", "text": "ex.score(out_of=2)",
         "metadata": {"nbgrader": {"grade": True, "grade_id": "test-b", "points": 2}}},
    ]
    shown = printed(lesson)
    [(first, four, answer), (second, two, command)] = graded_answers(lesson)
    assert (first, four, second, two) == ("test-a", 4.0, "test-b", 2.0)
    assert copied(answer, shown)
    assert "kubectl apply -f -" in shown and "kubectl get pods -l app=web" in shown
    assert "name: web" not in {plain(line) for line in split_solution(lesson[1]["text"])[0]}
    # One line of ten changed is still copying; three (name, label, image) are not.
    assert copied([line.replace("image: nginx", "image: nginx:1.27") for line in answer], shown)
    changed = {"  name: web": "  name: shop", "    app: web": "    app: shop",
               "    image: nginx": "    image: nginx:1.27"}
    assert not copied([changed.get(line, line) for line in answer], shown)
    assert not copied(command, shown)
    assert copied(["%kubectl get pods -l app=web"], shown)
    assert not copied(["# only a comment"], shown)
