"""The images the sandbox can "pull", and what a container of each one does.

A real node pulls layers from a registry and runs a process; the sandbox has neither, so
each known image is described here as data: the port it serves HTTP on and its routes (a
status and a body, which may name the serving pod), or that it runs the container's shell
command; the log lines it prints at start; its size for the kubelet's ``Pulled`` event.
The workshop's images (see the course's workshop notes) are all here, plus a few common ones.
Anything else fails to pull, as an image that does not exist would on a real cluster.

Bodies are :class:`string.Template` texts: ``$pod`` is the serving pod's name, and a
route's query ``variants`` may use the query parameter's value (``$myname``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

TEXT = "text/plain; charset=utf-8"
HTML = "text/html"


def page(name: str) -> str:
    """An HTML page template shipped in ``images/pages``."""
    return resources.files(__package__).joinpath("pages", name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Route:
    """One HTTP answer. ``variants`` pick another body when a query parameter is present."""

    body: str
    status: int = 200
    content_type: str = TEXT
    variants: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class HttpApp:
    """An HTTP server: exact-path routes, then ``fallback`` for any other path."""

    port: int
    routes: dict[str, Route]
    fallback: Route
    server: str = ""


@dataclass(frozen=True)
class ImageBehaviour:
    """What a container of this image does.

    Attributes:
        repository: the normalised repository (``docker.io/library/nginx``).
        tags: the tags that exist; empty means every tag does.
        size: bytes, for ``Successfully pulled image … Image size: N bytes.``.
        http: the server it runs, or None.
        shell: runs the container's ``command``/``args`` with the sandbox shell.
        default_command: the image's ``CMD`` when the pod gives none (shell images).
        start_logs: lines printed when the container starts (``$pod``, ``$port`` allowed).
        stops_on_sigterm: False when the process ignores SIGTERM (a shell loop as PID 1),
            so deletion waits the whole ``terminationGracePeriodSeconds``.
    """

    repository: str
    description: str
    size: int
    tags: tuple[str, ...] = ()
    http: HttpApp | None = None
    shell: bool = False
    default_command: tuple[str, ...] = ()
    start_logs: tuple[str, ...] = ()
    stops_on_sigterm: bool = True
    per_tag: dict[str, HttpApp] = field(default_factory=dict)

    def app_for(self, tag: str) -> HttpApp | None:
        return self.per_tag.get(tag, self.http)


_GO_404 = Route("404 page not found\n", 404)
_NGINX_404 = Route("<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
                   "<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.27.3</center>\r\n"
                   "</body>\r\n</html>\r\n", 404, HTML)
_NGINX_LOGS = (
    "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration",
    "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/",
    "/docker-entrypoint.sh: Configuration complete; ready for start up",
)


def _kdemo(color: str, version: str) -> HttpApp:
    body = page("kdemo.html").replace("$color", color).replace("$version", version)
    return HttpApp(8080, {}, Route(body, content_type=HTML))


def _probes(version: str, healthy: bool) -> HttpApp:
    health = Route(f"version {version}\n") if healthy else _GO_404
    return HttpApp(80, {"/": Route(f"version {version}\n"), "/healthz": health}, _GO_404)


def _system(component: str, size: int, *logs: str) -> ImageBehaviour:
    """A control-plane or add-on image: a daemon that runs until stopped."""
    return ImageBehaviour(f"registry.k8s.io/{component}", f"{component} (cluster component)",
                          size, start_logs=logs)


SYSTEM_IMAGES: tuple[ImageBehaviour, ...] = (
    _system("kube-apiserver", 27_984_402, "Serving securely on [::]:6443"),
    _system("kube-controller-manager", 26_263_213, "Started kube-controller-manager"),
    _system("kube-scheduler", 20_657_479, "Serving securely on 127.0.0.1:10259"),
    _system("kube-proxy", 30_854_614, "Using iptables Proxier",
            "Caches are synced for service config"),
    _system("etcd", 57_680_541, "serving client traffic securely"),
    _system("pause", 320_368),
    ImageBehaviour(
        "registry.k8s.io/coredns/coredns", "CoreDNS (cluster DNS add-on)", 22_384_805,
        http=HttpApp(8080, {"/health": Route("OK"), "/ready": Route("OK")},
                     Route("404 page not found\n", 404)),
        start_logs=(".:53", "CoreDNS-1.12.1", "linux/amd64, go1.24.1, 707c7c1"),
    ),
)

CATALOG: tuple[ImageBehaviour, ...] = (
    ImageBehaviour(
        "gcr.io/google-samples/node-hello", "Node.js hello app on 8080", 263_716_235,
        tags=("1.0",),
        http=HttpApp(8080, {}, Route("Hello Kubernetes!")),
    ),
    ImageBehaviour(
        "docker.io/apprenda/kdemo", "kdemo page naming the pod: v1 blue, v2 green, on 8080",
        52_893_311, tags=("v1", "v2"),
        per_tag={"v1": _kdemo("blue", "version 1.0"), "v2": _kdemo("green", "version 1.1")},
        start_logs=("kdemo listening on :8080",),
    ),
    ImageBehaviour(
        "quay.io/apprenda/k8s-workshop-probes", "probes demo on 80: 1.0 healthy, 1.1 /healthz 404",
        7_543_204, tags=("1.0", "1.1"),
        per_tag={"1.0": _probes("1.0", True), "1.1": _probes("1.1", False)},
        start_logs=("listening on :80",),
    ),
    ImageBehaviour(
        "quay.io/apprenda/k8s-workshop-site", "the workshop's web site on 80", 19_201_537,
        tags=("1.0",),
        http=HttpApp(80, {}, Route(page("workshop-site.html"), content_type=HTML),
                     server="nginx/1.27.3"),
        start_logs=_NGINX_LOGS,
    ),
    ImageBehaviour(
        "docker.io/mattamm/dotnetcorek8s", ".NET Core web API on 8080: GET /api/hello",
        117_498_352, tags=("v1",),
        http=HttpApp(8080, {"/api/hello": Route(
            "Hello!", variants=(("myname", "Ahoy there, $myname!"),))},
            Route("", 404), server="Kestrel"),
        start_logs=("Hosting environment: Production",
                    "Content root path: /app",
                    "Now listening on: http://+:8080",
                    "Application started. Press Ctrl+C to shut down."),
    ),
    ImageBehaviour(
        "docker.io/library/nginx", "nginx web server on 80 (any tag)", 72_956_345,
        http=HttpApp(80, {"/": Route(page("nginx-welcome.html"), content_type=HTML),
                          "/index.html": Route(page("nginx-welcome.html"), content_type=HTML)},
                     _NGINX_404, server="nginx/1.27.3"),
        start_logs=_NGINX_LOGS,
    ),
    ImageBehaviour(
        "docker.io/library/httpd", "Apache httpd on 80 (any tag)", 58_174_482,
        http=HttpApp(80, {"/": Route("<html><body><h1>It works!</h1></body></html>\n",
                                     content_type=HTML)},
                     Route("<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n"
                           "<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n"
                           "<p>The requested URL was not found on this server.</p>\n"
                           "</body></html>\n", 404, HTML), server="Apache/2.4.62 (Unix)"),
        start_logs=("AH00558: httpd: Could not reliably determine the server's fully qualified "
                    "domain name. Set the 'ServerName' directive globally to suppress this message",),
    ),
    ImageBehaviour(
        "docker.io/library/busybox", "BusyBox: runs the container's shell command (any tag)",
        2_155_575, shell=True, default_command=("sh",), stops_on_sigterm=False,
    ),
    ImageBehaviour(
        "docker.io/library/alpine", "Alpine Linux: runs the container's shell command (any tag)",
        3_653_068, shell=True, default_command=("/bin/sh",), stops_on_sigterm=False,
    ),
    ImageBehaviour(
        "quay.io/apprenda/alpine", "Alpine Linux (workshop copy): runs the shell command",
        2_099_713, tags=("latest",), shell=True, default_command=("/bin/sh",),
        stops_on_sigterm=False,
    ),
    *SYSTEM_IMAGES,
)
