"""Grade a submission from outside its kernel: nbgrader's Execute step, made hermetic.

Why: a submitted notebook is untrusted code. Under plain nbgrader the kernel runs as the
grader, in the course folder beside the gradebook (which holds every hidden test), the
instructor's ``source/`` and the other submissions, and a graded cell's score is whatever
that kernel prints — so one extra cell can replace the scoring function, read the answers or
rewrite a classmate's notebook. :class:`GradeOutsideKernel` replaces nbgrader's ``Execute``
preprocessor in ``nbgrader autograde`` (it is the step that runs the notebook) and changes
three things:

* **Where the kernel runs.** In a scratch directory that holds only a copy of the notebook
  (graded cells blanked) and a kubeconfig for the submission's own sandbox. When grading runs
  as root, the kernel runs under a dedicated, unused uid/gid for this one submission (in the
  range systemd's ``DynamicUser=`` allocates from, no supplementary groups, umask 077) with
  ``HOME``, ``TMPDIR``, ``IPYTHONDIR``, ``MPLCONFIGDIR``, the XDG and Jupyter directories all
  inside its scratch directory, and a minimal environment. It can write its scratch directory
  and what the machine leaves world-writable (``/tmp``), nothing of the grader's; every
  process left under that uid is killed afterwards. A probe first checks that such a uid can
  run this Python, import the course and run kubectl (a virtualenv under ``/root`` cannot be
  traversed); if it cannot, the kernel runs as the grader and a warning says so — copying the
  environment or widening permissions on the instructor's machine were the alternatives, and
  both are worse (slow, or silently loosening someone's home directory).
* **Who scores.** Graded cells are not sent to the kernel. At each graded cell the grader asks
  the kernel for its variables (plain data — numbers, strings, lists, dicts, … — as tagged
  JSON on stdout; anything else arrives as an opaque stand-in), then runs the instructor's
  test cell source, read from the gradebook, in this process: cluster checks read the
  submission's sandbox through this process's own client, value checks read the exported
  values. A kernel that lies about its variables has merely given those answers. The report
  and the score become the cell's outputs, so nbgrader's ``SaveAutoGrades`` records them in
  the gradebook, and nothing the kernel does can change them.
* **Whose sandbox.** This process starts the submission's private sandbox
  (:func:`kubelab.connect.connect` with ``fresh=True``, at grading speed) while the kernel
  starts, and stops it after the notebook; the kernel only gets a kubeconfig for it, before
  its first cell runs.

Checks run at their cell's position, not after the last cell: lessons change the cluster as
they go (lesson 2 scales five replicas down to two), so "after the notebook" would grade
exercise 1 against exercise 2's cluster. Validate (in JupyterLab) stays in-kernel and
advisory.
"""

from __future__ import annotations

import ast
import asyncio
import builtins
import contextlib
import dataclasses
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_output
from nbgrader.preprocessors import Execute
from traitlets import Bool

from autograders import checks, engine, forkserver
from autograders.engine import REPORT_MIME, Context, Exercise, Report, quiet
from autograders.kube import Reader, Snapshot
from autograders.lessons import lookup

#: systemd's DynamicUser= range (61184-65519): ids no account on a normal system uses. The
#: first is the kernels' shared group (the one granted traverse rights), the rest their uids.
KERNEL_GID = 61184
UID_RANGE = range(61185, 65520)
PROBE_UID = 65534  # nobody: the probe only needs "another user", not a dedicated one
MARK = "\x1ekubelab-answers:"
MAX_ANSWER_BYTES = 8_000_000
KERNEL_USER = "kubelab-grading"
BLANKED = "# Graded by `kubelab grade` outside the notebook's kernel.\n"
# Run in the kernel before it is stopped (see GradeOutsideKernel._async_cleanup_kernel).
EXIT_HOOK = """
import sys as _s
if "kubelab.browse" in _s.modules:
    _s.modules["kubelab.browse"].stop_port_forwards()
"""
EXIT_HOOK_SECONDS = 5.0
# A kernel keeps the locale, PYTHONPATH and the kubectl chosen by KUBELAB_KUBECTL (see
# kubelab.connect.kubectl_binary), nothing else of the grading process's environment.
KEEP_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONPATH", "KUBELAB_KUBECTL")


