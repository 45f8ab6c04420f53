"""Label and field selectors: parse the query-string syntax and match objects.

Mirrors ``k8s.io/apimachinery/pkg/labels`` (``=``, ``==``, ``!=``, ``in (…)``, ``notin (…)``,
``key``, ``!key``, comma = AND) and ``k8s.io/apimachinery/pkg/fields`` (``=``, ``==``, ``!=``
over the fields a kind declares selectable). Term order differs between kubectl versions,
so parsing is generic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubelab.sandbox.api.errors import ApiError, bad_request


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "=":
            return present and value == self.values[0]
        if self.op == "!=":
            return not present or value != self.values[0]
        if self.op == "in":
            return present and value in self.values
        if self.op == "notin":
            return not present or value not in self.values
        if self.op == "exists":
            return present
        return not present  # "!"


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


_SET_RE = re.compile(r"^\s*([^\s!=,()]+)\s+(in|notin)\s*\(([^)]*)\)\s*$")


def _split_terms(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    terms: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(ch)
    terms.append("".join(current))
    return [t.strip() for t in terms if t.strip()]


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse ``app=web,tier in (a,b),!canary``; raise a 400 ``ApiError`` on bad syntax."""
    if not text:
        return LabelSelector()
    reqs: list[Requirement] = []
    for term in _split_terms(text):
        m = _SET_RE.match(term)
        if m:
            values = tuple(v.strip() for v in m.group(3).split(",") if v.strip())
            reqs.append(Requirement(m.group(1), m.group(2), values))
        elif term.startswith("!"):
            reqs.append(Requirement(term[1:].strip(), "!"))
        elif "!=" in term:
            k, v = term.split("!=", 1)
            reqs.append(Requirement(k.strip(), "!=", (v.strip(),)))
        elif "==" in term:
            k, v = term.split("==", 1)
            reqs.append(Requirement(k.strip(), "=", (v.strip(),)))
        elif "=" in term:
            k, v = term.split("=", 1)
            reqs.append(Requirement(k.strip(), "=", (v.strip(),)))
        elif re.match(r"^[A-Za-z0-9./_-]+$", term):
            reqs.append(Requirement(term, "exists"))
        else:
            raise bad_request(f"unable to parse requirement: found '{term}', expected: "
                              "'=', '!=', '==', 'in', notin'")
    return LabelSelector(tuple(reqs))


def selector_from_match_labels(match_labels: Mapping[str, str] | None) -> LabelSelector:
    return LabelSelector(tuple(Requirement(k, "=", (v,)) for k, v in (match_labels or {}).items()))


def label_selector_from_spec(spec: Mapping[str, Any] | None) -> LabelSelector:
    """A ``metav1.LabelSelector`` (matchLabels + matchExpressions) as a selector."""
    spec = spec or {}
    reqs = list(selector_from_match_labels(spec.get("matchLabels")).requirements)
    for expr in spec.get("matchExpressions") or []:
        op = {"In": "in", "NotIn": "notin", "Exists": "exists",
              "DoesNotExist": "!"}.get(expr.get("operator", ""), "exists")
        reqs.append(Requirement(expr.get("key", ""), op, tuple(expr.get("values") or ())))
    return LabelSelector(tuple(reqs))


def format_selector(spec: Mapping[str, Any] | None) -> str:
    """``app=web,tier in (a,b)`` as kubectl and the Scale subresource print it."""
    parts = []
    spec = spec or {}
    for k, v in sorted((spec.get("matchLabels") or {}).items()):
        parts.append(f"{k}={v}")
    for expr in spec.get("matchExpressions") or []:
        op = expr.get("operator")
        if op in ("In", "NotIn"):
            vals = ",".join(sorted(expr.get("values") or []))
            parts.append(f"{expr['key']} {op.lower()} ({vals})")
        elif op == "Exists":
            parts.append(expr["key"])
        else:
            parts.append(f"!{expr['key']}")
    return ",".join(parts)


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    op: str  # "=" or "!="
    value: str


@dataclass(frozen=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, fields: Mapping[str, str]) -> bool:
        for r in self.requirements:
            actual = fields.get(r.field, "")
            if (actual == r.value) != (r.op == "="):
                return False
        return True

    def fields(self) -> set[str]:
        return {r.field for r in self.requirements}

    def value_of(self, field: str) -> str | None:
        for r in self.requirements:
            if r.field == field and r.op == "=":
                return r.value
        return None


def parse_field_selector(text: str | None) -> FieldSelector:
    if not text:
        return FieldSelector()
    reqs = []
    for term in _split_terms(text):
        if "!=" in term:
            k, v = term.split("!=", 1)
            reqs.append(FieldRequirement(k.strip(), "!=", v.strip()))
        elif "==" in term:
            k, v = term.split("==", 1)
            reqs.append(FieldRequirement(k.strip(), "=", v.strip()))
        elif "=" in term:
            k, v = term.split("=", 1)
            reqs.append(FieldRequirement(k.strip(), "=", v.strip()))
        else:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
    return FieldSelector(tuple(reqs))


def check_selectable(selector: FieldSelector, allowed: set[str], kind: str,
                     api_version: str) -> None:
    """Upstream rejects unknown field labels with 400 ``field label not supported``."""
    for field in selector.fields():
        if field not in allowed:
            raise ApiError(400, "BadRequest",
                           f'field label not supported: {field}', None)
    _ = kind, api_version
