"""The check engine shared by the self-check cells and the nbgrader test cells.

Why one engine: a learner who sees "all checks pass" in a self-check cell must get the
same verdict from the grader (nbgrader's Validate button and ``nbgrader autograde`` run the
same code), so both kinds of cell evaluate the same declarative :class:`Check` objects.

What it guarantees, each for a reason measured with nbgrader 0.9.6:

* **Bounded waiting.** Kubernetes converges asynchronously, so checks are re-evaluated
  against fresh API reads until they all pass, until every failing check is *settled*
  (waiting cannot change it: an object that was never created, a wrong image in a spec),
  or until a deadline. Nothing sleeps blindly; a blank notebook fails fast.
* **Partial credit.** Each check carries points; a test cell ends with
  :meth:`Exercise.score`, whose number nbgrader reads as the cell's partial grade.
* **One score, said once.** A graded cell prints "2 of 2 points" (or "0 of 2 points: not
  answered yet — …") in the cell's own points, and returns the same number, which nbgrader
  reads as the cell's partial credit.
* **Not answered is not wrong.** Answer cells start from a placeholder (``x = ...``, Python's
  Ellipsis); a variable that is still the placeholder, or undefined, is reported as "not
  answered yet" with its name, so Run All on a fresh notebook reaches the end.
* **Nothing on stderr, except a zero while grading.** nbgrader scores any stderr output in a
  test cell as a failure, so evaluation captures warnings and log records, and every outcome
  is printed to stdout. The one exception: under nbgrader (Validate, autograde) a cell that
  earns nothing also writes its score line to stderr. nbgrader 0.9.6's Validator words any
  score below the maximum as "Partial credit; passed some but not all of the tests" (the text
  is fixed, not configurable) unless the cell failed, and for a failed cell it shows the
  failure's text instead; the score (0) is the same either way. In a learner's own run there
  is no stderr at all.
* **Messages, never code.** Reports show each check's description, what was found and a
  hint; no test code is ever shown.
* **Hints in steps.** A check's hint is a ladder — a nudge (what to look at), then the
  concept, then the form of the command — and each time the same check fails again in the
  same kernel the report shows the next step (:data:`HINT_STEPS` counts the failures). A
  check without a hint of its own still gets a nudge built from its description, so every
  failed check, in a notebook and on a feedback page, says where to look.
* **Wrong is said at once.** A failure that waiting cannot change is *settled* and ends the
  wait; in a learner's own run, once one check has failed for good the others get only
  :data:`SETTLED_GRACE` seconds more (the exercise is already not right), so a wrong replica
  count is reported in seconds, not after the convergence timeout.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from autograders.clock import SYSTEM_CLOCK, Clock
from autograders.kube import ApiError, Reader, Snapshot

REPORT_MIME = "application/vnd.kubelab.checks+json"
GRADING_TIMEOUT = 15.0
# When the learner has not created what an exercise is about, other checks get only this
# long to converge: a blank or half-done notebook must not cost every check a full timeout.
MISSING_GRACE = 3.0
TEACHING_TIMEOUT = 45.0
# In a learner's run, once a check has failed for good the others get this long to converge.
SETTLED_GRACE = 3.0
NOT_ANSWERED = "not answered yet"

# How often each check has failed in this kernel: (exercise id, check description) -> count.
# The hint ladder's step follows it, so a learner who runs a self-check again without fixing
# the problem is told more each time.
HINT_STEPS: dict[tuple[str, str], int] = {}


@dataclass(frozen=True)
class Outcome:
    """One evaluation of one check.

    ``found`` says what the cluster (or the notebook) holds, in plain words. ``settled`` is
    true when waiting cannot change a failure; ``missing`` when the learner has not created
    what the exercise is about (an object or a variable), so the rest will not converge
    either.
    """

    passed: bool
    found: str = ""
    settled: bool = False
    missing: bool = False


def ok(found: str = "") -> Outcome:
    return Outcome(True, found, True)


def wrong(found: str, *, settled: bool = False, missing: bool = False) -> Outcome:
    return Outcome(False, found, settled or missing, missing)


def unanswered(variables: dict[str, Any], name: str) -> Outcome | None:
    """"Not answered yet" while notebook variable ``name`` is undefined or still ``...``.

    Answer cells start from the placeholder ``name = ...`` (Python's Ellipsis), so a fresh
    notebook runs from top to bottom; such a variable is missing, not wrong.
    """
    if name not in variables:
        return wrong(f"{NOT_ANSWERED}: there is no variable {name} (run your cell first)",
                     missing=True)
    if variables[name] is Ellipsis:
        return wrong(f"{NOT_ANSWERED}: {name} is still ... (the placeholder)", missing=True)
    return None


@dataclass
class Context:
    """What a probe may look at: one round's API snapshot and the notebook's variables."""

    snapshot: Snapshot
    variables: dict[str, Any]


Probe = Callable[[Context], Outcome]


class NotAnswered(LookupError):
    """Raised by :func:`answer` for a variable that is undefined or still ``...``."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def answer(ctx: Context, name: str) -> Any:
    """The learner's value of notebook variable ``name``, for a probe.

    Raises :class:`NotAnswered` while it is undefined or still the placeholder ``...``;
    the engine reports that as "not answered yet" (probes called directly may instead use
    :func:`unanswered`, which returns the outcome).
    """
    if unanswered(ctx.variables, name) is not None:
        raise NotAnswered(name)
    return ctx.variables[name]


def ladder(nudge: str, concept: str, command: str) -> tuple[str, str, str]:
    """A hint in three steps: what to look at, the concept behind it, the command's form.

    The third step shows the shape of the command (``kubectl scale deployment <name>
    --replicas=<count>``), not the learner's answer with every value filled in.
    """
    return (nudge, concept, command)


@dataclass(frozen=True)
class Check:
    """A named expectation worth some points, with a hint shown when it fails.

    ``hint`` is one sentence or a ladder of steps (see :func:`ladder`).
    """

    description: str
    probe: Probe
    points: float = 1.0
    hint: str | tuple[str, ...] = ""

    @property
    def hints(self) -> tuple[str, ...]:
        """The hint ladder; a check with no hint gets a nudge built from its description."""
        steps = (self.hint,) if isinstance(self.hint, str) else tuple(self.hint)
        steps = tuple(s for s in steps if s)
        return steps or (f"Look at what the check names: {self.description}.",)

    def hint_at(self, step: int) -> str:
        """The hint for the ``step``-th failure (0 first); the last step repeats."""
        steps = self.hints
        return steps[min(max(step, 0), len(steps) - 1)]


@dataclass(frozen=True)
class Result:
    check: Check
    outcome: Outcome
    hidden: bool = False
    hint: str = ""  # the ladder step this failure shows ("" before one is chosen)

    @property
    def earned(self) -> float:
        return self.check.points if self.outcome.passed else 0.0

    @property
    def shown_hint(self) -> str:
        return self.hint or self.check.hint_at(0)

    def as_dict(self) -> dict[str, Any]:
        return {"description": self.check.description, "passed": self.outcome.passed,
                "points": self.check.points, "earned": self.earned,
                "found": self.outcome.found,
                "hint": "" if self.outcome.passed else self.shown_hint,
                "settled": self.outcome.settled, "hidden": self.hidden}


@dataclass
class Report:
    """The outcome of an exercise's checks; renders as text and as HTML."""

    exercise: str
    title: str
    results: list[Result]
    waited: float = 0.0
    out_of: float | None = None  # a graded cell's points; None for a self-check

    @property
    def earned(self) -> float:
        return sum(r.earned for r in self.results)

    @property
    def possible(self) -> float:
        return sum(r.check.points for r in self.results)

    @property
    def passed(self) -> bool:
        return all(r.outcome.passed for r in self.results)

    def scaled(self, out_of: float) -> float:
        """Points earned, scaled so that passing every check present gives ``out_of``."""
        if self.possible <= 0:
            return 0.0
        return round(self.earned / self.possible * out_of, 2)

    @property
    def score(self) -> float:
        """The graded cell's points (what nbgrader reads); the earned check points otherwise."""
        return self.scaled(self.out_of) if self.out_of is not None else self.earned

    def verdict(self) -> str:
        """One line: "2 of 2 points", "0 of 2 points: not answered yet — …" (a graded cell),
        or "all 3 checks pass", "1 of 3 checks pass: …" (a self-check)."""
        failing = [r for r in self.results if not r.outcome.passed]
        total = len(self.results)
        if self.out_of is not None:
            head = f"{_num(self.score)} of {_num(self.out_of)} points"
        elif not failing:
            head = f"all {total} check{'s' if total != 1 else ''} pass"
        else:
            head = f"{total - len(failing)} of {total} checks pass"
        if not failing:
            return head
        missing = [r for r in failing if r.outcome.missing]
        if missing and self.earned == 0:
            first = missing[0].outcome.found
            detail = first.removeprefix(f"{NOT_ANSWERED}: ")
            return f"{head}: {NOT_ANSWERED} — {detail}"
        if self.out_of is None:
            return f"{head}: fix what is marked ✗"
        return f"{head}: {len(failing)} of {total} checks fail"

    def as_dict(self) -> dict[str, Any]:
        return {"exercise": self.exercise, "title": self.title, "earned": self.earned,
                "possible": self.possible, "out_of": self.out_of, "score": self.score,
                "verdict": self.verdict(), "results": [r.as_dict() for r in self.results]}

    def text(self) -> str:
        lines = [f"{self.title} — {self.verdict()}"]
        for r in self.results:
            mark = "✓" if r.outcome.passed else "✗"
            lines.append(f"  {mark} {r.check.description}")
            if not r.outcome.passed:
                if r.outcome.found:
                    lines.append(f"      found: {r.outcome.found}")
                lines.append(f"      hint: {r.shown_hint}")
        if self.passed:
            lines.append("All checks pass.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        return report_html(self.as_dict())


def _num(x: float) -> str:
    return f"{x:g}"


def report_html(data: dict[str, Any]) -> str:
    """HTML for a report dictionary (also used for class feedback pages)."""
    esc = html.escape
    rows = []
    for r in data["results"]:
        passed = r["passed"]
        colour = "#1a7f37" if passed else "#cf222e"
        detail = ""
        if not passed:
            if r.get("found"):
                detail += f"<div>found: {esc(r['found'])}</div>"
            if r.get("hint"):
                detail += f"<div><em>hint:</em> {esc(r['hint'])}</div>"
        rows.append(
            f"<li style='margin:2px 0'><span style='color:{colour};font-weight:bold'>"
            f"{'✓' if passed else '✗'}</span> {esc(r['description'])} "
            f"<div style='margin-left:1.4em;color:#57606a'>{detail}</div></li>")
    verdict = ("All checks pass." if all(r["passed"] for r in data["results"])
               else "Fix what is marked ✗ and run the cell again.")
    # Reports saved before the verdict existed carry only check points.
    headline = data.get("verdict") or f"{_num(data['earned'])} of {_num(data['possible'])} points"
    return (f"<div class='kubelab-report'><strong>{esc(data['title'])}</strong> — "
            f"{esc(headline)}"
            f"<ul style='list-style:none;padding-left:0.5em'>{''.join(rows)}</ul>"
            f"<div>{verdict}</div></div>")


@contextlib.contextmanager
def quiet() -> Iterator[io.StringIO]:
    """Capture stderr, warnings and log records, so a test cell never writes to stderr."""
    buffer = io.StringIO()
    root = logging.getLogger()
    handler = logging.StreamHandler(buffer)
    previous = logging.lastResort
    with warnings.catch_warnings(), contextlib.redirect_stderr(buffer):
        warnings.simplefilter("ignore")
        root.addHandler(handler)
        logging.lastResort = handler
        try:
            yield buffer
        finally:
            root.removeHandler(handler)
            logging.lastResort = previous


def grading() -> bool:
    """True while nbgrader validates or autogrades (it sets ``NBGRADER_EXECUTION``)."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def default_timeout() -> float:
    return GRADING_TIMEOUT if grading() else TEACHING_TIMEOUT


def evaluate_once(checks: Sequence[tuple[Check, bool]], ctx: Context) -> list[Result]:
    results = []
    for check, hidden in checks:
        try:
            outcome = check.probe(ctx)
        except NotAnswered as exc:
            outcome = unanswered(ctx.variables, exc.name) \
                or wrong(NOT_ANSWERED, missing=True)
        except ApiError as exc:
            outcome = wrong(f"{exc}; is the cluster running? Re-run the lesson's first cell.")
        except Exception as exc:  # a probe must never raise into a learner's notebook
            outcome = wrong(f"could not be checked ({type(exc).__name__})")
        results.append(Result(check, outcome, hidden))
    return results


def evaluate(checks: Sequence[tuple[Check, bool]], make_context: Callable[[], Context], *,
             timeout: float, clock: Clock = SYSTEM_CLOCK,
             interval: float = 0.25, first_interval: float = 0.02,
             settled_grace: float | None = None) -> tuple[list[Result], float]:
    """Evaluate until all pass, every failure is settled, or ``timeout`` seconds pass.

    If something the exercise needs is missing, the deadline shrinks to
    :data:`MISSING_GRACE` seconds; with ``settled_grace``, a settled failure (the exercise
    is already known to be wrong) shrinks it to that many seconds.

    Polls back off from ``first_interval`` to ``interval`` (doubling, as client-go's
    wait.Backoff does): a cluster that converges at once (the sandbox under virtual time
    skips its idle time as soon as it is asked) is seen at once, a slow one is not flooded.
    """
    start = clock.monotonic()
    pause = min(first_interval, interval)
    while True:
        results = evaluate_once(checks, make_context())
        elapsed = clock.monotonic() - start
        failing = [r for r in results if not r.outcome.passed]
        if any(r.outcome.missing for r in failing):
            timeout = min(timeout, MISSING_GRACE)
        if settled_grace is not None and any(r.outcome.settled for r in failing):
            timeout = min(timeout, settled_grace)
        if not failing or all(r.outcome.settled for r in failing) or elapsed >= timeout:
            return results, elapsed
        clock.pause(min(pause, max(0.0, timeout - elapsed)))
        pause = min(pause * 2, interval)


@dataclass
class Exercise:
    """An exercise's checks: public ones from the lesson, plus any added by a test cell."""

    id: str
    title: str
    checks: list[Check]
    hidden: list[Check] = field(default_factory=list)
    context_factory: Callable[[], Context] | None = None
    clock: Clock = SYSTEM_CLOCK
    default_timeout: float | None = None

    def add(self, *checks: Check) -> Exercise:
        """Add checks that only the instructor's copy of a test cell contains."""
        self.hidden.extend(checks)
        return self

    def run(self, timeout: float | None = None) -> Report:
        pairs = [(c, False) for c in self.checks] + [(c, True) for c in self.hidden]
        factory = self.context_factory or default_context
        with quiet():
            try:
                limit = timeout if timeout is not None else (
                    self.default_timeout if self.default_timeout is not None
                    else default_timeout())
                # Grading waits for every check (its points depend on it); a learner's own
                # run reports a wrong answer without waiting out the others.
                grace = None if grading() else SETTLED_GRACE
                results, waited = evaluate(pairs, factory, clock=self.clock, timeout=limit,
                                           settled_grace=grace)
            except ApiError as exc:
                results = [Result(c, wrong(str(exc)), h) for c, h in pairs]
                waited = 0.0
        return Report(self.id, self.title, self._climb(results), waited)

    def _climb(self, results: list[Result]) -> list[Result]:
        """Pick each failure's hint step: one step further each time it fails again."""
        climbed = []
        for r in results:
            if not r.outcome.passed:
                key = (self.id, r.check.description)
                step = HINT_STEPS.get(key, 0)
                HINT_STEPS[key] = step + 1
                r = Result(r.check, r.outcome, r.hidden, r.check.hint_at(step))
            climbed.append(r)
        return climbed

    def score(self, out_of: float, timeout: float | None = None) -> float:
        """Run the checks, show the report and return the points earned.

        End an nbgrader test cell with this call: the returned number is the cell's partial
        credit, scaled so that passing every check present earns ``out_of``; the report's
        first line says the same number ("2 of 2 points"). A whole number is returned as an
        ``int``, so the cell shows ``2`` beside "2 of 2 points". While nbgrader grades, a
        zero is also written to stderr (see the module docstring: Validate then says why
        instead of "Partial credit").
        """
        report = self.run(timeout)
        report.out_of = out_of
        _publish(report)
        points = report.score
        if points == 0 and grading():
            print(f"{report.title} — {report.verdict()}", file=sys.stderr)
        return int(points) if float(points).is_integer() else points


def _publish(report: Report) -> None:
    try:
        from IPython.display import display

        display({"text/plain": report.text(), "text/html": report._repr_html_(),
                 REPORT_MIME: json.loads(json.dumps(report.as_dict()))}, raw=True)
    except ImportError:  # outside IPython
        print(report.text())


def user_variables() -> dict[str, Any]:
    """The notebook's global variables (empty outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return {}
    shell = get_ipython()
    return dict(shell.user_ns) if shell is not None else {}


def default_context() -> Context:
    from kubelab.connect import current

    cluster = current()
    return Context(Snapshot(Reader(cluster.api_client)), user_variables())
