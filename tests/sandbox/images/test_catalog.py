"""Every workshop image: lookup, pull failures, and real HTTP answers from its app server."""

from __future__ import annotations

import aiohttp
import pytest

from kubelab.sandbox import images
from kubelab.sandbox.images.server import AppServer


@pytest.mark.parametrize("text", [
    "nginx", "nginx:1.25", "docker.io/library/nginx:latest", "httpd:2.4", "busybox",
    "alpine:3.20", "quay.io/apprenda/alpine:latest", "apprenda/kdemo:v1", "apprenda/kdemo:v2",
    "gcr.io/google-samples/node-hello:1.0", "quay.io/apprenda/k8s-workshop-probes:1.0",
    "quay.io/apprenda/k8s-workshop-probes:1.1", "quay.io/apprenda/k8s-workshop-site:1.0",
    "mattamm/dotnetcorek8s:v1",
])
def test_known_images_resolve(text: str) -> None:
    assert images.lookup(text).behaviour.size > 0


@pytest.mark.parametrize("text", ["ngnix", "apprenda/kdemo:v3", "quay.io/apprenda/alpine:3",
                                  "nginx:1.99-typo", "registry.k8s.io/alpine:3.20"])
def test_unknown_image_fails_like_containerd(text: str) -> None:
    with pytest.raises(images.ImageNotFound) as err:
        images.lookup(text)
    full = images.parse(text).full
    assert err.value.message.startswith(
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{full}": '
        f'failed to resolve reference "{full}": {full}: not found (kubelab sandbox: ')


@pytest.mark.parametrize(("text", "hint"), [
    # an unknown repository: the nearest known name, and the list of images
    ("ngnix", "did you mean nginx:latest? known images:"),
    ("registry.k8s.io/alpine:3.20", "did you mean alpine:3.20 or"),
    ("gcr.io/google-samples/kubernetes-bootcampp:v1",
     "did you mean gcr.io/google-samples/kubernetes-bootcamp:v1"),
    # a known repository without that tag: its closest tags (same variant, else plain)
    ("nginx:1.99-typo", 'nginx has no tag "1.99-typo" here; nearest: nginx:1.29, nginx:1.28, '
                        "nginx:1.27"),
    ("nginx:1.16.2", "nearest: nginx:1.16.1, nginx:1.16.0, nginx:1.16"),
    ("nginx:1.161", "nearest: nginx:1.16, nginx:1.16.1"),  # the Deployment docs' typo
    ("python:3.15", "nearest: python:3.14, python:3.13"),
    ("nginx:1.29.9-alpine", "nearest: nginx:1.29.2-alpine, nginx:1.29.1-alpine"),
    ("apprenda/kdemo:v3", "nearest: apprenda/kdemo:v2, apprenda/kdemo:v1"),
    ("gcr.io/google-samples/kubernetes-bootcamp:v10",
     "nearest: gcr.io/google-samples/kubernetes-bootcamp:v1"),
    # Kubernetes' busybox copy has old tags only; Docker Hub's has the one asked for
    ("registry.k8s.io/busybox:1.36", "nearest: registry.k8s.io/busybox:1.27"),
    ("registry.k8s.io/busybox:1.36", ", busybox:1.36"),
])
def test_not_found_hint_names_the_nearest_image_and_tags(text: str, hint: str) -> None:
    with pytest.raises(images.ImageNotFound) as err:
        images.lookup(text)
    assert hint in err.value.hint


@pytest.mark.parametrize("text", [
    "nginx:1.25.5", "nginx:1.29-alpine", "nginx:stable-alpine", "nginx:mainline", "nginx:alpine",
    "nginx:1.28.0-alpine-slim", "busybox:1.36", "busybox:1.37.0-musl", "busybox:uclibc",
    "busybox:glibc", "busybox:stable", "alpine:3.19", "alpine:3.22.1", "alpine:edge",
    "perl:5.34.0", "perl:5.40-slim", "python:3.12", "python:3.13-alpine", "redis:7.4",
    "redis:8-alpine", "httpd:2.4-alpine", "registry.k8s.io/pause:3.10",
    "registry.k8s.io/e2e-test-images/agnhost:2.40", "registry.k8s.io/busybox:1.27.2",
    "jocatalin/kubernetes-bootcamp:v2", "nginx:1.14.2", "nginx:1.15.4", "nginx:1.16.0",
    "nginx:1.7.9", "busybox:1.28", "busybox:1.28.4-glibc", "registry.k8s.io/nginx-slim:0.21",
    "us-docker.pkg.dev/google-samples/containers/gke/hello-app:2.0",
])
def test_real_tags_resolve(text: str) -> None:
    assert images.lookup(text).behaviour.size > 0


