"""Simulated container images: look an image up, answer its HTTP requests, start its program.

The kubelet asks :func:`lookup` when it "pulls" an image (unknown → :class:`ImageNotFound`,
whose message is the container runtime's ``not found`` error plus a hint listing the images
the sandbox knows), :func:`respond` is the pure request → response function of an image's
app (used by the aiohttp server in :mod:`.server` and by tests), and :func:`program` starts
the process of a shell image. See :mod:`.catalog` for the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template

from kubelab.sandbox.images.catalog import CATALOG, HttpApp, ImageBehaviour, Route
from kubelab.sandbox.images.reference import ImageRef, InvalidImageName, parse
from kubelab.sandbox.images.shell import Program, ProgramRun, Shell

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
    "respond",
]

#: Simulated registry bandwidth, bytes per simulated second.
PULL_BANDWIDTH = 80_000_000


class ImageNotFound(LookupError):
    """The registry has no such image; ``message`` reads like containerd's error."""

    def __init__(self, reference: str, ref: ImageRef) -> None:
        self.reference = reference
        self.message = (
            f"rpc error: code = NotFound desc = failed to pull and unpack image \"{ref.full}\": "
            f"failed to resolve reference \"{ref.full}\": {ref.full}: not found"
            f" (kubelab sandbox: this image is not simulated; known images: {known_images()})")
        super().__init__(self.message)


@dataclass(frozen=True)
class Image:
    """A resolved image: its reference and behaviour."""

    ref: ImageRef
    behaviour: ImageBehaviour

    @property
    def app(self) -> HttpApp | None:
        return self.behaviour.app_for(self.ref.tag)


def known_images() -> str:
    """The images a learner can use, as one comma-separated hint."""
    names: list[str] = []
    for b in CATALOG:
        if b.repository.startswith("registry.k8s.io/"):
            continue  # cluster components, not for learners' pods
        short = b.repository.removeprefix("docker.io/").removeprefix("library/")
        names.extend(f"{short}:{t}" for t in b.tags) if b.tags else names.append(short)
    return ", ".join(names)


def lookup(reference: str) -> Image:
    """Resolve ``reference``; raise :class:`InvalidImageName` or :class:`ImageNotFound`."""
    ref = parse(reference)
    for behaviour in CATALOG:
        if behaviour.repository == ref.name and (
                not behaviour.tags or ref.tag in behaviour.tags or (ref.digest and not ref.tag)):
            return Image(ref, behaviour)
    raise ImageNotFound(reference, ref)


def pull_seconds(image: Image) -> float:
    """How long a pull takes in simulated seconds (half a second plus size / bandwidth)."""
    return round(0.5 + image.behaviour.size / PULL_BANDWIDTH, 3)


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: str
    server: str = ""


def respond(app: HttpApp, pod: str, path: str, query: dict[str, str] | None = None) -> Response:
    """Pure: the answer of ``app`` running in pod ``pod`` to ``GET path?query``."""
    route: Route = app.routes.get(path, app.fallback)
    body = route.body
    for param, variant in route.variants:
        if query and query.get(param):
            body = Template(variant).safe_substitute({param: query[param]})
            break
    body = Template(body).safe_substitute(pod=pod)
    return Response(route.status, route.content_type, body, app.server)


#: Programs the sandbox shell can run; in an app image, any other ``command`` is taken to
#: start the app itself (``nginx -g 'daemon off;'``, ``/usr/local/bin/kube-proxy …``).
SHELL_PROGRAMS = frozenset({"sh", "ash", "bash", "echo", "sleep", "cat", "printf", "date",
                            "env", "printenv", "true", "false", "exit", "touch", "ls", "pwd",
                            "whoami", "id", "uname", "hostname", "test", "mkdir", "rm"})


def runs_program(image: Image, command: list[str], args: list[str]) -> bool:
    """Whether the container runs a shell program (else the image's app or daemon)."""
    if image.behaviour.shell:
        return True
    argv = list(command or args)
    return bool(argv) and argv[0].rsplit("/", 1)[-1] in SHELL_PROGRAMS


def program(image: Image, command: list[str], args: list[str], shell: Shell) -> Program:
    """Start a shell image's process the way a container runtime combines ENTRYPOINT/CMD.

    The simulated images have no ENTRYPOINT, only a CMD (``default_command``): ``command``
    replaces the entrypoint and ``args`` the CMD, so the process is ``command + args``, or
    ``args`` alone, or the CMD when neither is given (``kubectl run x --image=busybox -- sh
    -c …`` sets only ``args``). ``sh -c SCRIPT`` runs the script; a bare ``sh`` (no terminal
    attached) exits at once with status 0; any other argv runs as one exec-form command.
    """
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
