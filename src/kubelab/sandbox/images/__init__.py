"""Simulated container images: look an image up, answer its HTTP requests, start its program.

The kubelet asks :func:`lookup` when it "pulls" an image (unknown repository or tag →
:class:`ImageNotFound`, whose message is containerd's ``not found`` error plus the sandbox's
hint naming the nearest known image or tags), :func:`with_argv` fixes what a container runs
(``ENTRYPOINT``/``CMD`` combined with the pod's ``command``/``args``, which decide the app of
agnhost, perl or python images: :mod:`.programs`), :func:`respond` is the pure request →
response function of an image's app (used by the aiohttp server in :mod:`.server` and by
tests), :func:`root_filesystem` lays the image's files under a starting container's, and
:func:`program` starts the process of a shell or program image. See
:mod:`.catalog` for the data.
"""

from __future__ import annotations

import difflib
import functools
import mimetypes
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from string import Template

from kubelab.sandbox.images import filesystems, programs
from kubelab.sandbox.images.catalog import (
    CATALOG,
    REGISTRY_ALIASES,
    HttpApp,
    ImageBehaviour,
    Route,
)
from kubelab.sandbox.images.reference import ImageRef, InvalidImageName, parse
from kubelab.sandbox.images.shell import Program, ProgramRun, Shell
from kubelab.sandbox.images.shell import available as shell_available

__all__ = [
    "CATALOG",
    "HttpApp",
    "Image",
    "ImageBehaviour",
    "ImageNotFound",
    "ImageRef",
    "InvalidImageName",
    "ProgramRun",
    "Response",
    "Route",
    "Shell",
    "known_images",
    "lookup",
    "parse",
    "program",
    "pull_seconds",
    "request_log_line",
    "respond",
    "root_filesystem",
    "shell_program",
    "start_log_lines",
    "with_argv",
]

#: Simulated registry bandwidth, bytes per simulated second.
PULL_BANDWIDTH = 80_000_000


class ImageNotFound(LookupError):
    """The registry has no such image or tag; ``message`` reads like containerd's error,
    followed by the sandbox's own hint (the nearest known image or tags)."""

    def __init__(self, reference: str, ref: ImageRef, hint: str = "") -> None:
        self.reference = reference
        self.hint = hint or f"this image is not simulated; known images: {known_images()}"
        self.message = (
            f"rpc error: code = NotFound desc = failed to pull and unpack image \"{ref.full}\": "
            f"failed to resolve reference \"{ref.full}\": {ref.full}: not found"
            f" (kubelab sandbox: {self.hint})")
        super().__init__(self.message)


@dataclass(frozen=True)
class Image:
    """A resolved image: its reference and behaviour, and (once a container of it starts)
    the argv the container runs, which decides the app of a runner image."""

    ref: ImageRef
    behaviour: ImageBehaviour
    argv: tuple[str, ...] = ()

    @property
    def launch(self) -> programs.Launch | None:
        if not self.behaviour.runner:
            return None
        argv = self.argv or (*self.behaviour.entrypoint, *self.behaviour.default_command)
        return programs.launch(self.behaviour.runner, self.ref.tag, argv)

    @property
    def app(self) -> HttpApp | None:
        if self.behaviour.runner:
            launched = self.launch
            return launched.app if launched is not None else None
        return self.behaviour.app_for(self.ref.tag)


def _short(repository: str) -> str:
    return repository.removeprefix("docker.io/").removeprefix("library/")


def known_images() -> str:
    """The images a learner can use, as one comma-separated hint (tags when there are few)."""
    names: list[str] = []
    for b in CATALOG:
        if b.repository.startswith("registry.k8s.io/kube-") or b.description.endswith(
                "(cluster component)") or "CoreDNS" in b.description:
            continue  # cluster components, not for learners' pods
        short = _short(b.repository)
        if b.tags and len(b.tags) <= 3:
            names.extend(f"{short}:{t}" for t in b.tags)
        else:
            names.append(short)
    return ", ".join(names)


def canonical(ref: ImageRef) -> str:
    """The repository ``ref`` names, with registry aliases resolved (``mirror.gcr.io/nginx``,
    ``k8s.gcr.io/pause`` → ``docker.io/library/nginx``, ``registry.k8s.io/pause``)."""
    for (registry, prefix), (target, target_prefix) in REGISTRY_ALIASES.items():
        if ref.registry == registry and ref.repository.startswith(prefix):
            repository = target_prefix + ref.repository.removeprefix(prefix)
            if target == "docker.io" and "/" not in repository:
                repository = f"library/{repository}"
            return f"{target}/{repository}"
    return ref.name


