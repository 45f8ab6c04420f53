"""Label and field selectors: ``labels.Parse``, ``fields.ParseSelector`` and the
``metav1.LabelSelector`` helpers, one implementation for the sandbox and the diagram."""

from __future__ import annotations

import pytest

from kubelab.apimachinery import selectors


@pytest.mark.parametrize(("text", "labels", "expected"), [
    ("app=web", {"app": "web"}, True),
    ("app==web", {"app": "web"}, True),
    ("app=web", {"app": "api"}, False),
    ("app!=web", {}, True),  # != matches a missing key, as upstream
    ("app!=web", {"app": "web"}, False),
    ("tier in (a, b)", {"tier": "b"}, True),
    ("tier in (a,b)", {}, False),
    ("tier notin (a,b)", {}, True),
    ("tier notin (a,b)", {"tier": "a"}, False),
    ("canary", {"canary": ""}, True),
    ("!canary", {"canary": "x"}, False),
    ("app=web,!canary", {"app": "web"}, True),
    ("app=web,tier in (a,b)", {"app": "web", "tier": "c"}, False),
    ("", {"any": "thing"}, True),
])
def test_label_selectors_match_as_upstream(text: str, labels: dict[str, str],
                                           expected: bool) -> None:
    assert selectors.parse_label_selector(text).matches(labels) is expected


@pytest.mark.parametrize("text", ["app=(x", "a b", "app=web=x", "=web"])
def test_malformed_label_selectors_raise_with_upstreams_wording(text: str) -> None:
    with pytest.raises(selectors.InvalidSelector, match="unable to parse requirement"):
        selectors.parse_label_selector(text)


def test_nil_selector_matches_nothing_and_empty_matches_everything() -> None:
    assert selectors.selector_matches(None, {"a": "b"}) is False
    assert selectors.selector_matches({}, {"a": "b"}) is True
    spec = {"matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]}
    assert selectors.selector_matches(spec, {"app": "web", "tier": "fe"}) is True
    assert selectors.selector_matches(spec, {"app": "web", "tier": "db"}) is False
    assert selectors.selector_is_empty({"matchLabels": {}}) is True


def test_selector_string_sorts_by_key_like_label_selector_as_selector() -> None:
    spec = {"matchLabels": {"z": "1"},
            "matchExpressions": [{"key": "a", "operator": "In", "values": ["y", "x"]},
                                 {"key": "m", "operator": "DoesNotExist"}]}
    assert selectors.selector_string(spec) == "a in (x,y),!m,z=1"
    assert selectors.format_label_selector(None) == "<none>"
    assert selectors.format_label_selector(
        {"matchExpressions": [{"key": "a", "operator": "In"}]}) == "<error>"


def test_field_selectors() -> None:
    sel = selectors.parse_field_selector("spec.nodeName=w1,status.phase!=Running")
    assert sel.matches({"spec.nodeName": "w1", "status.phase": "Pending"})
    assert not sel.matches({"spec.nodeName": "w1", "status.phase": "Running"})
    assert sel.value_of("spec.nodeName") == "w1"
    assert sel.fields() == {"spec.nodeName", "status.phase"}
    with pytest.raises(selectors.InvalidSelector, match="can't understand 'oops'"):
        selectors.parse_field_selector("oops")
