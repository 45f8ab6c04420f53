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


@pytest.mark.parametrize("text", ["ngnix", "apprenda/kdemo:v3", "quay.io/apprenda/alpine:3"])
def test_unknown_image_fails_with_a_hint(text: str) -> None:
    with pytest.raises(images.ImageNotFound) as err:
        images.lookup(text)
    message = err.value.message
    assert message.startswith("rpc error: code = NotFound desc = failed to pull and unpack image")
    assert f'"{images.parse(text).full}"' in message
    assert "nginx" in message and "apprenda/kdemo:v1" in message and "busybox" in message


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
    assert "registry.k8s.io" not in images.known_images()
