"""The images the sandbox can "pull", and what a container of each one does.

A real node pulls layers from a registry and runs a process; the sandbox has neither, so
each known image is described here as data: the port it serves HTTP on and its routes (a
status and a body, which may name the serving pod), or that it runs the container's shell
command; the log lines it prints at start; its size for the kubelet's ``Pulled`` event.
The workshop's images (see the course's workshop notes) are all here, plus the images the
kubernetes.io tutorials and the official Python client's examples use, and a few common ones.
Anything else fails to pull, as an image that does not exist would on a real cluster.

Tags are a snapshot of what the registries listed in October 2025 (:data:`TAGS_AS_OF`): each
release series with its patch releases, its ``x.y`` and ``x`` aliases, ``latest`` (and
``mainline``/``stable`` where upstream has them) and the published variants (``-alpine``,
``-slim``, BusyBox's ``-uclibc``/``-musl``/``-glibc``…). A tag outside the list fails the
pull like a missing manifest. The lists are plausible, not exhaustive: a few patch releases
of old series are left out.

Bodies are :class:`string.Template` texts: ``$pod`` is the serving pod's name, a route's
query ``variants`` may use the query parameter's value (``$myname``), and a route with
``after`` answers ``later`` once the app has been up that many seconds (``$uptime``).
Images whose behaviour depends on the container's command (agnhost's subcommand, perl's
script, ``python -m http.server``) name a ``runner`` in :mod:`.programs`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources

TEXT = "text/plain; charset=utf-8"
HTML = "text/html"
#: When the tag lists below were taken from the registries.
TAGS_AS_OF = "2025-10"


@functools.cache
def page(name: str) -> str:
    """An HTML page template shipped in ``images/pages`` (read once: every nginx container's
    root file system holds its welcome page, and a file read per container start was 2 % of
    the event loop while 5,000 pods came up)."""
    return resources.files(__package__).joinpath("pages", name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Route:
    """One HTTP answer. ``variants`` pick another body when a query parameter is present."""

    body: str
    status: int = 200
    content_type: str = TEXT
    variants: tuple[tuple[str, str], ...] = ()
    #: After this many seconds of uptime, answer ``later`` instead (agnhost liveness).
    after: float | None = None
    later: Route | None = None


@dataclass(frozen=True)
class HttpApp:
    """An HTTP server: exact-path routes, then ``fallback`` for any other path."""

    port: int
    routes: dict[str, Route]
    fallback: Route
    server: str = ""
    #: A log line per request (``$method $path $status $count $uptime $pod $time``…, see
    #: :func:`kubelab.sandbox.images.request_log_line`); empty: the app logs nothing.
    request_log: str = ""
    #: CPU seconds one request costs (hpa-example's square-root loop): for a metrics model.
    cpu_seconds_per_request: float = 0.0
    #: Where the server reads files (``/usr/share/nginx/html``): a volume mounted there, or a
    #: file written there with ``kubectl exec``, is what it serves (see ``respond``).
    document_root: str = ""
    #: The answer for a directory without an index file (nginx's 403 page).
    forbidden: Route | None = None


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
        per_tag: the app of a tag when it differs from ``http`` (nginx's version header).
        entrypoint: the image's ``ENTRYPOINT`` (``/agnhost``); ``command`` replaces it.
        runner: the :mod:`.programs` family that reads the container's argv (``agnhost``,
            ``perl``, ``python``, ``redis``); empty for fixed behaviour.
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
    entrypoint: tuple[str, ...] = ()
    runner: str = ""

    def app_for(self, tag: str) -> HttpApp | None:
        return self.per_tag.get(tag, self.http)


_GO_404 = Route("404 page not found\n", 404)
_NGINX_LOGS = (
    "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration",
    "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/",
    "/docker-entrypoint.sh: Configuration complete; ready for start up",
)


def tag_family(releases: dict[str, tuple[int, ...]], aliases: dict[str, str],
               suffixes: tuple[str, ...] = ("",)) -> dict[str, str]:
    """Tag → full version for an image published as release series with variants.

    ``releases`` maps a series (``"1.29"``) to its patch numbers; every ``x.y.z`` and the
    series' newest as ``x.y`` are tags. ``aliases`` map names (``latest``, ``1``, ``stable``)
    to a version. Each tag exists with each suffix (``-alpine``); ``latest`` with a suffix is
    the bare variant name (``alpine``), as on Docker Hub.
    """
    versions: dict[str, str] = {}
    for series, patches in releases.items():
        for patch in patches:
            versions[f"{series}.{patch}"] = f"{series}.{patch}"
        if patches:
            versions[series] = f"{series}.{max(patches)}"
    versions.update(aliases)
    tags: dict[str, str] = {}
    for suffix in suffixes:
        for name, version in versions.items():
            tag = suffix.lstrip("-") if name == "latest" and suffix else f"{name}{suffix}"
            tags[tag] = version
    return tags


# nginx: mainline 1.29, stable 1.28 (tags as of TAGS_AS_OF), and the older releases that
# kubernetes.io pages and the official Python client's examples still name (1.7.9, 1.14.2,
# 1.15.4 → 1.16.0, 1.16.1), which Docker Hub still serves.
NGINX_TAGS = {
    **tag_family(
        {"1.7": (9,), "1.14": (0, 1, 2), "1.15": tuple(range(13)), "1.16": (0, 1),
         "1.17": tuple(range(11)), "1.18": (0,), "1.19": tuple(range(11)), "1.20": (0, 1, 2),
         "1.21": tuple(range(7)), "1.22": (0, 1), "1.23": (0, 1, 2, 3, 4), "1.24": (0,)},
        {}, ("", "-alpine", "-perl", "-alpine-perl")),
    **tag_family(
        {"1.25": (0, 1, 2, 3, 4, 5), "1.26": (0, 1, 2, 3), "1.27": (0, 1, 2, 3, 4, 5),
         "1.28": (0,), "1.29": (0, 1, 2)},
        {"latest": "1.29.2", "mainline": "1.29.2", "1": "1.29.2", "stable": "1.28.0"},
        ("", "-alpine", "-alpine-slim", "-perl", "-alpine-perl", "-otel", "-alpine-otel")),
}


def _nginx(version: str) -> HttpApp:
    not_found = Route("<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
                      "<center><h1>404 Not Found</h1></center>\r\n"
                      f"<hr><center>nginx/{version}</center>\r\n</body>\r\n</html>\r\n", 404, HTML)
    welcome = Route(page("nginx-welcome.html"), content_type=HTML)
    forbidden = Route("<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n"
                      "<center><h1>403 Forbidden</h1></center>\r\n"
                      f"<hr><center>nginx/{version}</center>\r\n</body>\r\n</html>\r\n", 403, HTML)
    return HttpApp(80, {"/": welcome, "/index.html": welcome}, not_found,
                   server=f"nginx/{version}", document_root="/usr/share/nginx/html",
                   forbidden=forbidden)


# BusyBox: 1.36/1.37 and the older tags kubernetes.io pages use (busybox:1.28 throughout).
BUSYBOX_TAGS = tag_family(
    {"1.27": (2,), "1.28": (0, 1, 2, 3, 4), "1.29": (0, 1, 2, 3), "1.30": (0, 1),
     "1.31": (0, 1), "1.32": (0, 1), "1.33": (0, 1), "1.34": (0, 1), "1.35": (0,),
     "1.36": (0, 1), "1.37": (0,)},
    {"latest": "1.37.0", "1": "1.37.0", "stable": "1.36.1"},
    ("", "-uclibc", "-musl", "-glibc"))
ALPINE_TAGS = tag_family(
    {"3.19": tuple(range(9)), "3.20": tuple(range(8)), "3.21": tuple(range(5)),
     "3.22": (0, 1, 2)},
    {"latest": "3.22.2", "3": "3.22.2", "edge": "edge"})
HTTPD_TAGS = tag_family(
    {"2.4": (62, 63, 64, 65)}, {"latest": "2.4.65", "2": "2.4.65"}, ("", "-alpine", "-bookworm"))
PERL_TAGS = tag_family(
    {"5.34": (0, 1, 2, 3), "5.36": (0, 1, 2, 3), "5.38": (0, 1, 2, 3, 4), "5.40": (0, 1, 2),
     "5.42": (0,)},
    {"latest": "5.42.0", "5": "5.42.0", "stable": "5.42.0"}, ("", "-slim", "-threaded"))
PYTHON_TAGS = tag_family(
    {"3.9": (23,), "3.10": (18,), "3.11": (13,), "3.12": (11,), "3.13": (7,), "3.14": (0,)},
    {"latest": "3.14.0", "3": "3.14.0"}, ("", "-slim", "-alpine", "-bookworm", "-slim-bookworm"))
REDIS_TAGS = tag_family(
    {"7.2": (10,), "7.4": (5,), "8.0": (3,), "8.2": (1,)},
    {"latest": "8.2.1", "8": "8.2.1", "7": "7.4.5"}, ("", "-alpine", "-bookworm"))
AGNHOST_TAGS = tuple(f"2.{minor}" for minor in range(39, 57))
INGRESS_NGINX_TAGS = ("v1.11.5", "v1.11.6", "v1.12.0", "v1.12.1", "v1.12.2", "v1.12.3",
                      "v1.12.4", "v1.13.0", "v1.13.1", "v1.13.2", "v1.13.3")


def _kdemo(color: str, version: str) -> HttpApp:
    body = page("kdemo.html").replace("$color", color).replace("$version", version)
    return HttpApp(8080, {}, Route(body, content_type=HTML))


def _probes(version: str, healthy: bool) -> HttpApp:
    health = Route(f"version {version}\n") if healthy else _GO_404
    return HttpApp(80, {"/": Route(f"version {version}\n"), "/healthz": health}, _GO_404)


def _bootcamp(version: str) -> HttpApp:
    """The Learn Kubernetes Basics app (Node.js ``server.js``): one line naming the pod."""
    return HttpApp(8080, {}, Route(f"Hello Kubernetes bootcamp! | Running on: $pod | v={version}\n"),
                   request_log=("Running On: $pod | Total Requests: $count | App Uptime: "
                                "$uptime seconds | Log Time: $now"))


_BOOTCAMP_LOGS = ("Kubernetes Bootcamp App Started At: $started | Running On:  $pod ", "")


def _hello_app(version: str) -> HttpApp:
    """GKE's hello-app (Go): version and hostname; logs each request."""
    return HttpApp(8080, {}, Route(f"Hello, world!\nVersion: {version}\nHostname: $pod\n"),
                   request_log="$gotime Serving request: $path")


