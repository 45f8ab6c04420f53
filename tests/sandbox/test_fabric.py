"""The fabric's routing table: a removed pod takes exactly its own endpoints with it."""

from __future__ import annotations

from kubelab.sandbox.fabric import Fabric


def test_unregister_pod_removes_its_endpoints_and_inline_apps_only() -> None:
    fabric = Fabric()
    fabric.register_endpoint("10.244.1.2", 80, "127.0.0.1", 40001)
    fabric.register_endpoint("10.244.1.2", 8080, "127.0.0.1", 40002)
    fabric.register_endpoint("10.244.1.3", 80, "127.0.0.1", 40003)
    app = object()
    fabric.register_inline("10.244.1.2", 80, app)  # type: ignore[arg-type]
    fabric.register_inline("10.244.1.3", 80, app)  # type: ignore[arg-type]
    fabric.unregister_endpoint("10.244.1.2", 8080)
    assert fabric.resolve("10.244.1.2", 8080) is None
    fabric.unregister_pod("10.244.1.2")
    assert fabric.resolve("10.244.1.2", 80) is None
    assert fabric.inline("10.244.1.2", 80) is None
    assert fabric.endpoints() == {("10.244.1.3", 80): ("127.0.0.1", 40003)}
    assert fabric.inline("10.244.1.3", 80) is app
    # The IP handed to a new pod starts empty, and registers afresh.
    fabric.register_endpoint("10.244.1.2", 80, "127.0.0.1", 40004)
    assert fabric.resolve("10.244.1.2", 80) == ("127.0.0.1", 40004)
    fabric.unregister_pod("10.244.1.2")
    fabric.unregister_pod("10.244.1.9")  # nothing there: nothing happens
    assert fabric.endpoints() == {("10.244.1.3", 80): ("127.0.0.1", 40003)}
