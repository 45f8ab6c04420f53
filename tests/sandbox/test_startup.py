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
        # A grading (virtual-time) sandbox keeps its datastore in memory: no file.
        assert not (state / "etcd.sqlite").exists()
    finally:
        sandbox.stop()


def test_a_sandbox_keeps_its_datastore_file_unless_started_in_memory(tmp_path: Path) -> None:
    state = tmp_path / "sandbox"
    info = daemon.start(state, nodes=1, speed=20, node_ports=False, virtual_time=True,
                        in_memory=False)
    sandbox = SandboxHandle(state, info)
    try:
        sandbox.kubectl("create", "configmap", "kept", "--from-literal=a=b")
        assert (state / "etcd.sqlite").exists()
    finally:
        sandbox.stop()
