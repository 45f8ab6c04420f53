"""The metadata check with nbgrader's schema checked once gives nbgrader's verdicts."""

from __future__ import annotations

from typing import Any

import jsonschema
import nbformat
import pytest
from nbgrader.nbgraderformat import MetadataValidator as NbgraderValidator
from nbgrader.preprocessors import CheckCellMetadata as NbgraderCheck

from autograders import nbmeta
from autograders.outside import autograde_preprocessors, sanitize_preprocessors


def cell(source: str = "x = 1", **meta: Any) -> Any:
    c = nbformat.v4.new_code_cell(source)
    base = {"grade": True, "solution": False, "locked": True, "task": False,
            "grade_id": "g", "points": 1, "schema_version": 3}
    c.metadata["nbgrader"] = {**base, **meta}
    return c


CASES = {
    "a graded cell": cell(),
    "an answer cell": cell(grade=False, solution=True, locked=False, points=None),
    "points not a number": cell(points="two"),
    "grade_id missing": cell(grade_id=None),
    "an unknown key": cell(colour="red"),
    "schema too old": cell(schema_version=1),
    "schema too new": cell(schema_version=9),
    "a graded cell without points": cell(points=None),
    "a task cell that is code": cell(task=True, grade=False),
}


def verdict(validator: Any, c: Any) -> tuple[str, str]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [c]
    try:
        validator.validate_nb(nb)
    except Exception as exc:
        return type(exc).__name__, str(exc)
    return "ok", ""


@pytest.mark.parametrize("case", CASES)
def test_each_cell_gets_nbgraders_verdict(case: str) -> None:
    c = CASES[case]
    for key in [k for k, v in list(c.metadata["nbgrader"].items()) if v is None]:
        del c.metadata["nbgrader"][key]
    assert verdict(nbmeta.MetadataValidator(), c) == verdict(NbgraderValidator(), c)


def test_the_schema_is_checked_once_for_many_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = NbgraderValidator().schema
    cls = jsonschema.validators.validator_for(schema)
    checked: list[int] = []
    real = cls.check_schema
    def counting(_cls: Any, schema: Any, *args: Any, **kwargs: Any) -> None:
        checked.append(1)
        real(schema, *args, **kwargs)

    monkeypatch.setattr(cls, "check_schema", classmethod(counting))
    monkeypatch.setattr(nbmeta, "_VALIDATORS", {})
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell(grade_id=f"g{i}") for i in range(30)]
    for _ in range(2):
        nbmeta.CheckCellMetadata().preprocess(nb, {})
    assert len(checked) == 1
    checked.clear()
    NbgraderValidator().validate_nb(nb)   # nbgrader's own: once per cell
    assert len(checked) == 30


def test_a_broken_notebook_is_refused_as_nbgrader_refuses_it() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell(), cell()]   # the same grade id twice
    with pytest.raises(Exception) as ours:
        nbmeta.CheckCellMetadata().preprocess(nb, {})
    with pytest.raises(Exception) as theirs:
        NbgraderCheck().preprocess(nb, {})
    assert (type(ours.value), str(ours.value)) == (type(theirs.value), str(theirs.value))


def test_autograde_runs_this_check_in_both_places() -> None:
    for pipeline in (sanitize_preprocessors(), autograde_preprocessors()):
        assert nbmeta.CheckCellMetadata in pipeline and NbgraderCheck not in pipeline