def _nearest_tags(tag: str, tags: Sequence[str]) -> list[str]:
    """The known tags nearest ``tag``: among those of the same variant (``-alpine``) when
    there are any, else among plain version tags; ranked by the longest common prefix
    (``1.16.2`` → ``1.16.1``), then as many version parts (``1.99-typo`` → ``1.29``), then
    the newest, then :mod:`difflib`'s similarity."""
    variant = tag.partition("-")[2]
    same = [t for t in tags if t.partition("-")[2] == variant]
    plain = [t for t in tags if "-" not in t]
    candidates = same or plain or list(tags)

    def common(candidate: str) -> int:
        n = 0
        for a, b in zip(tag, candidate, strict=False):
            if a != b:
                break
            n += 1
        return n

    def version(candidate: str) -> tuple[int, ...]:
        parts = candidate.partition("-")[0].lstrip("v").split(".")
        return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else ()

    depth = len(re.match(r"v?[\d.]*", tag)[0].strip(".").split("."))  # type: ignore[index]

    def rank(candidate: str) -> tuple[int, bool, tuple[int, ...], float]:
        similarity = difflib.SequenceMatcher(None, tag, candidate).ratio()
        same_depth = len(version(candidate)) == depth
        return common(candidate), same_depth, version(candidate), similarity

    return sorted(candidates, key=rank, reverse=True)[:3]


def _hint(ref: ImageRef) -> str:
    name = canonical(ref)
    behaviour = next((b for b in CATALOG if b.repository == name), None)
    if behaviour is not None:
        nearest = [f"{_short(name)}:{t}" for t in _nearest_tags(ref.tag, behaviour.tags)]
        last = name.rsplit("/", 1)[-1]
        nearest += [f"{_short(b.repository)}:{ref.tag}" for b in CATALOG
                    if b is not behaviour and b.repository.rsplit("/", 1)[-1] == last
                    and ref.tag in b.tags]
        return f'{_short(name)} has no tag "{ref.tag}" here; nearest: {", ".join(nearest)}'
    shorts = {_short(b.repository): b for b in CATALOG}
    last = _short(name).rsplit("/", 1)[-1]
    same_name = [s for s in shorts if s.rsplit("/", 1)[-1] == last]
    close = same_name or difflib.get_close_matches(_short(name), list(shorts), n=3, cutoff=0.6)         or difflib.get_close_matches(last, [s.rsplit("/", 1)[-1] for s in shorts], n=3, cutoff=0.6)
    if not close:
        return f"this image is not simulated; known images: {known_images()}"
    suggestions = []
    for candidate in close:
        found = shorts.get(candidate) or next(b for s, b in shorts.items()
                                              if s.rsplit("/", 1)[-1] == candidate)
        short = _short(found.repository)
        if ref.tag and found.tags and ref.tag not in found.tags:
            suggestions.append(f"{short}:{_nearest_tags(ref.tag, found.tags)[0]}")
        else:
            suggestions.append(f"{short}:{ref.tag}" if ref.tag else short)
    return (f"this image is not simulated; did you mean {' or '.join(suggestions)}? "
            f"known images: {known_images()}")


def lookup(reference: str) -> Image:
    """Resolve ``reference``; raise :class:`InvalidImageName` or :class:`ImageNotFound`."""
    ref = parse(reference)
    name = canonical(ref)
    for behaviour in CATALOG:
        if behaviour.repository == name and (
                not behaviour.tags or ref.tag in behaviour.tags or (ref.digest and not ref.tag)):
            return Image(ref, behaviour)
    raise ImageNotFound(reference, ref, _hint(ref))


def with_argv(image: Image, command: Sequence[str], args: Sequence[str]) -> Image:
    """``image`` as a container started with ``command``/``args`` runs it.

    As the container runtime combines them: ``command`` replaces the ``ENTRYPOINT`` and
    ``args`` the ``CMD``; ``command`` alone drops the ``CMD``.
    """
    b = image.behaviour
    argv = (*command, *args) if command else (*b.entrypoint, *(args or b.default_command))
    return replace(image, argv=tuple(str(a) for a in argv))


