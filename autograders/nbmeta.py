"""nbgrader's cell-metadata check, with its JSON schema checked once instead of once per cell.

``nbgrader autograde`` validates every cell's ``nbgrader`` metadata twice per notebook (its
``CheckCellMetadata`` preprocessor runs before and after execution). nbgrader 0.9 does it with
``jsonschema.validate(metadata, schema)``, which first checks the *schema* against its
meta-schema and builds a new validator, on every call: for a 38-cell lesson 0.33 s of the
grading process's CPU (cProfile, lesson 10; 90 % of it in ``check_schema``), all of it
while no cell runs. The schema is nbgrader's own fixed file, so it is checked once per
version here and its validator kept; each cell's metadata is still validated against it,
with the same error (jsonschema's ``best_match``, as ``jsonschema.validate`` raises) and the
same version and consistency checks, which stay nbgrader's.
"""

from __future__ import annotations

import traceback
from typing import Any

import jsonschema
from nbformat.notebooknode import NotebookNode
from nbgrader.nbgraderformat import ValidationError
from nbgrader.nbgraderformat.common import (
    BaseMetadataValidator,
    SchemaTooNewError,
    SchemaTooOldError,
)
from nbgrader.nbgraderformat.v3 import MetadataValidatorV3
from nbgrader.preprocessors import CheckCellMetadata as NbgraderCheckCellMetadata

_VALIDATORS: dict[int, Any] = {}


def _validator(version: int, schema: dict[str, Any]) -> Any:
    """The validator of nbgrader's schema file for ``version``, its schema checked once."""
    if version not in _VALIDATORS:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        _VALIDATORS[version] = cls(schema)
    return _VALIDATORS[version]


class _SchemaCheckedOnce(BaseMetadataValidator):  # type: ignore[misc]
    """The base validator's per-cell step (schema version, then the JSON schema)."""

    def validate_cell(self, cell: NotebookNode) -> None:
        if "nbgrader" not in cell.metadata:
            return
        meta = cell.metadata["nbgrader"]
        version = meta.get("schema_version", 0)
        if version < self.schema_version:
            raise SchemaTooOldError(
                f"Outdated schema version: {version} (expected {self.schema_version})",
                version, self.schema_version)
        if version > self.schema_version:
            raise SchemaTooNewError(
                f"Schema version is too new: {version} (expected {self.schema_version})",
                version, self.schema_version)
        validator = _validator(self.schema_version, self.schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(meta))
        if error is not None:
            raise error


class MetadataValidator(MetadataValidatorV3, _SchemaCheckedOnce):  # type: ignore[misc]
    """nbgrader's v3 validator; its call to the base step reaches :class:`_SchemaCheckedOnce`."""


class CheckCellMetadata(NbgraderCheckCellMetadata):  # type: ignore[misc]
    """nbgrader's ``CheckCellMetadata`` with :class:`MetadataValidator`."""

    def preprocess(self, nb: NotebookNode, resources: Any) -> tuple[NotebookNode, Any]:
        try:
            MetadataValidator().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg) from None
        return nb, resources


def with_fast_metadata_check(preprocessors: list[type]) -> list[type]:
    """``preprocessors`` with nbgrader's ``CheckCellMetadata`` replaced by this module's."""
    return [CheckCellMetadata if p is NbgraderCheckCellMetadata else p for p in preprocessors]
