"""A started sandbox is announced with its nodes registered, as ``kind create cluster``
returns once its nodes have joined."""

from __future__ import annotations

from pathlib import Path

from sandbox_support import SandboxHandle

from kubelab.sandbox import bootstrap, daemon


def test_an_immediate_get_nodes_lists_every_node(tmp_path: Path) -> None:
    state = tmp_path / "sandbox"
    info = daemon.start(state, nodes=2, speed=20, node_ports=False, virtual_time=True)
    sandbox = SandboxHandle(state, info)
    try:
        listed = sandbox.kubectl("get", "nodes", "-o", "name").stdout.split()
        assert sorted(listed) == sorted(f"node/{n}" for n in bootstrap.node_names(2))
    finally:
        sandbox.stop()