# --- Privilege drop ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Account:
    """A dedicated uid/gid for one submission's kernel, reserved by a lock file."""

    uid: int
    gid: int
    lock: Path


def _locks_dir() -> Path:
    """Where uid reservations live: one place per machine for root (whatever TMPDIR says)."""
    base = Path("/run") if os.geteuid() == 0 and Path("/run").is_dir() else \
        Path(tempfile.gettempdir())
    path = base / f"kubelab-kernel-uids-{os.geteuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    info = path.lstat()
    if not path.is_dir() or path.is_symlink() or info.st_uid != os.geteuid():
        raise RuntimeError(f"{path} is not a private directory of this user")
    return path


def _uid_in_use(uid: int) -> bool:
    import grp
    import pwd

    with contextlib.suppress(KeyError):
        pwd.getpwuid(uid)
        return True
    with contextlib.suppress(KeyError):
        grp.getgrgid(uid)
        return True
    return bool(_processes_of(uid))


def allocate_account() -> Account:
    """Reserve an unused uid (no account, no group, no process) for one kernel."""
    locks = _locks_dir()
    for uid in random.sample(UID_RANGE, len(UID_RANGE)):
        lock = locks / str(uid)
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            continue
        os.close(fd)
        if _uid_in_use(uid):
            lock.unlink()
            continue
        return Account(uid, KERNEL_GID, lock)
    raise RuntimeError("no free uid left for a grading kernel")


def _processes_of(uid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("Uid:"):
                    if int(line.split()[1]) == uid:
                        pids.append(int(entry.name))
                    break
    return pids


def release_account(account: Account) -> None:
    """Kill every process left under the account's uid (the kernel's, by construction)."""
    for _ in range(50):
        pids = _processes_of(account.uid)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        _wait_briefly()
    with contextlib.suppress(FileNotFoundError):
        account.lock.unlink()


def _wait_briefly() -> None:
    import select

    select.select([], [], [], 0.02)  # a poll interval, not simulated time


def drop_kwargs(account: Account) -> dict[str, Any]:
    """``subprocess.Popen`` arguments that start a process as ``account``."""
    return {"user": account.uid, "group": account.gid, "extra_groups": [], "umask": 0o077}


PROBE = """
import subprocess, autograders.engine, ipykernel, kubernetes, nbformat
from kubelab.connect import kubectl_binary
subprocess.run([kubectl_binary(), "version", "--client"], check=True, capture_output=True)
"""


@lru_cache(maxsize=1)
def privilege_drop() -> tuple[bool, str]:
    """(possible, why not): can a kernel run as another user here?

    Only root can switch users; and that user must be able to run this Python, import the
    course (an editable install reads the checkout) and run kubectl.
    """
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False, "grading does not run as root, so kernels run as the grading user"
    with tempfile.TemporaryDirectory(prefix="kubelab-probe-") as tmp:
        os.chown(tmp, PROBE_UID, KERNEL_GID)
        env = kernel_env(Path(tmp), Path(tmp) / "kubeconfig", None)
        try:
            proc = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp, env=env,
                                  capture_output=True, text=True, timeout=120, check=False,
                                  user=PROBE_UID, group=KERNEL_GID, extra_groups=[])
        except (OSError, subprocess.SubprocessError) as exc:
            return False, f"cannot start a process as uid {PROBE_UID}: {exc}"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return False, (f"an unprivileged user cannot run {sys.executable} with the course "
                       f"({last}); install kubelab where other users can read it "
                       "(not under /root)")
    return True, ""


