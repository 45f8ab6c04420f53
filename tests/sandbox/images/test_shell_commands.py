"""The sandbox's BusyBox applets one by one: text tools, file tools, system tools, ``tar``
(as ``kubectl cp`` drives it) and the images' file trees.

Expected outputs follow BusyBox's sources (``coreutils/*.c``, ``procps/ps.c``,
``archival/tar.c``) and, for ``tar``, an archive written the way ``kubectl cp`` writes one
(ustar headers, 512-byte blocks, made here with Python's ``tarfile``).
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from datetime import UTC, datetime

import pytest
from sandbox.images.shell_steps import drain_text

from kubelab.sandbox.images import filesystems
from kubelab.sandbox.images.catalog import page
from kubelab.sandbox.images.shell import Input, Shell
from kubelab.sandbox.images.shell_io import as_bytes, as_text

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def sh(script: str, *, stdin: str = "", files: dict[str, str] | None = None,
       **kwargs: object) -> tuple[str, str, int]:
    shell = Shell({"HOSTNAME": "web-1"}, files if files is not None else {}, now=lambda: NOW,
                  **kwargs)  # type: ignore[arg-type]
    return drain_text(shell.run_script(script, Input(stdin)))


@pytest.mark.parametrize(("script", "stdin", "stdout", "status"), [
    ("wc -l", "a\nb\n", "2\n", 0),
    ("wc", "a b\nc\n", "        2         3         6\n", 0),
    ("wc -w /f", "", "3 /f\n", 0),
    ("wc -c", "h\u00e9\n", "4\n", 0),
    ("head -n 2", "1\n2\n3\n", "1\n2\n", 0),
    ("head -1", "1\n2\n", "1\n", 0),
    ("tail -n 2", "1\n2\n3\n", "2\n3\n", 0),
    ("tail -2", "1\n2\n3\n", "2\n3\n", 0),
    ("tail -n +2", "1\n2\n3\n", "2\n3\n", 0),
    ("tail -c+3", "abcdef", "cdef", 0),
    ("tail -c+3", "\u00e9f", "f", 0),  # bytes: é is two
    ("head -c 1", "ab", "a", 0),
    ("awk '{print $2}'", "a b c\nd e f\n", "b\ne\n", 0),
    ("awk -F: '{print $1, $NF}'", "root:x:0:sh\n", "root sh\n", 0),
    ("awk 'NR==2'", "a\nb\nc\n", "b\n", 0),
    ("awk '/b/ {print NR\": \"$0}'", "a\nb\n", "2: b\n", 0),
    ("awk '$1 > 1 {print $2}'", "1 x\n2 y\n3 z\n", "y\nz\n", 0),
    ("awk '{s+=$1} END {print s}'", "1\n2\n3\n", "6\n", 0),
    ("awk 'END {print NR}'", "a\nb\n", "2\n", 0),
    ("awk '{print $(NF-1)}'", "a b c\n", "b\n", 0),
    ("awk 'BEGIN {print \"start\"} {print}'", "x\n", "start\nx\n", 0),
    ("grep -n b", "a\nb\nab\n", "2:b\n3:ab\n", 0),
    ("grep -c -v b", "a\nb\nc\n", "2\n", 0),
    ("grep -i -o AB", "xaby\n", "ab\n", 0),
    ("grep 'a\\(b\\)*c'", "ac\nabbc\nxyz\n", "ac\nabbc\n", 0),
    ("grep -E 'a(b)+c|^x'", "ac\nabbc\nxyz\n", "abbc\nxyz\n", 0),
    ("sed -n '/b/p'", "a\nb\n", "b\n", 0),
    ("sed '2d'", "a\nb\nc\n", "a\nc\n", 0),
    ("sed 's/\\(a\\)\\(b\\)/\\2\\1/g'", "abab\n", "baba\n", 0),
    ("sed -E 's/(o+)/[\\1]/2'", "foo boo\n", "foo b[oo]\n", 0),
    ("sed 's/o/0/g;s/f/F/'", "foo\n", "F00\n", 0),
    ("tr -d aeiou", "education\n", "dctn\n", 0),
    ("tr -s ' '", "a   b  c\n", "a b c\n", 0),
    ("tr a-z A-Z", "shout\n", "SHOUT\n", 0),
    ("tr '\\n' ,", "a\nb\n", "a,b,", 0),
    ("sort -n | uniq -c", "3\n1\n3\n", "      1 1\n      2 3\n", 0),
    ("sort -u", "b\na\nb\n", "a\nb\n", 0),
    ("cut -c2-3", "hello\n", "el\n", 0),
    ("expr 1 + 2", "", "3\n", 0),
    ("expr 5 '*' 3 - 1", "", "14\n", 0),
    ("expr length hello", "", "5\n", 0),
    ("expr 3 '>' 2", "", "1\n", 0),
    ("expr 2 - 2", "", "0\n", 1),
    ("expr abc : 'a\\(.\\)'", "", "b\n", 0),
    ("expr 7 / 0", "", "", 2),
    ("base64", "hello", "aGVsbG8=\n", 0),
    ("base64 -d", "aGVsbG8=\n", "hello", 0),
    ("seq -s , 1 4", "", "1,2,3,4\n", 0),
    ("seq -w 8 10", "", "08\n09\n10\n", 0),
    ("echo hi | tee /tmp/t; cat /tmp/t", "", "hi\nhi\n", 0),
    ("md5sum /f", "", f"{hashlib.md5(b'one two' + bytes([10]) + b'three' + bytes([10])).hexdigest()}"
                      "  /f\n", 0),
])
def test_text_applets(script: str, stdin: str, stdout: str, status: int) -> None:
    out, err, code = sh(script, stdin=stdin, files={"/f": "one two\nthree\n"})
    assert (out, code) == (stdout, status), err


@pytest.mark.parametrize(("script", "stdout", "stderr", "status"), [
    ("mkdir /a/b", "", "mkdir: can't create directory '/a/b': No such file or directory\n", 1),
    ("mkdir -p /a/b/c && ls /a/b && test -d /a/b/c && echo dir", "c\ndir\n", "", 0),
    ("mkdir /tmp && echo no", "", "mkdir: can't create directory '/tmp': File exists\n", 1),
    ("mkdir -p /d; rm /d", "", "rm: '/d' is a directory\n", 1),
    ("mkdir -p /d/e; touch /d/e/f; rm -rf /d; ls /d", "",
     "ls: /d: No such file or directory\n", 1),
    ("rm /nope", "", "rm: can't remove '/nope': No such file or directory\n", 1),
    ("rm -f /nope", "", "", 0),
    ("echo x > /tmp/a; mv /tmp/a /tmp/b; cat /tmp/b; test -e /tmp/a || echo gone",
     "x\ngone\n", "", 0),
    ("echo x > /tmp/a; mkdir /tmp/d; cp /tmp/a /tmp/d; ls /tmp/d", "a\n", "", 0),
    ("mkdir -p /s/t; echo y > /s/t/f; cp /s /c", "", "cp: omitting directory '/s'\n", 1),
    ("mkdir -p /s/t; echo y > /s/t/f; cp -r /s /c; cat /c/t/f", "y\n", "", 0),
    ("cp /nope /x", "", "cp: can't stat '/nope': No such file or directory\n", 1),
    ("touch /tmp/new; ls /tmp", "new\n", "", 0),
    ("touch /nodir/x", "", "touch: /nodir/x: No such file or directory\n", 1),
    ("echo hi > /tmp/f; ls -l /tmp",
     "total 4\n-rw-r--r--    1 root     root             3 Mar  4 05:06 f\n", "", 0),
    ("touch /tmp/.hidden /tmp/v; ls /tmp; ls -a /tmp", "v\n.\n..\n.hidden\nv\n", "", 0),
    ("ls /etc/hostname /etc", "/etc/hostname\n\n/etc:\nhostname\nvars\n", "", 0),
    ("find /etc -name '*name'", "/etc/hostname\n", "", 0),
    ("cd /etc; find . -type f", "./hostname\n./vars\n", "", 0),
    ("basename /a/b.txt .txt; basename /a/b/; dirname /a/b; dirname b; dirname /a",
     "b\nb\n/a\n.\n/\n", "", 0),
    ("cat /etc/hostname /nope", "web-1\n",
     "cat: can't open '/nope': No such file or directory\n", 1),
    ("cat /etc", "", "cat: read error: Is a directory\n", 1),
    ("du -s /etc; du -sh /etc", "12\t/etc\n12K\t/etc\n", "", 0),  # 4 KiB blocks
    ("df | head -1", "Filesystem           1K-blocks      Used Available Use% Mounted on\n", "", 0),
    ("id; whoami; hostname; uname", "uid=0(root) gid=0(root) groups=0(root)\nroot\nweb-1\n"
     "Linux\n", "", 0),
    ("date; date +%Y-%m-%dT%H:%M:%S", "Wed Mar  4 05:06:07 UTC 2026\n2026-03-04T05:06:07\n",
     "", 0),
    ("sleep 1m 2; echo $?", "0\n", "", 0),
    ("sleep x", "", "sleep: invalid number 'x'\n", 1),
    ("nginx -v", "", "sh: nginx: not found\n", 127),
    (". /etc/vars; echo $A", "1\n", "", 0),
    ("command -v grep; type cd; which nosuch || echo none", "/bin/grep\ncd is a shell builtin\n"
     "none\n", "", 0),
])
def test_file_and_system_applets(script: str, stdout: str, stderr: str, status: int) -> None:
    files = {"/etc/hostname": "web-1\n", "/etc/vars": "A=1\n"}
    assert sh(script, files=files) == (stdout, stderr, status)


def test_ps_lists_the_containers_pid_namespace() -> None:
    out, _, _ = sh("ps", processes=[(1, "sleep 3600"), (7, "sh")])
    assert out.splitlines() == ["PID   USER     TIME  COMMAND",
                                "    1 root      0:00 sleep 3600",
                                "    7 root      0:00 sh",
                                "   13 root      0:00 ps"]


def test_nginx_v_in_the_nginx_image_names_its_version_on_stderr() -> None:
    assert sh("nginx -v", repository="docker.io/library/nginx", server="nginx/1.29.2") == (
        "", "nginx version: nginx/1.29.2\n", 0)


def go_like_tar(entries: dict[str, bytes | None]) -> bytes:
    """An archive as ``kubectl cp`` writes one (ustar, directories as ``name/``)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, content in entries.items():
            info = tarfile.TarInfo(name)
            if content is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


