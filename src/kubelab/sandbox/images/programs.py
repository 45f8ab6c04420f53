"""Images whose behaviour depends on the container's argv: agnhost, perl, python, redis.

On a node the container runtime starts ``ENTRYPOINT + CMD`` (or the pod's ``command`` and
``args``), and what the process does depends on those words: Kubernetes' e2e image
``agnhost`` runs the subcommand it is given (``netexec``, ``serve-hostname``, ``liveness``,
``pause``), the Job tutorial's ``perl -Mbignum=bpi -wle 'print bpi(2000)'`` prints pi, and
``python -m http.server`` serves a directory. The sandbox runs no processes, so
:func:`launch` reads the argv and says what the container is: an HTTP app
(:class:`~.catalog.HttpApp`), a program (a generator of the shell's ``Output``/``Sleep``
steps, like the sandbox shell's), or a daemon that runs until stopped. It supports what the
tutorials use and fails anything else with a clear message; nothing is evaluated: Python is
read with :mod:`ast` (literals only), Perl by a pattern for the scripts the docs show.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kubelab.sandbox.images import ingress_nginx
from kubelab.sandbox.images.catalog import PYTHON_TAGS, REDIS_TAGS, HttpApp, Route
from kubelab.sandbox.images.shell import Output, Program, Shell, Sleep

#: Simulated CPU time perl's bignum needs for ``bpi(2000)`` before it prints.
BPI_SECONDS = 0.5


@dataclass(frozen=True)
class Launch:
    """What a container of a runner image is, given its argv.

    Exactly one of ``app`` (it serves HTTP) and ``program`` (it runs and exits) is set, or
    neither (a daemon such as ``agnhost pause``). ``start_logs`` are printed at start
    (placeholders as in :func:`kubelab.sandbox.images.start_log_lines`).
    """

    app: HttpApp | None = None
    program: Callable[[Shell], Program] | None = None
    start_logs: tuple[str, ...] = ()


def launch(runner: str, tag: str, argv: Sequence[str]) -> Launch | None:
    """The container started with ``argv``; None when argv is not the image's own program
    (``sh -c …`` in a python image runs in the sandbox shell instead)."""
    if not argv:
        return None
    name = argv[0].rsplit("/", 1)[-1]
    handler = _RUNNERS.get(runner)
    if handler is None:
        return None
    return handler(name, list(argv[1:]), tag)


def _fails(*lines: str, code: int = 1) -> Callable[[Shell], Program]:
    def run(_shell: Shell) -> Program:
        for line in lines:
            yield Output(line, stderr=True)
        return code
    return run


def _prints(lines: Sequence[str], *, delay: float = 0.0, code: int = 0) -> Callable[[Shell], Program]:
    def run(_shell: Shell) -> Program:
        if delay:
            yield Sleep(delay)
        for line in lines:
            yield Output(line)
        return code
    return run


def _flags(words: Sequence[str]) -> dict[str, str]:
    """``--name=value`` and ``--name value`` flags (Go's flag/pflag syntax)."""
    out: dict[str, str] = {}
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("-"):
            key, eq, value = word.lstrip("-").partition("=")
            if not eq and i + 1 < len(words) and not words[i + 1].startswith("-"):
                value = words[i + 1]
                i += 1
            out[key] = value if (eq or value) else "true"
        i += 1
    return out


def _port(flags: dict[str, str], name: str, default: int) -> int:
    text = flags.get(name, "")
    return int(text) if text.isdigit() and 0 < int(text) < 65536 else default


# ----------------------------------------------------------------------------- agnhost

_GO_404 = Route("404 page not found\n", 404)
_AGNHOST_COMMANDS = ("audit-proxy", "connect", "crd-conversion-webhook", "dns-server-list",
                     "entrypoint-tester", "fake-gitserver", "guestbook", "inclusterclient",
                     "liveness", "logs-generator", "mounttest", "net", "netexec", "nettest",
                     "no-snat-test", "pause", "port-forward-tester", "porter",
                     "resource-consumer-controller", "serve-hostname", "test-webserver",
                     "webhook")


def liveness_app(port: int = 8080) -> HttpApp:
    """agnhost ``liveness`` (and the old ``registry.k8s.io/liveness``): ``/healthz`` answers
    200 ``ok`` for the first 10 seconds, then 500 ``error: <seconds>``, as the probes
    tutorial's HTTP liveness example relies on."""
    failing = Route("error: $uptime", 500)
    return HttpApp(port, {
        "/healthz": Route("ok", after=10.0, later=failing),
        "/started": Route("${uptime}s"),  # Go's Duration.String()
    }, _GO_404)


def _netexec(port: int) -> HttpApp:
    return HttpApp(port, {
        "/": Route("NOW: $now"),
        "/hostname": Route("$pod"),
        "/healthz": Route(""),
        "/echo": Route("", variants=(("msg", "$msg"),)),
        "/clientip": Route("10.244.0.1:0"),
    }, _GO_404)


def _agnhost(name: str, words: list[str], _tag: str) -> Launch | None:
    if name != "agnhost":
        return None
    if not words or words[0] in ("-h", "--help", "help"):
        return Launch(program=_prints([
            "Usage:", "  agnhost [command]", "", "Available Commands:",
            *(f"  {command}" for command in _AGNHOST_COMMANDS), "",
            'Use "agnhost [command] --help" for more information about a command.']))
    command, flags = words[0], _flags(words[1:])
    if command == "netexec":
        port = _port(flags, "http-port", 8080)
        return Launch(app=_netexec(port), start_logs=(
            f"Started HTTP server on port {port}",
            f"Started UDP server on port  {_port(flags, 'udp-port', 8081)}"))
    if command == "serve-hostname":
        port = _port(flags, "port", 9376)
        return Launch(app=HttpApp(port, {}, Route("$pod")),
                      start_logs=(f"Serving on port {port}.",))
    if command == "liveness":
        return Launch(app=liveness_app())
    if command == "pause":
        return Launch(start_logs=("Paused",))
    if command in _AGNHOST_COMMANDS:
        return Launch(program=_fails(
            f"kubelab sandbox: agnhost {command} is not simulated; the sandbox runs netexec, "
            "serve-hostname, liveness and pause"))
    return Launch(program=_fails(f'Error: unknown command "{command}" for "agnhost"',
                                 "Run 'agnhost --help' for usage."))


def _old_liveness(name: str, _words: list[str], _tag: str) -> Launch | None:
    return Launch(app=liveness_app()) if name == "server" else None


# ----------------------------------------------------------------------------- perl


def pi_digits(significant: int) -> str:
    """Pi to ``significant`` digits, rounded half to even like Math::BigFloat's ``bpi``.

    Machin's formula ``pi = 16 atan(1/5) - 4 atan(1/239)`` in integer fixed point with ten
    guard digits.
    """
    guard = 10
    scale = 10 ** (significant + guard)

    def atan_inv(x: int) -> int:
        total, term, n, sign = 0, scale // x, 1, 1
        x2 = x * x
        while term:
            total += sign * (term // n)
            term //= x2
            n += 2
            sign = -sign
        return total

    pi = 16 * atan_inv(5) - 4 * atan_inv(239)  # pi * 10**(significant - 1 + guard + 1)
    digits = str(pi)[:significant + 1]
    keep, next_digit = int(digits[:significant]), int(digits[significant])
    rest = str(pi)[significant + 1:]
    if next_digit > 5 or (next_digit == 5 and (rest.strip("0") or keep % 2)):
        keep += 1
    text = str(keep)
    return f"{text[0]}.{text[1:]}" if significant > 1 else text


def _perl_string(literal: str) -> str | None:
    quote, body = literal[:1], literal[1:-1]
    if quote not in ("'", '"') or literal[-1:] != quote:
        return None
    if quote == '"':
        body = body.replace("\\n", "\n").replace("\\t", "\t").replace('\\"', '"')
    return body


def _perl(name: str, words: list[str], _tag: str) -> Launch | None:
    if not name.startswith("perl"):
        return None
    modules: list[str] = []
    newline = False
    script: str | None = None
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("-M"):
            modules.append(word[2:])
        elif word.startswith("-") and word != "-" and not word.startswith("--"):
            flags = word[1:]
            newline = newline or "l" in flags
            if flags.endswith("e") and i + 1 < len(words):
                script = words[i + 1]
                i += 1
        i += 1
    if script is None:
        # perl with no script reads one from stdin, which a container without one closes.
        return Launch(program=_prints([]))
    end = "" if not newline else "\n"
    statement = script.strip().rstrip(";").strip()
    if statement.startswith("print"):
        argument = statement[len("print"):].strip()
        if argument.startswith("bpi(") and argument.endswith(")") and argument[4:-1].isdigit():
            if not any(m.startswith("bignum") and "bpi" in m for m in modules):
                return Launch(program=_fails(
                    "Undefined subroutine &main::bpi called at -e line 1.", code=255))
            return Launch(program=_prints([pi_digits(int(argument[4:-1]))], delay=BPI_SECONDS))
        text = _perl_string(argument)
        if text is not None:
            return Launch(program=_prints((text + end).splitlines()))
    return Launch(program=_fails(
        "kubelab sandbox: this perl program is not simulated (the sandbox runs "
        "print bpi(N) with -Mbignum=bpi, and print \"text\")", code=255))


# ----------------------------------------------------------------------------- python


def _python_version(tag: str) -> str:
    return PYTHON_TAGS.get(tag, PYTHON_TAGS["latest"])


def directory_listing(entries: Sequence[str]) -> str:
    """The page ``http.server`` renders for a directory (``SimpleHTTPRequestHandler``)."""
    items = "".join(f'<li><a href="{e}">{e}</a></li>\n' for e in entries)
    return ('<!DOCTYPE HTML>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            "<title>Directory listing for /</title>\n</head>\n<body>\n"
            "<h1>Directory listing for /</h1>\n<hr>\n<ul>\n"
            f"{items}</ul>\n<hr>\n</body>\n</html>\n")


_PY_404 = Route('<!DOCTYPE HTML>\n<html lang="en">\n    <head>\n        <meta charset="utf-8">\n'
                "        <title>Error response</title>\n    </head>\n    <body>\n"
                "        <h1>Error response</h1>\n        <p>Error code: 404</p>\n"
                "        <p>Message: File not found.</p>\n"
                "        <p>Error code explanation: 404 - Nothing matches the given URI.</p>\n"
                "    </body>\n</html>\n", 404, "text/html; charset=utf-8")
_ROOT = ("bin@", "boot/", "dev/", "etc/", "home/", "lib/", "lib64/", "media/", "mnt/", "opt/",
         "proc/", "root/", "run/", "sbin/", "srv/", "sys/", "tmp/", "usr/", "var/")


class _Unsupported(Exception):
    pass


def _python_statements(code: str) -> list[tuple[str, object]]:
    """Read ``python -c`` code into (op, value) steps; literals only, nothing evaluated."""
    try:
        tree = ast.parse(code, mode="exec")
    except SyntaxError as err:
        raise _Unsupported(f"SyntaxError: {err.msg}") from err
    steps: list[tuple[str, object]] = []
    for node in tree.body:
        if isinstance(node, ast.Import) and all(a.name in ("sys", "time", "os") for a in node.names):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            call = node.value
            func = ast.unparse(call.func)
            try:
                args = [ast.literal_eval(a) for a in call.args]
                kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
            except ValueError as err:
                raise _Unsupported(ast.unparse(node)) from err
            if func == "print":
                sep, end = str(kwargs.get("sep", " ")), str(kwargs.get("end", "\n"))
                steps.append(("print", sep.join(str(a) for a in args) + end))
                continue
            if func == "time.sleep" and len(args) == 1 and isinstance(args[0], int | float):
                steps.append(("sleep", float(args[0])))
                continue
            if func == "sys.exit" and len(args) <= 1:
                steps.append(("exit", args[0] if args else 0))
                continue
        raise _Unsupported(ast.unparse(node))
    return steps


def _python_program(steps: list[tuple[str, object]]) -> Callable[[Shell], Program]:
    def run(_shell: Shell) -> Program:
        pending = ""
        for op, value in steps:
            if op == "print":
                pending += str(value)
                *lines, pending = pending.split("\n")
                for line in lines:
                    yield Output(line)
            elif op == "sleep":
                yield Sleep(float(value))  # type: ignore[arg-type]
            else:
                if pending:
                    yield Output(pending)
                if isinstance(value, int):
                    return value
                yield Output(str(value), stderr=True)
                return 1
        if pending:
            yield Output(pending)
        return 0
    return run


def _python(name: str, words: list[str], tag: str) -> Launch | None:
    if not name.startswith("python"):
        return None
    version = _python_version(tag)
    while words and words[0] in ("-u", "-B", "-E", "-I", "-O", "-OO", "-s", "-S", "-q"):
        words = words[1:]  # interpreter options that change nothing here
    if not words:
        return Launch(program=_prints([]))  # the REPL reads a closed stdin and exits
    if words[0] in ("-V", "--version"):
        return Launch(program=_prints([f"Python {version}"]))
    if words[:2] == ["-m", "http.server"]:
        rest = words[2:]
        ports = [w for w in rest if w.isdigit()]
        port = int(ports[0]) if ports else 8000
        app = HttpApp(port, {"/": Route(directory_listing(_ROOT), content_type="text/html; charset=utf-8")},
                      _PY_404, server=f"SimpleHTTP/0.6 Python/{version}",
                      request_log='10.244.0.1 - - [$pytime] "$method $path HTTP/1.1" $status -')
        return Launch(app=app)
    if words[0] == "-c" and len(words) >= 2:
        try:
            return Launch(program=_python_program(_python_statements(words[1])))
        except _Unsupported as err:
            return Launch(program=_fails(
                f"kubelab sandbox: python -c runs print(), time.sleep() and sys.exit() with "
                f"literal arguments; not simulated: {err}"))
    if words[0].endswith(".py") or words[0] == "-":
        return Launch(program=_fails(
            f"kubelab sandbox: python does not run script files here ({words[0]}); it runs "
            "python -m http.server [port] and python -c with print(), time.sleep(), sys.exit()"))
    return Launch(program=_fails(
        "kubelab sandbox: this python command is not simulated (the sandbox runs "
        "python -m http.server [port] and python -c with print())", code=2))


# ----------------------------------------------------------------------------- redis


def _redis(name: str, words: list[str], tag: str) -> Launch | None:
    if name == "docker-entrypoint.sh":
        name, words = (words[0].rsplit("/", 1)[-1], words[1:]) if words else ("", [])
    if name != "redis-server":
        return None
    version = REDIS_TAGS.get(tag, REDIS_TAGS["latest"])
    flags = _flags(words)
    port = _port(flags, "port", 6379)
    # Simulation: a TCP listener for probes, Services and port-forward; it does not speak
    # RESP, so an HTTP client gets the error a real Redis sends for an unknown command.
    app = HttpApp(port, {}, Route("-ERR unknown command\r\n", 400))
    return Launch(app=app, start_logs=(
        "1:C $redistime * oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
        f"1:C $redistime * Redis version={version}, bits=64, commit=00000000, modified=0, "
        "pid=1, just started",
        "1:C $redistime # Warning: no config file specified, using the default config. In "
        "order to specify a config file use redis-server /path/to/redis.conf",
        "1:M $redistime * monotonic clock: POSIX clock_gettime",
        f"1:M $redistime * Running mode=standalone, port={port}.",
        "1:M $redistime * Server initialized",
        "1:M $redistime * Ready to accept connections tcp"))


def _ingress_nginx(name: str, args: list[str], tag: str) -> Launch | None:
    """``/usr/bin/dumb-init -- /nginx-ingress-controller --flags…``: the controller's nginx."""
    app = ingress_nginx.app_for([name, *args])
    return Launch(app=app, start_logs=ingress_nginx.start_logs(tag)) if app else None


_RUNNERS: dict[str, Callable[[str, list[str], str], Launch | None]] = {
    "agnhost": _agnhost,
    "ingress-nginx": _ingress_nginx,
    "liveness": _old_liveness,
    "perl": _perl,
    "python": _python,
    "redis": _redis,
}
