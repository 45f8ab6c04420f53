"""Test support: a real sandbox process, the real kubectl, raw HTTP, the official client."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubelab.connect import kubectl_binary
from kubelab.sandbox import daemon

TEST_SPEED = float(os.environ.get("KUBELAB_TEST_SPEED", "50"))


@dataclass
class SandboxHandle:
    """A sandbox daemon started for tests, and ways to talk to it."""

    state_dir: Path
    info: daemon.ServerInfo

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def url(self) -> str:
        return self.info.url

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBECTL_")}
        env["KUBECONFIG"] = str(self.kubeconfig)
        cmd = [kubectl_binary(), "--cache-dir", str(self.state_dir / "kubectl-cache"), *args]
        proc = subprocess.run(cmd, input=input, capture_output=True, text=True, env=env,
                              timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc

    def request(self, method: str, path: str, body: bytes | str | dict[str, Any] | None = None,
                *, content_type: str = "application/json", token: str | None = None,
                accept: str = "application/json") -> tuple[int, Any]:
        """A raw HTTP request; returns (status, parsed JSON or text)."""
        data: bytes | None
        if isinstance(body, dict):
            data = json.dumps(body).encode()
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
        headers = {"Accept": accept}
        if data is not None:
            headers["Content-Type"] = content_type
        tok = self.info.token if token is None else token
        if tok:
            headers["Authorization"] = f"Bearer {tok}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        ctx = ssl.create_default_context(cadata=daemon.ca_of(self.state_dir).decode())
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def api_client(self) -> Any:
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig))

    def stop(self) -> None:
        daemon.stop(self.state_dir)


def start_sandbox(state_dir: Path, *, nodes: int = 3, speed: float = TEST_SPEED) -> SandboxHandle:
    info = daemon.start(state_dir, nodes=nodes, speed=speed)
    return SandboxHandle(state_dir, info)


