"""``wget``, ``curl`` and ``nslookup`` for the sandbox shell, over an injected pod network.

A learner checks a Service from inside the cluster with ``kubectl exec POD -- wget -qO-
http://hello-world``: cluster DNS turns the name into the Service's ClusterIP, kube-proxy
sends the connection to a ready endpoint, and the pod's web server answers. The sandbox has no
packets; :class:`PodNetwork` is what a shell may ask instead (the API server implements it
from Services, EndpointSlices and the fabric of running app servers). The tools print what
BusyBox ``wget``/``nslookup`` and ``curl`` print, including their error wording and exit codes.

``kubectl exec`` sessions get a network, and so does a container's own program (its requests
answered in-process: :mod:`kubelab.sandbox.server.program_network`); a shell without one says so.
Simplified: ``wget`` draws no progress meter, ``nslookup`` prints one answer (BusyBox also
queries each search domain and AAAA records), and ``https`` is refused (no TLS).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

CLUSTER_DNS = "10.96.0.10"


@dataclass(frozen=True)
class Resolved:
    """A name the cluster DNS answered: its full name and address."""

    fqdn: str
    address: str


@dataclass(frozen=True)
class HttpResult:
    """What one HTTP GET got. ``error`` is ``"resolve"`` (no such name), ``"refused"`` (no
    endpoint or nothing listening) or ``"unsupported"`` (``https``); else a response."""

    host: str
    address: str = ""
    port: int = 80
    status: int = 0
    reason: str = ""
    body: str = ""
    error: str = ""


class PodNetwork(Protocol):
    """The cluster as a pod sees it: its DNS and its Services (blocking calls)."""

    def resolve(self, host: str) -> Resolved | None: ...

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> HttpResult:
        """GET ``url``; ``headers`` as sent (``curl -H 'Host: …'`` for an ingress)."""
        ...


def _url(arg: str) -> str:
    return arg if "://" in arg else f"http://{arg}"


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def wget(args: list[str], network: PodNetwork | None) -> tuple[list[tuple[str, bool]], int, str]:
    """BusyBox ``wget [-q] [-O FILE|-O-] [--header 'Name: value'] URL``: (lines with an
    is-stderr flag, status, and the file written, if any, as ``path\\0content``)."""
    quiet = False
    target: str | None = None
    urls: list[str] = []
    headers: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-q", "--quiet"):
            quiet = True
        elif arg == "--header" or arg.startswith("--header="):
            if arg == "--header":
                i += 1
            line = arg.partition("=")[2] if "=" in arg else (args[i] if i < len(args) else "")
            name, _, value = line.partition(":")
            if name.strip():
                headers[name.strip()] = value.strip()
        elif arg in ("-O", "--output-document"):
            i += 1
            target = args[i] if i < len(args) else "-"
        elif arg.startswith("-O"):
            target = arg[2:]
        elif arg.startswith("-") and arg != "-":
            for flag in arg[1:]:
                if flag == "q":
                    quiet = True
                elif flag == "O":
                    target = "-"
        else:
            urls.append(arg)
        i += 1
    if not urls:
        return [("BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.", True),
                ("Usage: wget [-cqS] [-O FILE] URL...", True)], 1, ""
    lines: list[tuple[str, bool]] = []
    written = ""
    for raw in urls:
        url = _url(raw)
        host = _host(url)
        if network is None:
            return [*lines, (f"wget: bad address '{host}' (a container's own program has no "
                             "network in the sandbox; try kubectl exec)", True)], 1, written
        result = network.get(url, headers) if headers else network.get(url)
        if result.error == "resolve":
            return [*lines, (f"wget: bad address '{host}'", True)], 1, written
        if not quiet:
            lines.append((f"Connecting to {host} ({result.address}:{result.port})", True))
        if result.error == "unsupported":
            return [*lines, ("wget: not an http or ftp url: https (TLS is not simulated)",
                             True)], 1, written
        if result.error == "refused":
            return [*lines, (f"wget: can't connect to remote host ({result.address}): "
                             "Connection refused", True)], 1, written
        if result.status >= 400:
            return [*lines, (f"wget: server returned error: HTTP/1.1 {result.status} "
                             f"{result.reason}", True)], 1, written
        name = target or (urlsplit(url).path.rsplit("/", 1)[-1] or "index.html")
        if name == "-":
            if not quiet:
                lines.append(("writing to stdout", True))
            lines.extend((line, False) for line in text_lines(result.body))
            if not quiet:
                lines.append(("written to stdout", True))
        else:
            if not quiet:
                lines.append((f"saving to '{name}'", True))
                lines.append((f"'{name}' saved", True))
            written = f"{name}\0{result.body}"
    return lines, 0, written


def curl(args: list[str], network: PodNetwork | None) -> tuple[list[tuple[str, bool]], int]:
    """``curl [-s] [-S] [-f] [-i] [-H 'Name: value'] URL``: body on stdout; errors as
    ``curl: (N) …``."""
    fail = include = False
    silent = show_errors = False
    urls: list[str] = []
    headers: dict[str, str] = {}
    words = iter(args)
    for arg in words:
        if arg in ("-H", "--header") or (arg.startswith("-H") and not arg.startswith("--")):
            line = arg[2:] if len(arg) > 2 and arg.startswith("-H") else next(words, "")
            name, _, value = line.partition(":")
            if name.strip():
                headers[name.strip()] = value.strip()
        elif arg.startswith("--"):
            fail = fail or arg == "--fail"
            include = include or arg == "--include"
            silent = silent or arg == "--silent"
            show_errors = show_errors or arg == "--show-error"
        elif arg.startswith("-") and len(arg) > 1:
            fail = fail or "f" in arg
            include = include or "i" in arg
            silent = silent or "s" in arg
            show_errors = show_errors or "S" in arg
        else:
            urls.append(arg)
    if not urls:
        return [("curl: try 'curl --help' or 'curl --manual' for more information", True)], 2
    quiet_errors = silent and not show_errors
    lines: list[tuple[str, bool]] = []
    for raw in urls:
        url = _url(raw)
        host = _host(url)
        if network is None:
            result = HttpResult(host, error="resolve")
        else:
            result = network.get(url, headers) if headers else network.get(url)
        if result.error in ("resolve", "refused", "unsupported"):
            code, text = {
                "resolve": (6, f"Could not resolve host: {host}"),
                "refused": (7, f"Failed to connect to {host} port {result.port} after 0 ms: "
                               "Couldn't connect to server"),
                "unsupported": (35, "TLS is not simulated in the sandbox"),
            }[result.error]
            return lines + ([] if quiet_errors else [(f"curl: ({code}) {text}", True)]), code
        if fail and result.status >= 400:
            return lines + ([] if quiet_errors else [
                (f"curl: (22) The requested URL returned error: {result.status}", True)]), 22
        if include:
            lines.append((f"HTTP/1.1 {result.status} {result.reason}", False))
            lines.append(("", False))
        lines.extend((line, False) for line in text_lines(result.body))
    return lines, 0


def nslookup(args: list[str], network: PodNetwork | None) -> tuple[list[tuple[str, bool]], int]:
    """BusyBox ``nslookup NAME``: the cluster DNS server, then the answer or NXDOMAIN."""
    names = [a for a in args if not a.startswith("-")]
    if not names:
        return [("Usage: nslookup [-type=QUERY_TYPE] [-debug] HOST [DNS_SERVER]", True)], 1
    name = names[0]
    head = [(f"Server:\t\t{CLUSTER_DNS}", False), (f"Address:\t{CLUSTER_DNS}:53", False),
            ("", False)]
    found = network.resolve(name) if network is not None else None
    if found is None:
        return [*head, (f"** server can't find {name}: NXDOMAIN", False), ("", False)], 1
    return [*head, (f"Name:\t{found.fqdn}", False), (f"Address: {found.address}", False),
            ("", False)], 0


def text_lines(body: str) -> list[str]:
    """The lines of a text, without the empty one after a final newline."""
    lines = body.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines
