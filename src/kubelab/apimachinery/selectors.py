"""Label and field selectors: parse the query-string syntax, match labels, print selectors.

Mirrors ``k8s.io/apimachinery/pkg/labels`` (``=``, ``==``, ``!=``, ``in (…)``, ``notin (…)``,
``key``, ``!key``; comma = AND), ``k8s.io/apimachinery/pkg/fields`` (``=``, ``==``, ``!=``)
and ``metav1.LabelSelector`` helpers (``LabelSelectorAsSelector``, ``FormatLabelSelector``).
One implementation serves the API server's LIST and WATCH filters, the controllers, the
scheduler, the table printers and the diagram's ``-l`` filter, so they cannot disagree.

Parse errors raise :class:`InvalidSelector` (a ``ValueError``) with upstream's wording; the
API server turns it into a 400 Status, the diagram into a message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class InvalidSelector(ValueError):
    """A selector upstream's parser or ``LabelSelectorAsSelector`` would reject."""


@dataclass(frozen=True)
class Requirement:
    """One term of a label selector (``labels.Requirement``)."""

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
    """Requirements joined by AND; the empty selector matches everything (``labels.Everything``)."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


_SET_RE = re.compile(r"^\s*([^\s!=,()]+)\s+(in|notin)\s*\(([^)]*)\)\s*$")
_KEY_RE = re.compile(r"^[A-Za-z0-9./_-]+$")


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
    """Parse ``app=web,tier in (a,b),!canary`` (``labels.Parse``); raise InvalidSelector."""
    if not text:
        return LabelSelector()
    reqs: list[Requirement] = []
    for term in _split_terms(text):
        m = _SET_RE.match(term)
        if m:
            values = tuple(v.strip() for v in m.group(3).split(",") if v.strip())
            reqs.append(Requirement(m.group(1), m.group(2), values))
        elif term.startswith("!") and _KEY_RE.match(term[1:].strip()):
            reqs.append(Requirement(term[1:].strip(), "!"))
        elif _KEY_RE.match(term):
            reqs.append(Requirement(term, "exists"))
        else:
            reqs.append(_equality(term))
    return LabelSelector(tuple(reqs))


def _equality(term: str) -> Requirement:
    for token, op in (("!=", "!="), ("==", "="), ("=", "=")):
        if token in term:
            key, value = (part.strip() for part in term.split(token, 1))
            # The lexer reads "(", ")", "!" and "=" as tokens of their own: after an operator
            # only an identifier (or nothing) may follow, as in ``labels.Parse``.
            if _KEY_RE.match(key) and (not value or _KEY_RE.match(value)):
                return Requirement(key, op, (value,))
            break
    raise InvalidSelector(f"unable to parse requirement: found '{term}', expected: "
                          "'=', '!=', '==', 'in', notin'")


def selector_from_match_labels(match_labels: Mapping[str, str] | None) -> LabelSelector:
    """``labels.SelectorFromSet``: every key equal (a Service's or a nodeSelector's map)."""
    return LabelSelector(tuple(Requirement(k, "=", (v,)) for k, v in (match_labels or {}).items()))


_OPERATORS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


def label_selector_from_spec(spec: Mapping[str, Any] | None) -> LabelSelector:
    """A ``metav1.LabelSelector`` (matchLabels + matchExpressions) as a selector.

    A nil or empty spec gives the empty selector (matches everything); callers that need
    upstream's "nil matches nothing" use :func:`selector_matches`.
    """
    spec = spec or {}
    reqs = list(selector_from_match_labels(spec.get("matchLabels")).requirements)
    for expr in spec.get("matchExpressions") or []:
        op = _OPERATORS.get(expr.get("operator", ""), "exists")
        reqs.append(Requirement(expr.get("key", ""), op, tuple(expr.get("values") or ())))
    return LabelSelector(tuple(reqs))


def selector_is_empty(spec: Mapping[str, Any] | None) -> bool:
    """True for a nil selector or one with neither matchLabels nor matchExpressions."""
    if spec is None:
        return True
    return not spec.get("matchLabels") and not spec.get("matchExpressions")


def selector_matches(spec: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """``LabelSelectorAsSelector(sel).Matches(labels)``: a nil selector matches nothing,
    an empty one everything."""
    if spec is None:
        return False
    return label_selector_from_spec(spec).matches(labels)


def selector_string(spec: Mapping[str, Any] | None) -> str:
    """``LabelSelectorAsSelector(sel).String()``; ``""`` for nil or empty.

    Requirements are sorted by key, ``In``/``NotIn`` values sorted, and written
    ``k=v``, ``k in (a,b)``, ``k notin (a)``, ``k``, ``!k``. Raises InvalidSelector for a
    selector upstream would refuse to convert (an unknown operator, ``In`` without values).
    """
    if not spec:
        return ""
    reqs: list[tuple[str, str]] = []
    for key, value in (spec.get("matchLabels") or {}).items():
        reqs.append((key, f"{key}={value}"))
    for expr in spec.get("matchExpressions") or []:
        key = str(expr.get("key") or "")
        op = expr.get("operator")
        values = sorted(str(v) for v in expr.get("values") or [])
        if op in ("In", "NotIn"):
            if not values:
                raise InvalidSelector(f"{op} requires values")
            word = "in" if op == "In" else "notin"
            reqs.append((key, f"{key} {word} ({','.join(values)})"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                raise InvalidSelector(f"{op} takes no values")
            reqs.append((key, key if op == "Exists" else f"!{key}"))
        else:
            raise InvalidSelector(f"{op!r} is not a valid label selector operator")
    reqs.sort(key=lambda r: r[0])
    return ",".join(text for _, text in reqs)


def format_label_selector(spec: Mapping[str, Any] | None) -> str:
    """``metav1.FormatLabelSelector``: the selector, ``<none>`` if empty, ``<error>`` if bad."""
    try:
        text = selector_string(spec)
    except InvalidSelector:
        return "<error>"
    return text or "<none>"


@dataclass(frozen=True)
class FieldRequirement:
    """One term of a field selector (``fields.Requirement``)."""

    field: str
    op: str  # "=" or "!="
    value: str


@dataclass(frozen=True)
class FieldSelector:
    """Field requirements joined by AND, over the fields a kind declares selectable."""

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
    """Parse ``spec.nodeName=w1,status.phase!=Running`` (``fields.ParseSelector``)."""
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
            raise InvalidSelector(f"invalid selector: '{text}'; can't understand '{term}'")
    return FieldSelector(tuple(reqs))


# ----------------------------------------------------------------------------- node selectors


def node_selector_requirement_matches(expr: Mapping[str, Any],
                                      values: Mapping[str, str]) -> bool:
    """One ``NodeSelectorRequirement`` against a node's labels (or its fields):
    ``In``, ``NotIn``, ``Exists``, ``DoesNotExist``, and ``Gt``/``Lt`` on integers."""
    key = expr.get("key", "")
    op = expr.get("operator", "")
    wanted = expr.get("values") or []
    if op == "In":
        return key in values and values[key] in wanted
    if op == "NotIn":
        return key not in values or values[key] not in wanted
    if op == "Exists":
        return key in values
    if op == "DoesNotExist":
        return key not in values
    if op in ("Gt", "Lt") and key in values and len(wanted) == 1:
        try:
            have, limit = int(values[key]), int(wanted[0])
        except ValueError:
            return False
        return have > limit if op == "Gt" else have < limit
    return False


def node_selector_term_matches(term: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    """A ``NodeSelectorTerm``: all its matchExpressions (labels) and matchFields
    (``metadata.name``); an empty term matches no node."""
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False
    meta = node.get("metadata") or {}
    labels = meta.get("labels") or {}
    name = {"metadata.name": meta.get("name", "")}
    return (all(node_selector_requirement_matches(e, labels) for e in exprs)
            and all(node_selector_requirement_matches(f, name) for f in fields))


def required_node_affinity_matches(pod_spec: Mapping[str, Any],
                                   node: Mapping[str, Any]) -> bool:
    """``nodeaffinity.GetRequiredNodeAffinity(pod).Match(node)`` (component-helpers), what
    kube-scheduler's NodeAffinity filter and the DaemonSet controller both ask: every
    ``nodeSelector`` label, and any one term of the required node affinity."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if required is not None:
        terms = required.get("nodeSelectorTerms") or []
        return any(node_selector_term_matches(term, node) for term in terms)
    return True
