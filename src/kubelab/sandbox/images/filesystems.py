"""The files an image brings: what learners ``cat`` and ``ls`` in a container.

A container's root file system is its image's layers under the kubelet's own files
(``/etc/hosts``, ``/etc/hostname``, ``/etc/resolv.conf``: :func:`kubelab.sandbox.kubelet.
volumes.kubelet_managed_files`) and its volume mounts. The sandbox keeps only the files a
course looks at, keyed by repository: nginx's welcome page (the one the catalog's server
answers with) and configuration as the official image ships them (``/etc/nginx/nginx.conf``,
``conf.d/default.conf``), ``/etc/os-release`` of each image's distribution (Debian bookworm
under nginx, Alpine under alpine and the ``-alpine`` tags), ``/etc/passwd``/``/etc/group``.
The ``busybox`` image has no ``/etc/os-release``, as the real one has none. The Learn
Kubernetes Basics image has its ``/server.js``. Directories the
images have (``/tmp``, ``/var/log``…) exist as empty directories.

:func:`populate` lays the tree under a container's files when the container starts (the
kubelet's hook: :func:`kubelab.sandbox.images.root_filesystem`), without overwriting what is
there (a mount or a file the container wrote wins, as an upper layer does). A volume mount
hides the image's files at and under its mount path, as the bind mount the container runtime
makes over the image's overlay root file system does: a ConfigMap mounted on
``/usr/share/nginx/html`` shows only the ConfigMap's keys, and an empty volume an empty
directory.
"""

from __future__ import annotations

from collections.abc import Sequence

from kubelab.sandbox.images.catalog import page
from kubelab.sandbox.images.shell_io import STANDARD_DIRECTORIES

DEBIAN_OS_RELEASE = """\
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"""

ALPINE_VERSION = "3.22.2"
ALPINE_OS_RELEASE = f"""\
NAME="Alpine Linux"
ID=alpine
VERSION_ID={ALPINE_VERSION}
PRETTY_NAME="Alpine Linux v{ALPINE_VERSION.rsplit('.', 1)[0]}"
HOME_URL="https://alpinelinux.org/"
BUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"
"""

_BUSYBOX_PASSWD = """\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
"""

_BUSYBOX_GROUP = """\
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
www-data:x:33:
users:x:100:
nogroup:x:65534:
"""

_ALPINE_PASSWD = """\
root:x:0:0:root:/root:/bin/sh
bin:x:1:1:bin:/bin:/sbin/nologin
daemon:x:2:2:daemon:/sbin:/sbin/nologin
lp:x:4:7:lp:/var/spool/lpd:/sbin/nologin
sync:x:5:0:sync:/sbin:/bin/sync
shutdown:x:6:0:shutdown:/sbin:/sbin/shutdown
halt:x:7:0:halt:/sbin:/sbin/halt
mail:x:8:12:mail:/var/mail:/sbin/nologin
news:x:9:13:news:/usr/lib/news:/sbin/nologin
operator:x:11:0:operator:/root:/sbin/nologin
ftp:x:21:21::/var/lib/ftp:/sbin/nologin
sshd:x:22:22:sshd:/dev/null:/sbin/nologin
nobody:x:65534:65534:nobody:/:/sbin/nologin
"""

_DEBIAN_PASSWD = """\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
nginx:x:101:101:nginx user:/nonexistent:/bin/false
"""

NGINX_CONF = """\

user  nginx;
worker_processes  auto;

error_log  /var/log/nginx/error.log notice;
pid        /run/nginx.pid;


events {
    worker_connections  1024;
}


http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;

    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';

    access_log  /var/log/nginx/access.log  main;

    sendfile        on;
    #tcp_nopush     on;

    keepalive_timeout  65;

    #gzip  on;

    include /etc/nginx/conf.d/*.conf;
}
"""

NGINX_DEFAULT_CONF = """\
server {
    listen       80;
    listen  [::]:80;
    server_name  localhost;

    #access_log  /var/log/nginx/host.access.log  main;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    #error_page  404              /404.html;

    # redirect server error pages to the static page /50x.html
    #
    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }

    # proxy the PHP scripts to Apache listening on 127.0.0.1:80
    #
    #location ~ \\.php$ {
    #    proxy_pass   http://127.0.0.1;
    #}

    # pass the PHP scripts to FastCGI server listening on 127.0.0.1:9000
    #
    #location ~ \\.php$ {
    #    root           html;
    #    fastcgi_pass   127.0.0.1:9000;
    #    fastcgi_index  index.php;
    #    fastcgi_param  SCRIPT_FILENAME  /scripts$fastcgi_script_name;
    #    include        fastcgi_params;
    #}

    # deny access to .htaccess files, if Apache's document root
    # concurs with nginx's one
    #
    #location ~ /\\.ht {
    #    deny  all;
    #}
}

"""