# --- Traverse rights for the kernels' group ------------------------------------------------------
#
# A virtualenv's Python often lives under /root (pyenv, uv), which no other user may enter. The
# kernels' group gets the right to *traverse* (x, not list or read) each directory on the way
# to what a kernel must run — Python, the course, kubectl — that others may not traverse, as
# a POSIX ACL entry, for as long as a class is graded; the previous ACL and mode come back
# afterwards. Copying the interpreter (about 1 GB for a pyenv build) would be slow; opening
# the directories to every user would loosen someone's home for good.

ACL_XATTR = "system.posix_acl_access"
ACL_USER_OBJ, ACL_GROUP_OBJ, ACL_GROUP, ACL_MASK, ACL_OTHER = 0x01, 0x04, 0x08, 0x10, 0x20
ACL_UNDEFINED_ID = 0xFFFFFFFF


def needed_paths() -> list[Path]:
    """What a kernel must reach: this Python, its prefixes, the course packages, kubectl."""
    import autograders
    import kubelab
    from kubelab.connect import kubectl_binary

    paths = [Path(sys.executable), Path(os.path.realpath(sys.executable)),
             Path(sys.prefix), Path(sys.base_prefix),
             Path(autograders.__file__).parent, Path(kubelab.__file__).parent]
    with contextlib.suppress(FileNotFoundError):
        paths.append(Path(os.path.realpath(kubectl_binary())))
    return paths


def closed_ancestors(paths: list[Path]) -> list[Path]:
    """Directories on the way to ``paths`` that other users may not traverse."""
    found: list[Path] = []
    for path in paths:
        for parent in [*reversed(Path(os.path.realpath(path)).parents)]:
            with contextlib.suppress(OSError):
                if not parent.stat().st_mode & 0o001 and parent not in found:
                    found.append(parent)
    return found


