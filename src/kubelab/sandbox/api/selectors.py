"""Selectors at the API server's edge: the query-string parsers, answering 400 on bad syntax.

The selector logic itself is :mod:`kubelab.apimachinery.selectors` (shared with the
controllers, the scheduler and the diagram); this module only turns its
:class:`~kubelab.apimachinery.selectors.InvalidSelector` into the 400 ``BadRequest`` Status a
real API server answers, as ``pkg/endpoints/handlers`` does for a bad ``labelSelector`` or
``fieldSelector`` parameter, (field labels are checked against each kind's in the server).
"""

from __future__ import annotations

from kubelab.apimachinery import selectors
from kubelab.apimachinery.selectors import (
    FieldSelector,
    LabelSelector,
    label_selector_from_spec,
    selector_from_match_labels,
)
from kubelab.sandbox.api.errors import bad_request

__all__ = [
    "FieldSelector",
    "LabelSelector",
    "label_selector_from_spec",
    "parse_field_selector",
    "parse_label_selector",
    "selector_from_match_labels",
]


def parse_label_selector(text: str | None) -> LabelSelector:
    """``labels.Parse``, raising a 400 ``ApiError`` on bad syntax."""
    try:
        return selectors.parse_label_selector(text)
    except selectors.InvalidSelector as exc:
        raise bad_request(str(exc)) from exc


def parse_field_selector(text: str | None) -> FieldSelector:
    """``fields.ParseSelector``, raising a 400 ``ApiError`` on bad syntax."""
    try:
        return selectors.parse_field_selector(text)
    except selectors.InvalidSelector as exc:
        raise bad_request(str(exc)) from exc

