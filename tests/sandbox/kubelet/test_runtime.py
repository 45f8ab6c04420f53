"""NodeRuntime's pod records: found by name in one lookup, through replacement and removal."""

from __future__ import annotations

from datetime import UTC, datetime

from kubelab.sandbox.kubelet.runtime import NodeRuntime, PodRecord

AT = datetime(2026, 1, 1, tzinfo=UTC)


def test_find_follows_admission_replacement_and_removal() -> None:
    runtime = NodeRuntime("node-1", 1)
    web = PodRecord("uid-1", "default", "web", AT)
    other = PodRecord("uid-2", "team-b", "web", AT)
    runtime.add(web)
    runtime.add(other)
    assert runtime.find("default", "web") is web
    assert runtime.find("team-b", "web") is other
    assert runtime.find("default", "db") is None
    # A pod of the same name and a new uid (a StatefulSet's web-0 recreated): the kubelet
    # admits the new one, then removes the old one; the name now means the new record.
    again = PodRecord("uid-3", "default", "web", AT)
    runtime.add(again)
    runtime.remove("uid-1")
    assert runtime.find("default", "web") is again
    runtime.remove("uid-3")
    assert runtime.find("default", "web") is None
    assert runtime.find("team-b", "web") is other


def test_find_sees_a_record_put_in_pods_directly() -> None:
    runtime = NodeRuntime("node-1", 1)
    record = PodRecord("uid-1", "default", "web", AT)
    runtime.pods[record.uid] = record
    assert runtime.find("default", "web") is record
