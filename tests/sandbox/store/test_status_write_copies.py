"""A ``/status`` write takes status and annotations of the written object, everything else
from the stored one (upstream's status strategies' ``PrepareForUpdate``), and copies only
what it takes: the writer's object is neither changed nor kept, so a writer that goes on
using it (an in-process component) cannot reach into the stored version."""

from __future__ import annotations

import copy

from sandbox.store.test_registry import NS, PODS, _pod, _registry


def test_a_status_write_takes_status_and_annotations_only_and_keeps_nothing_of_the_writer() -> None:
    reg = _registry()
    reg.create(PODS, _pod("web"))
    written = reg.get(PODS, "default", "web")
    written["spec"]["containers"][0]["image"] = "httpd"  # not a status field: ignored
    written["metadata"]["labels"] = {"ignored": "yes"}
    written["metadata"]["annotations"] = {"note": "kept"}
    written["status"] = {"phase": "Running", "conditions": [{"type": "Ready",
                                                             "status": "True"}]}
    before = copy.deepcopy(written)
    stored = reg.update(PODS, written, subresource="status", copy_result=False)
    assert written == before  # the writer's object is unchanged
    assert stored["spec"]["containers"][0]["image"] == "nginx"
    assert "labels" not in stored["metadata"]
    assert stored["metadata"]["annotations"] == {"note": "kept"}
    assert stored["status"]["phase"] == "Running"
    assert stored["status"]["qosClass"] == "BestEffort"  # kept from the stored status
    # Nothing of the writer's is shared with the stored version.
    written["status"]["conditions"][0]["status"] = "False"
    written["metadata"]["annotations"]["note"] = "changed"
    again = reg.get(PODS, "default", "web")
    assert again["status"]["conditions"][0]["status"] == "True"
    assert again["metadata"]["annotations"] == {"note": "kept"}
    assert again["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]


def test_a_finalize_write_keeps_nothing_of_the_writer() -> None:
    reg = _registry()
    reg.create(NS, {"metadata": {"name": "team"}})
    written = reg.get(NS, "", "team")
    written["spec"] = {"finalizers": ["kubernetes", "example.com/x"]}
    reg.update(NS, written, subresource="finalize")
    written["spec"]["finalizers"].append("mutated")
    assert reg.get(NS, "", "team")["spec"]["finalizers"] == ["kubernetes", "example.com/x"]


def test_a_status_write_leaves_the_previous_version_as_it_was() -> None:
    """The new version shares what it did not change with the stored one; the stored one,
    which watchers and in-process readers hold uncopied, must not change."""
    reg = _registry()
    reg.create(PODS, _pod("web", node="n1"), manager="kubectl")
    held = reg.peek(PODS, "default", "web")
    assert held is not None
    snapshot = copy.deepcopy(held)
    for phase in ("Pending", "Running"):
        written = reg.get(PODS, "default", "web")
        written["status"] = {"phase": phase, "hostIP": "10.0.0.2"}
        written["metadata"]["annotations"] = {"phase": phase}
        stored = reg.update(PODS, written, subresource="status", manager="kubelet",
                            copy_result=False)
    assert held == snapshot
    assert stored["metadata"]["resourceVersion"] != held["metadata"]["resourceVersion"]
    assert [m["manager"] for m in stored["metadata"]["managedFields"]] == ["kubectl",
                                                                           "kubelet"]
    assert "managedFields" in held["metadata"] and len(held["metadata"]["managedFields"]) == 1