def start_log_lines(image: Image, pod: str, started: datetime, ip: str = "") -> list[str]:
    """What the image's process prints at start, its placeholders filled in."""
    launched = image.launch
    lines = launched.start_logs if launched is not None else image.behaviour.start_logs
    app = image.app
    values = _TimeValues(started, {"pod": pod, "port": str(app.port if app else 0),
                                   "ip": ip or "10.244.0.1"})
    return [_template(line).safe_substitute(values) for line in lines]


def request_log_line(app: HttpApp, pod: str, method: str, path: str, status: int, count: int,
                     uptime: float, now: datetime) -> str:
    """The app's log line for one request (empty when the app logs none)."""
    if not app.request_log:
        return ""
    values = _TimeValues(now, {"pod": pod, "method": method, "path": path,
                               "status": str(status), "count": str(count),
                               "uptime": f"{uptime:.3f}".rstrip("0").rstrip(".")})
    return _template(app.request_log).safe_substitute(values)


def _millis(when: datetime) -> str:
    return f"{when.microsecond // 1000:03d}"


def _js_iso(when: datetime) -> str:
    """Node's ``new Date().toISOString()``."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + _millis(when) + "Z"


#: Timestamps as the images' runtimes print them (Node's ISO, Go's log, Redis, Apache).
_TIME_FORMATS: dict[str, Callable[[datetime], str]] = {
    "started": _js_iso,
    "now": _js_iso,
    "gotime": lambda w: w.strftime("%Y/%m/%d %H:%M:%S"),
    "redistime": lambda w: w.strftime("%d %b %Y %H:%M:%S.") + _millis(w),
    "apachetime": lambda w: w.strftime("%d/%b/%Y:%H:%M:%S +0000"),
    "pytime": lambda w: w.strftime("%d/%b/%Y %H:%M:%S"),
}


class _TimeValues(dict[str, str]):
    """A template's values, each timestamp formatted only if the template names it: a load
    generator's request loop formatted all six for every request, a fifth of its cost."""

    def __init__(self, when: datetime, values: dict[str, str]) -> None:
        super().__init__(values)
        self._when = when

    def __missing__(self, key: str) -> str:
        value = _TIME_FORMATS[key](self._when)  # KeyError: not a placeholder we fill
        self[key] = value
        return value


@functools.lru_cache(maxsize=512)
def _template(text: str) -> Template:
    """A compiled template: the catalog's lines and bodies, reused request after request
    (bounded: a body a query filled in is a new text)."""
    return Template(text)


def pull_seconds(image: Image) -> float:
    """How long a pull takes in simulated seconds (half a second plus size / bandwidth)."""
    return round(0.5 + image.behaviour.size / PULL_BANDWIDTH, 3)


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: str
    server: str = ""


def respond(app: HttpApp, pod: str, path: str, query: dict[str, str] | None = None,
            uptime: float = 0.0, now: datetime | None = None,
            files: Mapping[str, str] | None = None) -> Response:
    """Pure: the answer of ``app`` running in pod ``pod``, up ``uptime`` seconds, to
    ``GET path?query``; ``files`` are the container's files (its mounted volumes and what
    was written in it), which a web server with a ``document_root`` serves."""
    served = _static(app, path, files or {})
    if served is not None:
        return served
    route: Route = app.routes.get(path, app.fallback)
    if route.after is not None and route.later is not None and uptime > route.after:
        route = route.later
    body = route.body
    for param, variant in route.variants:
        if query and query.get(param):
            body = _template(variant).safe_substitute({param: query[param]})
            break
    values = {"pod": pod, "uptime": f"{uptime:g}"}
    if now is not None:
        values["now"] = now.strftime("%Y-%m-%d %H:%M:%S.%f000 +0000 UTC")  # Go's time.Time
    body = _template(body).safe_substitute(values)
    return Response(route.status, route.content_type, body, app.server)


def answer_changes_at(app: HttpApp, path: str, files: Mapping[str, str]) -> float | None:
    """The uptime after which :func:`respond` may answer ``GET path`` otherwise with nothing
    else changed (a route that turns into its ``later`` form, agnhost's liveness); None when
    only a change of files can change the answer. The kubelet's probe loop asks, to know
    whether a probe that passed (or failed) will keep doing so as time passes."""
    if _static(app, path, files) is not None:
        return None
    route = app.routes.get(path, app.fallback)
    return route.after if route.after is not None and route.later is not None else None