@pytest.mark.parametrize("text", [
    "nginx:1.13", "nginx:1.161", "nginx:1.30", "nginx:1.24-otel", "busybox:1.26", "alpine:3.18", "alpine:3.23", "perl:5.32",
    "python:2.7", "redis:6", "registry.k8s.io/pause:3.1", "nginx:latest-alpine",
])
def test_tags_outside_the_snapshot_do_not_exist(text: str) -> None:
    with pytest.raises(images.ImageNotFound):
        images.lookup(text)


@pytest.mark.parametrize(("alias", "canonical"), [
    ("docker.io/library/nginx:1.27", "nginx:1.27"),
    ("index.docker.io/library/busybox:1.36", "busybox:1.36"),
    ("mirror.gcr.io/library/busybox:1.37", "busybox:1.37"),
    ("mirror.gcr.io/nginx:stable", "nginx:stable"),
    ("k8s.gcr.io/pause:3.9", "registry.k8s.io/pause:3.9"),
    ("k8s.gcr.io/busybox", "registry.k8s.io/busybox"),
])
def test_registry_aliases_resolve_to_the_same_image(alias: str, canonical: str) -> None:
    aliased, plain = images.lookup(alias), images.lookup(canonical)
    assert aliased.behaviour is plain.behaviour and aliased.app == plain.app
    # containerd reports the name that was asked for
    assert aliased.ref.full == images.parse(alias).full


def test_nginx_server_header_names_the_tags_version() -> None:
    assert images.lookup("nginx:1.25").app.server == "nginx/1.25.5"  # type: ignore[union-attr]
    assert images.lookup("nginx:stable").app.server == "nginx/1.28.0"  # type: ignore[union-attr]
    assert images.lookup("nginx").app.server == "nginx/1.29.2"  # type: ignore[union-attr]


def test_pull_time_grows_with_size() -> None:
    small = images.pull_seconds(images.lookup("busybox"))
    big = images.pull_seconds(images.lookup("gcr.io/google-samples/node-hello:1.0"))
    assert 0.5 < small < big


async def _get(image: str, pod: str, path: str) -> tuple[int, str, str]:
    app = images.lookup(image).app
    assert app is not None
    server = AppServer(app, pod)
    port = await server.start()
    try:
        async with aiohttp.ClientSession() as session, session.get(
                f"http://127.0.0.1:{port}{path}") as response:
            return response.status, await response.text(), response.content_type
    finally:
        await server.close()


async def test_node_hello() -> None:
    assert images.lookup("gcr.io/google-samples/node-hello:1.0").app.port == 8080  # type: ignore[union-attr]
    assert await _get("gcr.io/google-samples/node-hello:1.0", "hello-1", "/") == (
        200, "Hello Kubernetes!", "text/plain")


async def test_kdemo_v1_blue_and_v2_green_name_the_pod() -> None:
    status, body, ctype = await _get("apprenda/kdemo:v1", "kdemo-dep-abc12", "/")
    assert (status, ctype) == (200, "text/html")
    assert "blue" in body and "green" not in body and "kdemo-dep-abc12" in body
    status, body, _ = await _get("apprenda/kdemo:v2", "kdemo-dep-xyz89", "/")
    assert "green" in body and "blue" not in body and "version 1.1" in body
    assert "kdemo-dep-xyz89" in body
    assert images.lookup("apprenda/kdemo:v2").app.port == 8080  # type: ignore[union-attr]


