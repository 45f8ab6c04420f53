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


def _node(name: str, **labels: str) -> dict[str, object]:
    return {"metadata": {"name": name, "labels": labels}}


def test_required_node_affinity_as_the_scheduler_and_daemonset_controller_read_it() -> None:
    def spec(*terms: dict[str, object], **node_selector: str) -> dict[str, object]:
        out: dict[str, object] = {"nodeSelector": node_selector} if node_selector else {}
        if terms:
            out["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                                                {"nodeSelectorTerms": list(terms)}}}
        return out

    big = _node("w1", disk="ssd", cores="8")
    small = _node("w2", disk="hdd", cores="2")
    assert selectors.required_node_affinity_matches({}, small)
    assert selectors.required_node_affinity_matches(spec(disk="ssd"), big)
    assert not selectors.required_node_affinity_matches(spec(disk="ssd"), small)
    gt4 = {"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["4"]}]}
    assert selectors.required_node_affinity_matches(spec(gt4), big)
    assert not selectors.required_node_affinity_matches(spec(gt4), small)
    by_name = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["w2"]}]}
    assert selectors.required_node_affinity_matches(spec(gt4, by_name), small)  # any term
    assert not selectors.required_node_affinity_matches(spec({}), big)  # empty term: none
