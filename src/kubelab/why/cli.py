"""``kubelab why pod/x [-n ns]`` in a terminal and ``%why pod/x [-n ns]`` in a notebook.

The cluster is the course's (:func:`kubelab.connect.connect`: ``--kubeconfig``/``--context``,
``KUBELAB_KUBECONFIG``/``KUBELAB_CONTEXT``, else the sandbox). The exit status says what was
found: 0 nothing wrong, 1 a problem (printed), 2 a usage error or a cluster that does not
answer — so a script can ask ``kubelab why deploy/web || …``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys

USAGE = "kubelab why pod/NAME|deploy/NAME|svc/NAME|node/NAME [-n NAMESPACE] [--json]"


class _Parser(argparse.ArgumentParser):
    """Raises instead of printing to stderr and exiting, for the magic (a notebook cell
    must not end its kernel nor write to stderr)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ValueError(f"{message} (usage: {self.prog} pod/NAME [-n NAMESPACE])")


def parser(prog: str = "kubelab why", *, raising: bool = False) -> argparse.ArgumentParser:
    p = (_Parser if raising else argparse.ArgumentParser)(
        prog=prog, description="Say in plain words why a pod, Deployment, Service or node "
        "is not working: the cause, the evidence, the command to see it, the fix.")
    p.add_argument("target", help="pod/NAME, deploy/NAME, svc/NAME or node/NAME "
                                  "(a bare NAME is a pod)")
    p.add_argument("-n", "--namespace", default=None, help="namespace (default: default)")
    p.add_argument("--kubeconfig", default=None, help="kubeconfig file of another cluster")
    p.add_argument("--context", default=None, help="kubeconfig context of another cluster")
    p.add_argument("--json", action="store_true", help="print the diagnosis as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    from kubelab.connect import connect
    from kubelab.why.diagnose import parse_target
    from kubelab.why.fetch import FetchError, why

    try:
        parse_target(args.target)
    except ValueError as exc:
        print(f"kubelab why: {exc}", file=sys.stderr)
        return 2
    try:
        cluster = connect(args.kubeconfig, args.context)
        found = why(args.target, args.namespace, cluster=cluster)
    except FetchError as exc:
        print(f"kubelab why: {exc}; is the cluster running? (kubelab sandbox status)",
              file=sys.stderr)
        return 2
    print(json.dumps(found.as_dict(), indent=2) if args.json else found.text())
    return 0 if found.ok else 1


def magic(line: str) -> None:
    """``%why pod/x [-n ns]``: show the diagnosis as rich HTML (plain text for a terminal)."""
    from IPython.display import display

    from kubelab.why.fetch import FetchError, why

    try:
        args = parser("%why", raising=True).parse_args(shlex.split(line))
        found = why(args.target, args.namespace)
    except SystemExit:  # --help was printed
        return
    except ValueError as exc:
        print(f"%why: {exc}")
        return
    except FetchError as exc:
        print(f"%why: {exc}. Re-run the lesson's first cell (it starts the cluster).")
        return
    if args.json:
        print(json.dumps(found.as_dict(), indent=2))
        return
    display({"text/plain": found.text(), "text/html": found._repr_html_()}, raw=True)