NGINX_50X = """\
<!DOCTYPE html>
<html>
<head>
<title>Error</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>An error occurred.</h1>
<p>Sorry, the page you are looking for is currently unavailable.<br/>
Please try again later.</p>
<p>If you are the system administrator of this resource then you should check
the error log for details.</p>
<p><em>Faithfully yours, nginx.</em></p>
</body>
</html>
"""


def _bootcamp_server_js(version: str) -> str:
    """The Learn Kubernetes Basics app's ``/server.js`` (its image copies it to ``/``, the
    working directory, and runs ``node server.js``), so the tutorial's ``kubectl exec POD --
    cat server.js`` shows the program. Written for the sandbox to do exactly what the
    catalog's simulation of the image does (the greeting, the start and request log lines),
    not a copy of the image's file."""
    return f"""\
var http = require('http');
var requests = 0;
var startTime;
var host;
var handleRequest = function(request, response) {{
  response.setHeader('Content-Type', 'text/plain');
  response.writeHead(200);
  response.write("Hello Kubernetes bootcamp! | Running on: ");
  response.write(host);
  response.end(" | v={version}\\n");
  console.log("Running On:", host, "| Total Requests:", ++requests, "| App Uptime:",
              (new Date() - startTime) / 1000, "seconds", "| Log Time:", new Date());
}}
var www = http.createServer(handleRequest);
www.listen(8080, function () {{
  startTime = new Date();
  host = process.env.HOSTNAME;
  console.log("Kubernetes Bootcamp App Started At:", startTime, "| Running On: ", host, "\\n");
}});
"""


def _name(repository: str) -> str:
    return repository.rsplit("/", 1)[-1]


def tree(repository: str, tag: str = "latest") -> dict[str, str]:
    """The image's own files (directories as keys ending in ``/``)."""
    files = {path: "" for path in STANDARD_DIRECTORIES}
    name = _name(repository)
    alpine = name == "alpine" or "alpine" in tag
    if name == "kubernetes-bootcamp":
        files["/server.js"] = _bootcamp_server_js(tag.lstrip("v") or "1")
    if name == "busybox":
        files["/etc/passwd"] = _BUSYBOX_PASSWD
        files["/etc/group"] = _BUSYBOX_GROUP
        return files
    if alpine:
        files["/etc/os-release"] = ALPINE_OS_RELEASE
        files["/etc/alpine-release"] = ALPINE_VERSION + "\n"
        files["/etc/passwd"] = _ALPINE_PASSWD
    if name in ("nginx", "nginx-slim"):
        if not alpine:
            files["/etc/os-release"] = DEBIAN_OS_RELEASE
            files["/etc/debian_version"] = "12.12\n"
            files["/etc/passwd"] = _DEBIAN_PASSWD
        files["/usr/share/nginx/html/index.html"] = page("nginx-welcome.html")
        files["/usr/share/nginx/html/50x.html"] = NGINX_50X
        files["/etc/nginx/nginx.conf"] = NGINX_CONF
        files["/etc/nginx/conf.d/default.conf"] = NGINX_DEFAULT_CONF
        files["/var/log/nginx/access.log"] = ""
        files["/var/log/nginx/error.log"] = ""
    return files


def _hidden(path: str, mount: str) -> bool:
    """Whether the image's ``path`` (a directory when it ends in ``/``) lies at or under
    ``mount``, so the mount hides it."""
    path = path.rstrip("/")
    return path == mount or path.startswith(mount + "/")


def populate(repository: str, files: dict[str, str], tag: str = "latest",
             mounts: Sequence[str] = ()) -> None:
    """Lay the image's tree under ``files``; existing paths win (an upper layer).

    ``mounts`` are the container's mount paths: the image's files at or under one are hidden,
    and a mount path that has no file of its own is an (empty) directory.
    """
    points = [m.rstrip("/") for m in mounts if m.rstrip("/")]
    for path, content in tree(repository, tag).items():
        if not any(_hidden(path, m) for m in points):
            files.setdefault(path, content)
    for mount in points:
        if mount not in files:
            files.setdefault(mount + "/", "")
