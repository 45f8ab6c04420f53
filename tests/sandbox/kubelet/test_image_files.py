"""The image's file tree under a container, laid when the kubelet starts it: the container's own
program sees it, volume mounts hide what lies beneath them, and exec sees the same files."""

from __future__ import annotations

import pytest
from sandbox.images.shell_steps import drain_text
from sandbox.kubelet.kubelet_sim import Sim

from kubelab.sandbox import images
from kubelab.sandbox.api import kinds
from kubelab.sandbox.images import filesystems, shell
from kubelab.sandbox.images.catalog import page
from kubelab.sandbox.kubelet.exec import open_session
from kubelab.sandbox.kubelet.runtime import ContainerRecord

HTML = "/usr/share/nginx/html"


def started(sim: Sim, pod: str, container: str) -> ContainerRecord:
    sim.run_for(30)
    record = sim.kubelet.runtime.find("default", pod)
    assert record is not None
    return record.containers[container]


def logs(sim: Sim, c: ContainerRecord) -> list[str]:
    return [line.text for line in c.all_logs(sim.clock)]


@pytest.mark.parametrize(("image", "first"), [
    ("alpine:3.22", 'NAME="Alpine Linux"'),
    ("nginx:1.27", 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"'),
    ("busybox:1.36", "cat: can't open '/etc/os-release': No such file or directory"),
])
def test_the_containers_own_program_reads_the_images_files(image: str, first: str) -> None:
    sim = Sim()
    sim.pod("os", [{"name": "os", "image": image,
                    "command": ["sh", "-c", "cat /etc/os-release; sleep 3600"]}])
    c = started(sim, "os", "os")
    assert c.running
    assert logs(sim, c)[:1] == [first]


def test_nginx_serves_its_index_from_the_container_tree() -> None:
    sim = Sim()
    sim.pod("web", [{"name": "web", "image": "nginx:1.27"}])
    c = started(sim, "web", "web")
    assert c.files[f"{HTML}/index.html"] == page("nginx-welcome.html")
    app = c.image.app if c.image is not None else None
    assert app is not None
    # what is written into the tree is what nginx serves (no exec needed first)
    c.files[f"{HTML}/index.html"] = "<h1>edited</h1>\n"
    assert images.respond(app, "web", "/", files=c.files).body == "<h1>edited</h1>\n"
    assert images.respond(app, "web", "/50x.html", files=c.files).body == filesystems.NGINX_50X


def nginx_with_mount(volume: dict[str, object], **mount: str) -> tuple[Sim, ContainerRecord]:
    sim = Sim()
    sim.cluster.add(kinds.core("configmaps"), {"metadata": {"name": "site"}, "data": {
        "index.html": "<h1>from a ConfigMap</h1>\n", "app.css": "body {}\n"}})
    sim.pod("web", [{"name": "web", "image": "nginx:1.27", "volumeMounts": [
        {"name": "site", "mountPath": HTML, **mount}]}], volumes=[{"name": "site", **volume}])
    return sim, started(sim, "web", "web")


def test_a_configmap_mounted_on_the_document_root_hides_the_images_pages() -> None:
    sim, c = nginx_with_mount({"configMap": {"name": "site"}})
    assert sorted(p for p in c.files if p.startswith(HTML + "/") and not p.endswith("/")) == [
        f"{HTML}/app.css", f"{HTML}/index.html"]
    app = c.image.app if c.image is not None else None
    assert app is not None
    assert images.respond(app, "web", "/", files=c.files).body == "<h1>from a ConfigMap</h1>\n"
    assert images.respond(app, "web", "/50x.html", files=c.files).status == 404
    # the rest of the image is still there
    assert c.files["/etc/nginx/conf.d/default.conf"] == filesystems.NGINX_DEFAULT_CONF
    # and an exec sees the mount, not the image's pages
    session = open_session(c, ["ls", HTML], stdin=False, tty=False, now=sim.clock.now)
    assert drain_text(session.program()) == ("app.css\nindex.html\n", "", 0)


def test_an_empty_volume_on_the_document_root_is_an_empty_directory() -> None:
    _, c = nginx_with_mount({"emptyDir": {}})
    assert not any(p.startswith(HTML + "/") and p != HTML + "/" for p in c.files)
    app = c.image.app if c.image is not None else None
    assert app is not None
    assert images.respond(app, "web", "/", files=c.files).status == 403  # nginx: no index


def test_a_subpath_file_mount_hides_only_that_file() -> None:
    _, c = nginx_with_mount({"configMap": {"name": "site"}}, subPath="index.html",
                            mountPath=f"{HTML}/index.html")
    assert c.files[f"{HTML}/index.html"] == "<h1>from a ConfigMap</h1>\n"
    assert c.files[f"{HTML}/50x.html"] == filesystems.NGINX_50X


def test_populate_hides_the_image_beneath_mounts() -> None:
    files = {f"{HTML}/index.html": "mine"}
    filesystems.populate("docker.io/library/nginx", files, "1.27", mounts=[HTML + "/", "/data"])
    assert files[f"{HTML}/index.html"] == "mine" and f"{HTML}/50x.html" not in files
    assert files["/data/"] == "" and files[f"{HTML}/"] == ""
    assert "/etc/nginx/nginx.conf" in files


def test_a_file_removed_in_one_exec_stays_removed_in_the_next() -> None:
    sim = Sim()
    sim.pod("a", [{"name": "a", "image": "alpine:3.22", "command": ["sleep", "3600"]}])
    c = started(sim, "a", "a")
    first = open_session(c, ["rm", "/etc/os-release"], stdin=False, tty=False, now=sim.clock.now)
    assert drain_text(first.program()) == ("", "", 0)
    second = open_session(c, ["cat", "/etc/os-release"], stdin=False, tty=False,
                          now=sim.clock.now)
    assert drain_text(second.program()) == (
        "", "cat: can't open '/etc/os-release': No such file or directory\n", 1)


def test_every_shell_command_can_be_a_containers_program() -> None:
    nginx = images.lookup("nginx:1.27")
    for name in shell.COMMANDS:
        assert images.runs_program(nginx, [name], []) is (name != "nginx"), name
    assert not images.runs_program(nginx, ["nginx", "-g", "daemon off;"], [])
    assert not images.runs_program(nginx, ["/docker-entrypoint.sh", "nginx"], [])


def test_an_applet_as_an_app_images_command_runs_in_the_shell() -> None:
    sim = Sim()
    sim.pod("count", [{"name": "count", "image": "nginx:1.27",
                       "command": ["seq", "3"]}], restartPolicy="Never")
    c = started(sim, "count", "count")
    assert logs(sim, c) == ["1", "2", "3"] and c.exit_code == 0


def test_the_bootcamp_image_has_its_server_js_in_the_working_directory() -> None:
    sim = Sim()
    sim.pod("boot", [{"name": "boot", "image": "jocatalin/kubernetes-bootcamp:v2"}])
    c = started(sim, "boot", "boot")
    session = open_session(c, ["cat", "server.js"], stdin=False, tty=False, now=sim.clock.now)
    source, err, status = drain_text(session.program())
    assert (err, status) == ("", 0)
    assert 'response.end(" | v=2\\n");' in source and "www.listen(8080" in source