async def test_probes_images() -> None:
    image_10 = "quay.io/apprenda/k8s-workshop-probes:1.0"
    image_11 = "quay.io/apprenda/k8s-workshop-probes:1.1"
    assert images.lookup(image_10).app.port == 80  # type: ignore[union-attr]
    assert (await _get(image_10, "p", "/"))[:2] == (200, "version 1.0\n")
    assert (await _get(image_10, "p", "/healthz"))[:2] == (200, "version 1.0\n")
    assert (await _get(image_11, "p", "/healthz"))[0] == 404
    assert (await _get(image_11, "p", "/"))[:2] == (200, "version 1.1\n")


async def test_workshop_site() -> None:
    status, body, ctype = await _get("quay.io/apprenda/k8s-workshop-site:1.0", "site-1", "/")
    assert (status, ctype) == (200, "text/html") and "site-1" in body


async def test_dotnet_hello_api() -> None:
    image = "mattamm/dotnetcorek8s:v1"
    assert (await _get(image, "d", "/api/hello"))[:2] == (200, "Hello!")
    assert (await _get(image, "d", "/api/hello?myname=Ada"))[:2] == (200, "Ahoy there, Ada!")
    assert (await _get(image, "d", "/"))[0] == 404


async def test_nginx_welcome_and_404() -> None:
    status, body, _ = await _get("nginx:1.25", "web", "/")
    assert status == 200 and "<title>Welcome to nginx!</title>" in body
    status, body, _ = await _get("nginx", "web", "/missing")
    assert status == 404 and "404 Not Found" in body


async def test_httpd_it_works() -> None:
    status, body, _ = await _get("httpd", "web", "/")
    assert status == 200 and "It works!" in body


async def _get_at(image: str, args: list[str], path: str, uptime: float = 0.0
                  ) -> tuple[int, str]:
    app = images.with_argv(images.lookup(image), [], args).app
    assert app is not None
    answer = images.respond(app, "pod-1", path.partition("?")[0],
                            dict(p.split("=") for p in path.partition("?")[2].split("&") if p),
                            uptime)
    return answer.status, answer.body


async def test_kubernetes_bootcamp_v1_and_v2() -> None:
    assert await _get("gcr.io/google-samples/kubernetes-bootcamp:v1", "kb-1", "/") == (
        200, "Hello Kubernetes bootcamp! | Running on: kb-1 | v=1\n", "text/plain")
    assert (await _get("jocatalin/kubernetes-bootcamp:v2", "kb-2", "/"))[1] == (
        "Hello Kubernetes bootcamp! | Running on: kb-2 | v=2\n")
    assert images.lookup("jocatalin/kubernetes-bootcamp:v2").app.port == 8080  # type: ignore[union-attr]


async def test_hello_app_and_hpa_example() -> None:
    image = "us-docker.pkg.dev/google-samples/containers/gke/hello-app:1.0"
    assert (await _get(image, "hello-7d9", "/"))[1] == (
        "Hello, world!\nVersion: 1.0.0\nHostname: hello-7d9\n")
    hpa = images.lookup("registry.k8s.io/hpa-example").app
    assert hpa is not None and hpa.port == 80 and hpa.cpu_seconds_per_request > 0
    assert (await _get("registry.k8s.io/hpa-example", "php", "/"))[:2] == (200, "OK!")


async def test_agnhost_subcommands_decide_the_app() -> None:
    agnhost = "registry.k8s.io/e2e-test-images/agnhost:2.40"
    netexec = images.with_argv(images.lookup(agnhost), [], ["netexec", "--http-port=8080"])
    assert netexec.app is not None and netexec.app.port == 8080
    assert await _get_at(agnhost, ["netexec"], "/hostname") == (200, "pod-1")
    assert await _get_at(agnhost, ["netexec"], "/echo?msg=hi") == (200, "hi")
    assert (await _get_at(agnhost, ["netexec"], "/healthz"))[0] == 200
    serve = images.with_argv(images.lookup(agnhost), [], ["serve-hostname"])
    assert serve.app is not None and serve.app.port == 9376
    assert await _get_at(agnhost, ["serve-hostname"], "/") == (200, "pod-1")
    # the default CMD is pause: a daemon with no app and no program
    paused = images.with_argv(images.lookup(agnhost), [], [])
    assert paused.app is None and not images.runs_program(paused, [], [])