def _system(component: str, size: int, *logs: str, tags: tuple[str, ...] = ()) -> ImageBehaviour:
    """A control-plane or add-on image: a daemon that runs until stopped."""
    return ImageBehaviour(f"registry.k8s.io/{component}", f"{component} (cluster component)",
                          size, tags=tags, start_logs=logs)


SYSTEM_IMAGES: tuple[ImageBehaviour, ...] = (
    _system("kube-apiserver", 27_984_402, "Serving securely on [::]:6443"),
    _system("kube-controller-manager", 26_263_213, "Started kube-controller-manager"),
    _system("kube-scheduler", 20_657_479, "Serving securely on 127.0.0.1:10259"),
    _system("kube-proxy", 30_854_614, "Using iptables Proxier",
            "Caches are synced for service config"),
    _system("etcd", 57_680_541, "serving client traffic securely"),
    _system("pause", 320_368, tags=("3.9", "3.10", "3.10.1", "latest")),
    ImageBehaviour(
        "registry.k8s.io/coredns/coredns", "CoreDNS (cluster DNS add-on)", 22_384_805,
        http=HttpApp(8080, {"/health": Route("OK"), "/ready": Route("OK")},
                     Route("404 page not found\n", 404)),
        start_logs=(".:53", "CoreDNS-1.12.1", "linux/amd64, go1.24.1, 707c7c1"),
    ),
)