def _acl_entries(directory: Path) -> list[tuple[int, int, int]]:
    import struct

    try:
        raw = os.getxattr(directory, ACL_XATTR)
    except OSError:
        mode = directory.stat().st_mode
        return [(ACL_USER_OBJ, (mode >> 6) & 7, ACL_UNDEFINED_ID),
                (ACL_GROUP_OBJ, (mode >> 3) & 7, ACL_UNDEFINED_ID),
                (ACL_OTHER, mode & 7, ACL_UNDEFINED_ID)]
    return [struct.unpack_from("<HHI", raw, 4 + 8 * i) for i in range((len(raw) - 4) // 8)]


def _grant_traverse(directory: Path, gid: int) -> None:
    import struct

    entries = [e for e in _acl_entries(directory) if not (e[0] == ACL_GROUP and e[2] == gid)]
    entries.append((ACL_GROUP, 1, gid))
    group_class = 0
    for tag, perm, _ in entries:
        if tag in (ACL_GROUP_OBJ, ACL_GROUP) or (tag == 0x02):  # 0x02: named user
            group_class |= perm
    entries = [e for e in entries if e[0] != ACL_MASK] + [(ACL_MASK, group_class,
                                                           ACL_UNDEFINED_ID)]
    entries.sort(key=lambda e: (e[0], e[2]))
    raw = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)
    os.setxattr(directory, ACL_XATTR, raw)


@contextlib.contextmanager
def kernel_access() -> Iterator[tuple[bool, str]]:
    """While grading a class: (kernels can run as a separate user, why not).

    As root, grants the kernels' group traverse rights where needed and probes that a kernel
    would start; otherwise says why kernels run as this user. Several grading runs may overlap
    (two instructors, or a test suite): each holds a shared lock on ``acl.holders`` for as long
    as it grades, the directories' previous ACLs are kept in ``acl.saved.json`` beside it, and
    only the last run to finish (the one that can take that lock exclusively) restores them. A
    run that was killed leaves the file behind, and the next run's end restores from it.
    """
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        yield False, "grading does not run as root"
        return
    import fcntl

    locks = _locks_dir()
    with open(locks / "acl.holders", "a") as holders:
        refused: OSError | None = None
        with open(locks / "acl.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                fcntl.flock(holders, fcntl.LOCK_SH)
                try:
                    _grant_all(locks / "acl.saved.json")
                except OSError as exc:
                    refused = exc
                    _restore_if_last(holders, locks / "acl.saved.json")
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        if refused is not None:
            yield False, f"cannot grant the kernels' group traverse rights ({refused})"
            return
        try:
            privilege_drop.cache_clear()
            yield privilege_drop()
        finally:
            privilege_drop.cache_clear()
            with open(locks / "acl.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    _restore_if_last(holders, locks / "acl.saved.json")
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)


def _grant_all(saved_file: Path) -> None:
    """Grant traverse rights on every closed ancestor, noting each one's ACL before the first
    grant in ``saved_file`` (a directory already granted keeps its first-noted ACL)."""
    saved = _read_saved(saved_file)
    try:
        for directory in closed_ancestors(needed_paths()):
            if any(e[0] == ACL_GROUP and e[2] == KERNEL_GID for e in _acl_entries(directory)):
                continue  # granted by an overlapping run, or left by a killed one
            try:
                raw: bytes | None = os.getxattr(directory, ACL_XATTR)
            except OSError:
                raw = None
            saved[directory] = (raw, directory.stat().st_mode & 0o7777)
            _write_saved(saved_file, saved)
            _grant_traverse(directory, KERNEL_GID)
    finally:
        _write_saved(saved_file, saved)


def _restore_if_last(holders: IO[str], saved_file: Path) -> None:
    """Restore the noted ACLs when no other grading run holds ``holders``; else leave them."""
    import fcntl

    try:
        fcntl.flock(holders, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fcntl.flock(holders, fcntl.LOCK_UN)
        return
    try:
        _restore(_read_saved(saved_file))
        saved_file.unlink(missing_ok=True)
    finally:
        fcntl.flock(holders, fcntl.LOCK_UN)


def _read_saved(saved_file: Path) -> dict[Path, tuple[bytes | None, int]]:
    import base64

    try:
        data = json.loads(saved_file.read_text())
    except (OSError, ValueError):
        return {}
    return {Path(d): (None if raw is None else base64.b64decode(raw), int(mode))
            for d, (raw, mode) in data.items()}


def _write_saved(saved_file: Path, saved: dict[Path, tuple[bytes | None, int]]) -> None:
    import base64

    data = {str(d): (None if raw is None else base64.b64encode(raw).decode(), mode)
            for d, (raw, mode) in saved.items()}
    tmp = saved_file.with_suffix(".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(data))
    os.replace(tmp, saved_file)


def _restore(saved: dict[Path, tuple[bytes | None, int]]) -> None:
    for directory, (raw, mode) in saved.items():
        with contextlib.suppress(OSError):
            if raw is None:
                os.removexattr(directory, ACL_XATTR)
            else:
                os.setxattr(directory, ACL_XATTR, raw)
            os.chmod(directory, mode)


def isolation_warning(drop: bool, reason: str) -> str | None:
    """The warning to show when kernels will not run as a separate user, else None."""
    if drop:
        return None
    return ("WARNING: submissions' kernels run as this user, not as a separate one ("
            f"{reason}). Scores are still computed outside the kernels, but a submission "
            "could read or change this user's files. Grade as root, or in a container, "
            "for work that counts (see the README's threat model).")


def kernel_env(home: Path, kubeconfig: Path, context: str | None) -> dict[str, str]:
    """A minimal environment whose every writable directory lies under ``home``."""
    env = {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH") or os.defpath])
    env.update({
        "HOME": str(home), "USER": KERNEL_USER, "LOGNAME": KERNEL_USER,
        "TMPDIR": str(home / "tmp"), "IPYTHONDIR": str(home / ".ipython"),
        "MPLCONFIGDIR": str(home / ".config" / "matplotlib"),
        "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_RUNTIME_DIR": str(home / ".runtime"),
        "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
        "JUPYTER_DATA_DIR": str(home / ".local" / "share" / "jupyter"),
        "JUPYTER_RUNTIME_DIR": str(home / ".runtime" / "jupyter"),
        "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
        "KUBECONFIG": str(kubeconfig), "KUBELAB_KUBECONFIG": str(kubeconfig),
        "KUBELAB_STATE_DIR": str(home / ".kubelab"),
        "NBGRADER_EXECUTION": "autograde",
    })
    if context:
        env["KUBELAB_CONTEXT"] = context
    return env


# --- Answers exported from the kernel ----------------------------------------------------------

EXPORT = """
def _kubelab_export():
    import json as j, sys as s
    from types import ModuleType, FunctionType
    def enc(v, d):
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if v is Ellipsis:
            return {"t": "..."}
        if d < 20:
            for kind, typ in (("tuple", tuple), ("list", list), ("set", set),
                              ("frozenset", frozenset)):
                if isinstance(v, typ):
                    return {"t": kind, "v": [enc(x, d + 1) for x in list(v)[:100000]]}
            if isinstance(v, dict):
                return {"t": "dict", "v": [[enc(k, d + 1), enc(x, d + 1)]
                                           for k, x in list(v.items())[:100000]]}
        return {"t": "opaque", "type": type(v).__name__}
    out = {}
    for name, value in list(get_ipython().user_ns.items()):
        if name.startswith("_") or name in ("In", "Out", "exit", "quit", "get_ipython"):
            continue
        if isinstance(value, (ModuleType, FunctionType, type)):
            continue
        try:
            out[name] = enc(value, 0)
        except Exception:
            out[name] = {"t": "opaque", "type": "?"}
    hints = []
    engine = s.modules.get("autograders.engine")
    for key, count in list(getattr(engine, "HINT_STEPS", {}).items()):
        hints.append([key[0], key[1], count])
    s.stdout.write("MARK" + j.dumps({"variables": out, "hint_steps": hints}) + "\\n")
    s.stdout.flush()
_kubelab_export()
del _kubelab_export
""".replace("MARK", MARK.encode("unicode_escape").decode())


@dataclasses.dataclass(frozen=True)
class Opaque:
    """Stands for a kernel value that is not plain data (a client object, a DataFrame…)."""

    type: str

    def __repr__(self) -> str:
        return f"<{self.type} object>"


def decode(value: Any) -> Any:
    """The Python value of one tagged-JSON answer (see :data:`EXPORT`)."""
    if not isinstance(value, dict):
        return value
    tag = value.get("t")
    if tag == "...":
        return Ellipsis
    raw = value.get("v")
    items: list[Any] = raw if isinstance(raw, list) else []
    try:
        if tag == "list":
            return [decode(x) for x in items]
        if tag == "tuple":
            return tuple(decode(x) for x in items)
        if tag == "set":
            return {decode(x) for x in items}
        if tag == "frozenset":
            return frozenset(decode(x) for x in items)
        if tag == "dict":
            return {decode(k): decode(v) for k, v in items}
    except (TypeError, ValueError):  # unhashable keys, malformed pairs
        return Opaque("unreadable value")
    return Opaque(str(value.get("type", "object")))


def _payload(text: str) -> dict[str, Any]:
    lines = [line for line in text.split("\n") if line.startswith(MARK)]
    if not lines or len(lines[-1]) > MAX_ANSWER_BYTES:
        return {}
    try:
        raw = json.loads(lines[-1][len(MARK):])
    except ValueError:
        return {}
    return raw if isinstance(raw, dict) else {}


def parse_answers(text: str) -> dict[str, Any]:
    """The variables in the last answers line of ``text`` (empty if there is none)."""
    raw = _payload(text).get("variables")
    if not isinstance(raw, dict):
        return {}
    return {str(k): decode(v) for k, v in raw.items()}


def parse_hint_steps(text: str) -> dict[tuple[str, str], int]:
    """How often each check failed in the kernel's own runs (its self-checks), so the graded
    report shows the hint step the learner's Validate would show. Only hint wording depends on
    it, never points."""
    steps: dict[tuple[str, str], int] = {}
    for item in _payload(text).get("hint_steps") or []:
        if isinstance(item, list) and len(item) == 3 and isinstance(item[2], int):
            steps[(str(item[0]), str(item[1]))] = max(0, min(item[2], 100))
    return steps


# --- The graded cell, evaluated here ----------------------------------------------------------

class _GradedExercise(Exercise):
    """An exercise whose ``score`` hands its report to the grader instead of the notebook."""

    sink: list[Report]

    def score(self, out_of: float, timeout: float | None = None, **_: Any) -> float:
        report = self.run(timeout)
        report.out_of = out_of
        self.sink.append(report)
        points = report.score
        return int(points) if float(points).is_integer() else points


def _split_last_expression(source: str) -> tuple[ast.Module, ast.Expression | None]:
    tree = ast.parse(source)
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = tree.body.pop()
        return tree, ast.Expression(body=last.value)  # type: ignore[attr-defined]
    return tree, None


def _python(source: str) -> str:
    from IPython.core.inputtransformer2 import TransformerManager

    return str(TransformerManager().transform_cell(source))


def grade_cell(source: str, variables: dict[str, Any],
               make_context: Callable[[dict[str, Any]], Context]) -> list[NotebookNode]:
    """Run an instructor's test cell here; its outputs as the kernel would have shown them."""
    reports: list[Report] = []

    def exercise(exercise_id: str) -> Exercise:
        base = lookup(exercise_id)
        graded = _GradedExercise(**{f.name: getattr(base, f.name)
                                    for f in dataclasses.fields(base) if f.init})
        graded.sink = reports
        graded.context_factory = lambda: make_context(variables)
        return graded

    namespace: dict[str, Any] = dict(variables)
    namespace.update({"__builtins__": builtins, "__name__": "__kubelab_grading__",
                      "exercise": exercise, "checks": checks,
                      "check": lambda exercise_id, timeout=None: exercise(exercise_id).run(0.0)})
    outputs: list[NotebookNode] = []
    value: Any = None
    try:
        body, last = _split_last_expression(_python(source))
        with quiet():
            exec(compile(body, "<graded cell>", "exec"), namespace)
            if last is not None:
                value = eval(compile(last, "<graded cell>", "eval"), namespace)
    except Exception as exc:
        outputs.append(new_output("error", ename=type(exc).__name__, evalue=str(exc),
                                  traceback=traceback.format_exception_only(exc)))
    for report in reports:
        outputs.insert(len(outputs) - (1 if outputs and outputs[-1].output_type == "error"
                                       else 0),
                       new_output("display_data", data={
                           "text/plain": report.text(), "text/html": report._repr_html_(),
                           REPORT_MIME: json.loads(json.dumps(report.as_dict()))}))
    if isinstance(value, (int, float)) and not isinstance(value, bool) \
            and not any(o.output_type == "error" for o in outputs):
        outputs.append(new_output("execute_result", data={"text/plain": repr(value)},
                                  execution_count=None))
    return outputs


# --- The nbgrader preprocessor ----------------------------------------------------------------

class _KernelManager(AsyncKernelManager):
    """Writes the connection file where the kernel's own user can read it."""

    owner: Account | None = None

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        if self.owner is not None and os.path.exists(self.connection_file):
            os.chown(self.connection_file, self.owner.uid, self.owner.gid)


def _start_submission_cluster() -> Future[Any]:
    """Start the submission's private sandbox in a thread; its future yields the cluster.

    The sandbox (about a second: a new interpreter importing the API server) and the kernel
    (about as long: a new interpreter importing IPython) start side by side; the first cell
    runs once both are ready (:meth:`GradeOutsideKernel.async_start_new_kernel`).
    """
    from kubelab.connect import connect

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kubelab-sandbox-start")
    try:
        return pool.submit(connect, fresh=True, preload_client=False)
    finally:
        pool.shutdown(wait=False)


def _close_cluster(starting: Future[Any]) -> None:
    """Stop the submission's sandbox, waiting for it if it is still starting."""
    with contextlib.suppress(Exception):  # a sandbox that never started has nothing to stop
        starting.result().close()


def _kernel_context() -> str | None:
    """The kubeconfig context the submission's cluster will have, known before it starts:
    :func:`kubelab.connect.connect` takes it from ``KUBELAB_CONTEXT`` (a private sandbox's
    kubeconfig has only its current context, so there it is None)."""
    return os.environ.get("KUBELAB_CONTEXT") or None


class GradeOutsideKernel(Execute):  # type: ignore[misc]
    """nbgrader's Execute, with the kernel isolated and graded cells scored here."""

    drop_privileges = Bool(None, allow_none=True, help=(
        "Run the kernel as a dedicated unprivileged uid (None: when possible, see "
        "privilege_drop)")).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Any = None,
                   km: Any = None) -> tuple[NotebookNode, Any]:
        self._tests = self._test_sources(resources)
        steps = getattr(engine, "HINT_STEPS", None)
        if isinstance(steps, dict):
            steps.clear()  # hint ladders climb per learner, not across a class
        drop = self.drop_privileges
        if drop is None:
            drop, _ = privilege_drop()
        account = allocate_account() if drop else None
        scratch = Path(tempfile.mkdtemp(prefix="kubelab-submission-"))
        self._starting = _start_submission_cluster()
        try:
            self._prepare(nb, resources, scratch, account)
            return super().preprocess(nb, resources)  # type: ignore[no-any-return]
        finally:
            _close_cluster(self._starting)
            if account is not None:
                release_account(account)
            shutil.rmtree(scratch, ignore_errors=True)

    def _test_sources(self, resources: Any) -> dict[str, str]:
        """The instructor's graded cells (grade id → source), from the gradebook."""
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_notebook(info["notebook"], info["assignment"])
            graded = {c.name for c in notebook.grade_cells}
            return {c.name: c.source for c in notebook.source_cells if c.name in graded}

    def _prepare(self, nb: NotebookNode, resources: Any, scratch: Path,
                 account: Account | None) -> None:
        for sub in ("tmp", ".runtime"):
            (scratch / sub).mkdir(mode=0o700)
        copy = json.loads(json.dumps(nb))
        for cell in copy.get("cells", []):
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
                cell["source"] = BLANKED
        name = f"{resources['nbgrader']['notebook']}.ipynb"
        (scratch / name).write_text(json.dumps(copy))
        if account is not None:
            for path in [scratch, *scratch.rglob("*")]:
                os.chown(path, account.uid, account.gid, follow_symlinks=False)
            os.chmod(scratch, 0o700)
        self._scratch = scratch
        self._account = account
        # The kubeconfig is written once the sandbox is up (_cluster_ready), before any cell.
        self._env = kernel_env(scratch, scratch / "kubeconfig", _kernel_context())
        self._kernel_dead = False

    def _cluster_ready(self, cluster: Any) -> None:
        """Hand the kernel the started sandbox's kubeconfig; read the cluster from here."""
        kubeconfig = self._scratch / "kubeconfig"
        shutil.copyfile(cluster.kubeconfig, kubeconfig)
        os.chmod(kubeconfig, 0o600)
        if self._account is not None:
            os.chown(kubeconfig, self._account.uid, self._account.gid, follow_symlinks=False)
        self._reader = Reader(cluster.api_client)

    def create_kernel_manager(self) -> Any:
        km = _KernelManager(kernel_name=self.kernel_name or "python3", config=self.config)
        km.connection_file = str(self._scratch / ".runtime" / "kernel.json")
        # Unix sockets in the kernel's own folder, not TCP ports: jupyter_client picks free
        # ports a second before the kernel binds them, and the submission's sandbox, starting
        # at the same moment, could take one first. No other user can reach them either.
        km.transport = "ipc"
        km.ip = str(self._scratch / ".runtime" / "kernel-ipc")
        km.owner = self._account
        if forkserver.running() is not None:  # a worker grading a class: kernels are forks
            km.provisioner = forkserver.ForkingProvisioner(kernel_spec=km.kernel_spec,
                                                           parent=km)
        self.km = km
        return km

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        kwargs.update(cwd=str(self._scratch), env=dict(self._env))
        if self._account is not None:
            kwargs.update(drop_kwargs(self._account))
        await super().async_start_new_kernel(**kwargs)
        # Started beside the kernel; no cell runs before the submission's cluster is up.
        self._cluster_ready(await asyncio.wrap_future(self._starting))

    start_new_kernel = run_sync(async_start_new_kernel)

    async def _async_cleanup_kernel(self) -> None:
        """Stop the kernel at once once kubelab's own exit hook has run in it.

        A graceful shutdown waits while the kernel's interpreter tears down every module it
        imported (the client's API classes are hundreds of pydantic models: a second or more,
        up to jupyter_client's 2.5 s before SIGTERM), which no grade depends on. The one exit
        hook that matters to the grading machine is kubelab's: stopping the ``kubectl
        port-forward`` processes ``open_app`` started in their own sessions. That runs first,
        bounded; then the kernel's process group is killed, as ``shutdown_kernel =
        "immediate"`` does (run as its own uid, whatever remains is killed afterwards too).
        """
        if self.km is not None and self.kc is not None \
                and not getattr(self, "_kernel_dead", False):
            with contextlib.suppress(Exception):
                if await ensure_async(self.km.is_alive()):
                    msg_id = self.kc.execute(EXIT_HOOK, silent=True, store_history=False)
                    await asyncio.wait_for(self._exit_hook_reply(msg_id), EXIT_HOOK_SECONDS)
        self.shutdown_kernel = "immediate"
        await super()._async_cleanup_kernel()

    _cleanup_kernel = run_sync(_async_cleanup_kernel)

    async def _exit_hook_reply(self, msg_id: str) -> None:
        assert self.kc is not None
        while True:
            msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=EXIT_HOOK_SECONDS))
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return

    def preprocess_cell(self, cell: NotebookNode, resources: Any,
                        index: int) -> tuple[NotebookNode, Any]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and grade_id in self._tests:
            cell.outputs = grade_cell(self._tests[grade_id], self._answers(index),
                                      self._context)
            return cell, self.resources
        if cell.cell_type == "code" and self._kernel_dead:
            cell.outputs = [new_output("error", ename="DeadKernelError",
                                       evalue="the kernel died in an earlier cell",
                                       traceback=["DeadKernelError: the kernel died"])]
            return cell, self.resources
        try:
            return super().preprocess_cell(cell, resources, index)  # type: ignore[no-any-return]
        except DeadKernelError as exc:
            self._kernel_dead = True
            cell.outputs.append(new_output("error", ename="DeadKernelError", evalue=str(exc),
                                           traceback=[f"DeadKernelError: {exc}"]))
            return cell, self.resources

    def _answers(self, index: int) -> dict[str, Any]:
        """The kernel's variables now, exported as plain data."""
        if self._kernel_dead:
            return {}
        original = self.nb.cells[index]
        probe = new_code_cell(EXPORT)
        try:
            self.execute_cell(probe, index, store_history=False)
        except DeadKernelError:
            self._kernel_dead = True
            return {}
        except Exception:  # a time-out or an error in the export: no answers
            return {}
        finally:
            self.nb.cells[index] = original
        text = "".join(o.get("text", "") for o in probe.get("outputs", [])
                       if o.get("output_type") == "stream" and o.get("name") == "stdout")
        steps = getattr(engine, "HINT_STEPS", None)
        if isinstance(steps, dict):
            steps.clear()
            steps.update(parse_hint_steps(text))
        return parse_answers(text)

    def _context(self, variables: dict[str, Any]) -> Context:
        return Context(Snapshot(self._reader), variables)


def autograde_preprocessors() -> list[type]:
    """nbgrader's autograde pipeline with :class:`GradeOutsideKernel` in Execute's place."""
    from nbgrader.converters import Autograde

    default = Autograde.class_traits()["autograde_preprocessors"].default()
    return [GradeOutsideKernel if p is Execute else p for p in default]
