"""``wget``, ``curl`` and ``nslookup`` in the sandbox shell, over a scripted pod network."""

from __future__ import annotations

from sandbox.images.shell_steps import drain

from kubelab.sandbox.images.netutils import HttpResult, Resolved
from kubelab.sandbox.images.shell import Shell

IP = "10.96.12.7"


class ScriptedNetwork:
    """Cluster DNS knows ``web``; ``web`` answers on port 80 only; ``/missing`` is a 404."""

    def __init__(self) -> None:
        self.requests: list[str] = []

    def resolve(self, host: str) -> Resolved | None:
        if host.split(".")[0] == "web":
            return Resolved("web.default.svc.cluster.local", IP)
        return None

    def get(self, url: str) -> HttpResult:
        self.requests.append(url)
        host = url.split("://", 1)[1].split("/")[0].split(":")[0]
        port = int(url.split("://", 1)[1].split("/")[0].split(":")[1]) if url.count(":") > 1 \
            else (443 if url.startswith("https") else 80)
        if self.resolve(host) is None:
            return HttpResult(host, port=port, error="resolve")
        if url.startswith("https"):
            return HttpResult(host, IP, port, error="unsupported")
        if port != 80:
            return HttpResult(host, IP, port, error="refused")
        if url.endswith("/missing"):
            return HttpResult(host, IP, port, 404, "Not Found", "no such page\n")
        return HttpResult(host, IP, port, 200, "OK", "Hello Kubernetes!\n")


def run(script: str, network: ScriptedNetwork | None = None,
        files: dict[str, str] | None = None) -> tuple[list[str], list[str], int]:
    shell = Shell({}, files if files is not None else {}, network=network)
    return drain(shell.run_script(script))


def test_wget_quiet_to_stdout_prints_the_body_only() -> None:
    net = ScriptedNetwork()
    assert run("wget -qO- http://web", net) == (["Hello Kubernetes!"], [], 0)
    assert run("wget -q -O - web", net) == (["Hello Kubernetes!"], [], 0)
    assert net.requests == ["http://web", "http://web"]  # a bare name means http://


def test_wget_reports_progress_on_stderr_and_saves_files() -> None:
    files: dict[str, str] = {}
    out, err, code = run("wget web/index.html && cat index.html", ScriptedNetwork(), files)
    assert code == 0 and out == ["Hello Kubernetes!"]
    assert err == [f"Connecting to web ({IP}:80)", "saving to 'index.html'", "'index.html' saved"]
    assert files["/index.html"] == "Hello Kubernetes!\n"


def test_wget_errors_use_busybox_wording_and_status_1() -> None:
    net = ScriptedNetwork()
    assert run("wget -qO- http://nope", net) == ([], ["wget: bad address 'nope'"], 1)
    assert run("wget -qO- http://web:81", net) == (
        [], [f"wget: can't connect to remote host ({IP}): Connection refused"], 1)
    assert run("wget -qO- http://web/missing", net) == (
        [], ["wget: server returned error: HTTP/1.1 404 Not Found"], 1)
    assert run("wget -qO- https://web", net)[2] == 1
    assert run("wget", net)[2] == 1


def test_curl_exit_codes_follow_curl() -> None:
    net = ScriptedNetwork()
    assert run("curl -s http://web", net) == (["Hello Kubernetes!"], [], 0)
    assert run("curl http://nope", net) == ([], ["curl: (6) Could not resolve host: nope"], 6)
    assert run("curl -s http://nope", net) == ([], [], 6)  # -s without -S: silent
    assert run("curl -sS http://web:81", net)[1:] == (
        ["curl: (7) Failed to connect to web port 81 after 0 ms: Couldn't connect to server"], 7)
    assert run("curl http://web/missing", net) == (["no such page"], [], 0)  # 404 is a reply
    assert run("curl -f http://web/missing", net)[1:] == (
        ["curl: (22) The requested URL returned error: 404"], 22)
    assert run("curl -i http://web", net)[0] == ["HTTP/1.1 200 OK", "", "Hello Kubernetes!"]


def test_nslookup_answers_from_cluster_dns() -> None:
    out, _, code = run("nslookup web", ScriptedNetwork())
    assert code == 0 and out == ["Server:\t\t10.96.0.10", "Address:\t10.96.0.10:53", "",
                                 "Name:\tweb.default.svc.cluster.local", f"Address: {IP}", ""]
    out, _, code = run("nslookup nope", ScriptedNetwork())
    assert code == 1 and "** server can't find nope: NXDOMAIN" in out


def test_the_network_feeds_command_substitution_and_loops() -> None:
    net = ScriptedNetwork()
    out, _, _ = run('for i in 1 2; do echo "$i: $(wget -qO- web)"; done', net)
    assert out == ["1: Hello Kubernetes!", "2: Hello Kubernetes!"]


def test_a_containers_own_program_has_no_network_and_says_so() -> None:
    _, err, code = run("wget -qO- http://web")
    assert code == 1 and "has no network in the sandbox; try kubectl exec" in err[0]
    assert run("curl http://web")[1:] == (["curl: (6) Could not resolve host: web"], 6)
    assert run("nslookup web")[2] == 1