#: Commands that name an image's own daemon even though the shell knows them (the shell's
#: ``nginx`` answers ``nginx -v``/``-t`` in an exec; as a container's command it is the server).
_DAEMONS = frozenset({"nginx"})


def shell_program(name: str) -> bool:
    """Whether a container whose ``command`` names ``name`` runs it in the sandbox shell.

    The shell's own table decides (its built-ins and BusyBox applets,
    :func:`~kubelab.sandbox.images.shell.available`), so every command an exec can run can
    also be a container's program; in an app image any other ``command`` is taken to start
    the app itself (``nginx -g 'daemon off;'``, ``/usr/local/bin/kube-proxy …``).
    """
    return name not in _DAEMONS and shell_available(name)


def _static(app: HttpApp, path: str, files: Mapping[str, str]) -> Response | None:
    """A web server's answer from the container's files under its document root, or None
    when nothing is there (the image's own pages answer).

    As on a node, a volume mounted on the document root hides the image's pages: once any
    file lies there, only those files exist (a directory without ``index.html`` is 403 for
    nginx, a missing file 404).
    """
    root = app.document_root
    if not root or not any(name.startswith(root + "/") for name in files):
        return None
    target = posixpath.normpath(root + "/" + path.lstrip("/"))
    if target != root and not target.startswith(root + "/"):
        return None
    if path.endswith("/") or target == root:
        index = posixpath.join(target, "index.html")
        if index in files:
            return Response(200, HTML_TYPE, files[index], app.server)
        route = app.forbidden or app.fallback
        return Response(route.status, route.content_type, route.body, app.server)
    if target in files:
        kind = mimetypes.guess_type(target)[0] or "application/octet-stream"
        return Response(200, kind, files[target], app.server)
    return Response(app.fallback.status, app.fallback.content_type, app.fallback.body, app.server)


HTML_TYPE = "text/html"


def runs_program(image: Image, command: list[str], args: list[str]) -> bool:
    """Whether the container runs a shell program (else the image's app or daemon)."""
    if image.behaviour.shell:
        return True
    launched = _launch_for(image, command, args)
    if launched is not None:
        return launched.program is not None
    argv = list(command or args)
    return bool(argv) and shell_program(argv[0].rsplit("/", 1)[-1])


def root_filesystem(image: Image, files: dict[str, str], mounts: Sequence[str] = ()) -> None:
    """Lay ``image``'s own files (:mod:`.filesystems`) under a starting container's ``files``.

    The kubelet calls this when it starts a container (the runtime unpacks the image's layers
    as the container's root file system before its process runs), so the container's own
    program sees the same tree an exec does: ``sh -c 'cat /etc/os-release'`` logs it and
    nginx serves ``/usr/share/nginx/html`` from it. ``mounts`` are the container's mount
    paths, which hide the image's files beneath them.
    """
    filesystems.populate(image.ref.name, files, image.ref.tag, mounts)


def program(image: Image, command: list[str], args: list[str], shell: Shell) -> Program:
    """Start a shell image's process the way a container runtime combines ENTRYPOINT/CMD.

    The simulated images have no ENTRYPOINT, only a CMD (``default_command``): ``command``
    replaces the entrypoint and ``args`` the CMD, so the process is ``command + args``, or
    ``args`` alone, or the CMD when neither is given (``kubectl run x --image=busybox -- sh
    -c …`` sets only ``args``). ``sh -c SCRIPT`` runs the script; a bare ``sh`` (no terminal
    attached) exits at once with status 0; any other argv runs as one exec-form command.
    """
    launched = _launch_for(image, command, args)
    if launched is not None and launched.program is not None:
        return launched.program(shell)
    if command:
        argv = list(command) + list(args)
    else:
        argv = list(args) or list(image.behaviour.default_command)
    if argv and argv[0].rsplit("/", 1)[-1] in ("sh", "ash", "bash"):
        rest = argv[1:]
        if rest[:1] == ["-c"] and len(rest) >= 2:
            return shell.run_script(rest[1])
        if rest[:1] == ["-c"]:
            return shell.run_script("")
        return shell.run_script("")
    return shell.run_argv(argv)


def _launch_for(image: Image, command: Sequence[str], args: Sequence[str]) -> programs.Launch | None:
    if not image.behaviour.runner:
        return None
    return with_argv(image, command, args).launch