async def test_agnhost_liveness_fails_after_ten_seconds() -> None:
    agnhost = "registry.k8s.io/e2e-test-images/agnhost:2.40"
    assert await _get_at(agnhost, ["liveness"], "/healthz", 3.0) == (200, "ok")
    assert await _get_at(agnhost, ["liveness"], "/healthz", 10.0) == (200, "ok")
    assert await _get_at(agnhost, ["liveness"], "/healthz", 10.5) == (500, "error: 10.5")
    assert await _get_at(agnhost, ["liveness"], "/started", 4.5) == (200, "4.5s")
    assert (await _get_at("registry.k8s.io/liveness", ["/server"], "/healthz", 11))[0] == 500


async def test_python_http_server_lists_a_directory() -> None:
    status, body = await _get_at("python:3.12", ["python", "-m", "http.server"], "/")
    assert status == 200 and "<title>Directory listing for /</title>" in body
    app = images.with_argv(images.lookup("python:3.12"), ["python3", "-m", "http.server", "9000"],
                           []).app
    assert app is not None and app.port == 9000 and app.server == "SimpleHTTP/0.6 Python/3.12.11"
    assert (await _get_at("python:3.12", ["python", "-m", "http.server"], "/nope"))[0] == 404


def test_web_servers_serve_what_is_mounted_on_their_document_root() -> None:
    nginx = images.lookup("nginx:1.27").app
    assert nginx is not None
    own = images.respond(nginx, "web", "/")
    assert "Welcome to nginx!" in own.body
    # a ConfigMap mounted on /usr/share/nginx/html hides the image's pages
    mounted = {"/usr/share/nginx/html/index.html": "<h1>from a ConfigMap</h1>\n",
               "/usr/share/nginx/html/app.css": "body {}\n",
               "/etc/hostname": "web\n"}
    page = images.respond(nginx, "web", "/", files=mounted)
    assert (page.status, page.body, page.server) == (200, "<h1>from a ConfigMap</h1>\n",
                                                     "nginx/1.27.5")
    css = images.respond(nginx, "web", "/app.css", files=mounted)
    assert (css.status, css.content_type) == (200, "text/css")
    assert images.respond(nginx, "web", "/50x.html", files=mounted).status == 404
    assert images.respond(nginx, "web", "/../../etc/hostname", files=mounted).status == 404
    # no index.html in a mounted directory: nginx's 403
    listing_only = {"/usr/share/nginx/html/data.txt": "x"}
    forbidden = images.respond(nginx, "web", "/", files=listing_only)
    assert forbidden.status == 403 and "403 Forbidden" in forbidden.body
    # files elsewhere change nothing
    assert "Welcome" in images.respond(nginx, "web", "/", files={"/etc/hostname": "web"}).body
    httpd = images.lookup("httpd:2.4").app
    assert httpd is not None
    assert images.respond(httpd, "h", "/", files={
        "/usr/local/apache2/htdocs/index.html": "hi"}).body == "hi"


def test_unknown_tag_is_a_pull_error_not_a_parse_error() -> None:
    with pytest.raises(images.ImageNotFound):
        images.lookup("nginx:1.99-typo")
    with pytest.raises(images.InvalidImageName):
        images.lookup("nginx:1.99 typo")


def test_shell_images_serve_nothing_and_run_commands() -> None:
    for name in ("busybox", "alpine", "quay.io/apprenda/alpine:latest"):
        image = images.lookup(name)
        assert image.app is None and image.behaviour.shell


def test_cluster_component_images_run_as_daemons() -> None:
    proxy = images.lookup("registry.k8s.io/kube-proxy:v1.37.1")
    assert proxy.app is None and not proxy.behaviour.shell
    # kube-proxy's own binary as `command` starts the daemon, not a shell program...
    assert not images.runs_program(proxy, ["/usr/local/bin/kube-proxy", "--config=x"], [])
    # ...while a shell command in an app image runs in the sandbox shell.
    nginx = images.lookup("nginx")
    assert images.runs_program(nginx, ["sh", "-c", "echo hi"], [])
    assert not images.runs_program(nginx, ["nginx", "-g", "daemon off;"], [])
    assert images.lookup("registry.k8s.io/coredns/coredns:v1.12.1").app is not None
    assert "registry.k8s.io/kube-proxy" not in images.known_images()
    assert "registry.k8s.io/coredns" not in images.known_images()