BINARY = bytes(range(256)) * 3


def test_tar_extracts_what_kubectl_cp_sends_and_creates_what_it_reads() -> None:
    files: dict[str, str] = {}
    archive = go_like_tar({"site/": None, "site/index.html": b"<h1>hi</h1>\n",
                           "site/logo.bin": BINARY})
    assert sh("tar -xmf - -C /tmp", stdin=as_text(archive), files=files) == ("", "", 0)
    assert files["/tmp/site/index.html"] == "<h1>hi</h1>\n"
    assert as_bytes(files["/tmp/site/logo.bin"]) == BINARY

    out, err, code = sh("tar cf - /tmp/site", files=files)
    assert (err, code) == ("tar: removing leading '/' from member names\n", 0)
    with tarfile.open(fileobj=io.BytesIO(as_bytes(out))) as read_back:
        names = read_back.getnames()
        logo = read_back.extractfile("tmp/site/logo.bin")
        assert logo is not None and logo.read() == BINARY
    assert names == ["tmp/site", "tmp/site/index.html", "tmp/site/logo.bin"]
    assert sh("tar tf /x.tar", files={"/x.tar": as_text(archive)})[0] == (
        "site/\nsite/index.html\nsite/logo.bin\n")


def test_tar_refuses_paths_that_climb_out_and_reports_bad_input() -> None:
    files: dict[str, str] = {}
    archive = go_like_tar({"../evil": b"x", "ok": b"y"})
    _, err, code = sh("tar xf - -C /tmp", stdin=as_text(archive), files=files)
    assert (err, code) == ("tar: skipping unsafe path '../evil'\n", 1)
    assert files == {"/tmp/ok": "y"}
    assert sh("tar xf -", stdin="not a tar archive" * 40)[1:] == ("tar: invalid tar magic\n", 1)
    assert sh("tar czf - /tmp")[1:] == (
        "tar: compression (-z) is not supported by the sandbox\n", 1)
    assert sh("tar cf - /nope")[1:] == ("tar: /nope: No such file or directory\n", 1)


def test_image_trees() -> None:
    nginx = filesystems.tree("docker.io/library/nginx", "1.27.3")
    assert nginx["/usr/share/nginx/html/index.html"] == page("nginx-welcome.html")
    assert "root   /usr/share/nginx/html;" in nginx["/etc/nginx/conf.d/default.conf"]
    assert "include /etc/nginx/conf.d/*.conf;" in nginx["/etc/nginx/nginx.conf"]
    assert 'VERSION_CODENAME=bookworm' in nginx["/etc/os-release"]
    assert "ID=alpine" in filesystems.tree("docker.io/library/nginx", "1.27-alpine")[
        "/etc/os-release"]
    assert "ID=alpine" in filesystems.tree("docker.io/library/alpine")["/etc/os-release"]
    assert "/etc/os-release" not in filesystems.tree("docker.io/library/busybox")
    files = {"/etc/passwd": "mine\n"}
    filesystems.populate("docker.io/library/busybox", files)
    assert files["/etc/passwd"] == "mine\n" and files["/tmp/"] == ""
    out, _, _ = sh("ls /usr/share/nginx/html; cat /etc/os-release | grep PRETTY",
                   files=dict(nginx))
    assert out == "50x.html\nindex.html\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
