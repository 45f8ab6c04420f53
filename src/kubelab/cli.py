"""``kubelab`` command: ``kubelab sandbox …`` (the cluster) and ``kubelab grade …`` (a class),
``kubelab why pod/x`` (why an object is not working), ``kubelab binder-link`` (the Binder
link of this checkout), ``kubelab lab`` (what ``make lab``
runs) and ``kubelab lab-setup`` (the course's JupyterLab settings, also run by Binder)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print("usage: kubelab sandbox {start,stop,status,reset,logs,serve,kubeconfig,addons} "
              "…\n"
              "       kubelab grade <class-dir-or-zip> [--assignment NAME]\n"
              "       kubelab why pod/NAME|deploy/NAME|svc/NAME|node/NAME [-n NAMESPACE] "
              "[--json]\n"
              "       kubelab binder-link [--remote origin | --published OWNER/REPO] "
              "[--ref HEAD] [--markdown]\n"
              "       kubelab publish DEST [--repo OWNER/REPO] [--ref main]\n"
              "       kubelab lab [--instructor]\n"
              "       kubelab lab-setup [--instructor] [--prefix DIR]")
        return 0
    if args[0] == "sandbox":
        from kubelab.sandbox.cli import main as sandbox_main

        return sandbox_main(args[1:])
    if args[0] == "grade":
        from autograders.classroom import main as grade_main

        return grade_main(args[1:])
    if args[0] == "why":
        from kubelab.why.cli import main as why_main

        return why_main(args[1:])
    if args[0] == "publish":
        from autograders.publish import main as publish_main

        return publish_main(args[1:])
    if args[0] == "binder-link":
        from kubelab.binder_link import main as binder_main

        return binder_main(args[1:])
    if args[0] == "lab":
        from kubelab.lab import main as lab_main

        return lab_main(args[1:])
    if args[0] == "lab-setup":
        from kubelab.labsetup import main as setup_main

        return setup_main(args[1:])
    print(f"kubelab: unknown command {args[0]!r}", file=sys.stderr)
    return 2
