"""``kubelab binder-link``: the mybinder.org link (and README badge) for this checkout.

Binder builds a repository by its public address, which a clone only knows through its git
remote. An instructor who forks the course runs this to get the link that opens a lesson in
JupyterLab on their fork, instead of editing ``OWNER/REPO`` by hand.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

FIRST_LESSON = "01-cluster-and-architecture"
_GITHUB = re.compile(r"^(?:https?://|ssh://git@|git@)github\.com[/:]"
                     r"(?P<owner>[A-Za-z0-9][A-Za-z0-9-]*)/(?P<repo>[A-Za-z0-9._-]+?)(?:\.git)?/?$")


def github_slug(remote_url: str) -> str:
    """``owner/repo`` from a GitHub remote in any of git's spellings (https, ssh, scp-like)."""
    match = _GITHUB.match(remote_url.strip())
    if match is None:
        raise ValueError(f"not a GitHub remote: {remote_url.strip()!r} "
                         "(mybinder.org builds GitHub repositories by owner/name)")
    return f"{match['owner']}/{match['repo']}"


def binder_url(slug: str, ref: str = "HEAD", lesson: str = FIRST_LESSON) -> str:
    path = f"notebooks/{lesson}/{lesson}.ipynb"
    return f"https://mybinder.org/v2/gh/{slug}/{ref}?urlpath=lab/tree/{path}"


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise ValueError(proc.stderr.strip() or f"git {' '.join(args)} failed")
    return proc.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="kubelab binder-link",
        description="Print the mybinder.org link that opens a lesson of this checkout.")
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help="the course checkout")
    parser.add_argument("--remote", default="origin", help="git remote to publish from")
    parser.add_argument("--published", metavar="OWNER/REPO",
                        help="the students' repository made by `kubelab publish` (no "
                             "answers in it): link that instead of this checkout's remote")
    parser.add_argument("--ref", default="HEAD", help="branch, tag or commit Binder builds")
    parser.add_argument("--lesson", default=FIRST_LESSON, help="the lesson the link opens")
    parser.add_argument("--markdown", action="store_true", help="print a README badge")
    args = parser.parse_args(argv)
    notebook = args.repo / "notebooks" / args.lesson / f"{args.lesson}.ipynb"
    try:
        if not notebook.is_file():
            raise ValueError(f"no student notebook {notebook} (is --repo the course checkout?)")
        if args.published:
            slug = github_slug(f"https://github.com/{args.published}")
        else:
            slug = github_slug(_git(args.repo, "remote", "get-url", args.remote))
    except ValueError as exc:
        print(f"kubelab binder-link: {exc}", file=sys.stderr)
        return 2
    url = binder_url(slug, args.ref, args.lesson)
    print(f"[![Binder](https://mybinder.org/badge_logo.svg)]({url})" if args.markdown else url)
    return 0