#: The images of the kubernetes.io tutorials and the official Python client's examples.
TUTORIAL_IMAGES: tuple[ImageBehaviour, ...] = (
    ImageBehaviour(
        "gcr.io/google-samples/kubernetes-bootcamp", "Learn Kubernetes Basics app on 8080 (v=1)",
        76_498_632, tags=("v1",), http=_bootcamp("1"), start_logs=_BOOTCAMP_LOGS,
    ),
    ImageBehaviour(
        "docker.io/jocatalin/kubernetes-bootcamp", "Learn Kubernetes Basics app on 8080, v1 and v2",
        76_498_632, tags=("v1", "v2"), per_tag={"v1": _bootcamp("1"), "v2": _bootcamp("2")},
        start_logs=_BOOTCAMP_LOGS,
    ),
    ImageBehaviour(
        "us-docker.pkg.dev/google-samples/containers/gke/hello-app", "GKE hello-app on 8080",
        4_602_370, tags=("1.0", "2.0"),
        per_tag={"1.0": _hello_app("1.0.0"), "2.0": _hello_app("2.0.0")},
        start_logs=("$gotime Server listening on port 8080",),
    ),
    ImageBehaviour(
        "gcr.io/google-samples/hello-app", "GKE hello-app on 8080 (older registry)",
        4_602_370, tags=("1.0", "2.0"),
        per_tag={"1.0": _hello_app("1.0.0"), "2.0": _hello_app("2.0.0")},
        start_logs=("$gotime Server listening on port 8080",),
    ),
    ImageBehaviour(
        "registry.k8s.io/hpa-example", "HorizontalPodAutoscaler walkthrough app (php) on 80",
        181_503_290, tags=("latest",),
        http=HttpApp(80, {}, Route("OK!", content_type=HTML),
                     server="Apache/2.4.10 (Debian)", cpu_seconds_per_request=0.02,
                     request_log=('10.244.0.1 - - [$apachetime] "$method $path HTTP/1.1" '
                                  '$status 3 "-" "Wget"')),
        start_logs=("AH00558: apache2: Could not reliably determine the server's fully qualified "
                    "domain name, using $ip. Set the 'ServerName' directive globally to "
                    "suppress this message",
                    "[core:notice] [pid 1] AH00094: Command line: 'apache2 -D FOREGROUND'"),
    ),
    ImageBehaviour(
        "registry.k8s.io/nginx-slim", "nginx-slim (StatefulSet tutorial) on 80", 8_718_123,
        tags=("0.8", "0.20", "0.21", "0.22", "0.23", "0.24", "0.25", "0.26", "0.27"),
        http=_nginx("1.27.3"),
    ),
    ImageBehaviour(
        "registry.k8s.io/e2e-test-images/agnhost",
        "Kubernetes e2e test image: netexec, serve-hostname, liveness, pause (by args)",
        52_142_719, tags=AGNHOST_TAGS, entrypoint=("/agnhost",), default_command=("pause",),
        runner="agnhost",
    ),
    ImageBehaviour(
        "registry.k8s.io/ingress-nginx/controller",
        "ingress-nginx controller: routes HTTP on 80 by the Ingresses of its class",
        110_712_450, tags=INGRESS_NGINX_TAGS, entrypoint=("/usr/bin/dumb-init", "--"),
        default_command=("/nginx-ingress-controller",), runner="ingress-nginx",
    ),
    ImageBehaviour(
        "registry.k8s.io/liveness", "the old probes tutorial's liveness server on 8080",
        2_711_424, tags=("latest",), default_command=("/server",), runner="liveness",
    ),
    ImageBehaviour(
        "registry.k8s.io/goproxy", "goproxy (TCP probe example) on 8080", 2_431_672,
        tags=("0.1",),
        http=HttpApp(8080, {}, Route("This is a proxy server. Does not respond to non-proxy "
                                     "requests.\n", 500)),
    ),
    ImageBehaviour(
        "registry.k8s.io/busybox", "BusyBox (Kubernetes' copy): runs the shell command",
        1_144_547, tags=("1.24", "1.27", "1.27.2", "latest"), shell=True,
        default_command=("sh",), stops_on_sigterm=False,
    ),
    ImageBehaviour(
        "docker.io/library/perl", "Perl: the Job tutorial's pi (print bpi(N)), by args",
        337_524_312, tags=tuple(PERL_TAGS), default_command=("perl5", "-de0"), runner="perl",
        stops_on_sigterm=True,
    ),
    ImageBehaviour(
        "docker.io/library/python", "Python: python -m http.server, python -c 'print(...)'",
        412_330_117, tags=tuple(PYTHON_TAGS), default_command=("python3",), runner="python",
    ),
    ImageBehaviour(
        "docker.io/library/redis", "Redis server on 6379", 49_870_113, tags=tuple(REDIS_TAGS),
        entrypoint=("docker-entrypoint.sh",), default_command=("redis-server",), runner="redis",
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
        "docker.io/library/nginx", "nginx web server on 80", 72_956_345,
        tags=tuple(NGINX_TAGS), http=_nginx(NGINX_TAGS["latest"]),
        per_tag={tag: _nginx(version) for tag, version in NGINX_TAGS.items()},
        start_logs=_NGINX_LOGS,
    ),
    ImageBehaviour(
        "docker.io/library/httpd", "Apache httpd on 80", 58_174_482, tags=tuple(HTTPD_TAGS),
        http=HttpApp(80, {"/": Route("<html><body><h1>It works!</h1></body></html>\n",
                                     content_type=HTML)},
                     Route("<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n"
                           "<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n"
                           "<p>The requested URL was not found on this server.</p>\n"
                           "</body></html>\n", 404, HTML), server="Apache/2.4.65 (Unix)",
                     document_root="/usr/local/apache2/htdocs"),
        start_logs=("AH00558: httpd: Could not reliably determine the server's fully qualified "
                    "domain name. Set the 'ServerName' directive globally to suppress this message",),
    ),
    ImageBehaviour(
        "docker.io/library/busybox", "BusyBox: runs the container's shell command",
        2_155_575, tags=tuple(BUSYBOX_TAGS), shell=True, default_command=("sh",),
        stops_on_sigterm=False,
    ),
    ImageBehaviour(
        "docker.io/library/alpine", "Alpine Linux: runs the container's shell command",
        3_653_068, tags=tuple(ALPINE_TAGS), shell=True, default_command=("/bin/sh",),
        stops_on_sigterm=False,
    ),
    ImageBehaviour(
        "quay.io/apprenda/alpine", "Alpine Linux (workshop copy): runs the shell command",
        2_099_713, tags=("latest",), shell=True, default_command=("/bin/sh",),
        stops_on_sigterm=False,
    ),
    *TUTORIAL_IMAGES,
    *SYSTEM_IMAGES,
)

#: Registries that serve another registry's images under other names: Docker Hub's own
#: hostnames, Google's Docker Hub mirror, and the frozen k8s.gcr.io (redirected to
#: registry.k8s.io since 2023). (registry, path prefix) → (registry, path prefix).
REGISTRY_ALIASES: dict[tuple[str, str], tuple[str, str]] = {
    ("index.docker.io", ""): ("docker.io", ""),
    ("registry-1.docker.io", ""): ("docker.io", ""),
    ("registry.hub.docker.com", ""): ("docker.io", ""),
    ("mirror.gcr.io", ""): ("docker.io", ""),
    ("k8s.gcr.io", ""): ("registry.k8s.io", ""),
}
