"""``kubelab binder-link``: the Binder link of a checkout, from its git remote."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from kubelab.binder_link import FIRST_LESSON, binder_url, github_slug, main

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("remote", [
    "https://github.com/acme-edu/k8s-course.git",
    "https://github.com/acme-edu/k8s-course",
    "https://github.com/acme-edu/k8s-course/",
    "git@github.com:acme-edu/k8s-course.git",
    "ssh://git@github.com/acme-edu/k8s-course.git",
])
def test_every_spelling_of_a_github_remote_gives_owner_and_name(remote: str) -> None:
    assert github_slug(remote) == "acme-edu/k8s-course"


def test_a_remote_binder_cannot_build_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match=r"not a GitHub remote.*owner/name"):
        github_slug("https://gitlab.example.org/acme/k8s-course.git")


def _checkout(root: Path, remote: str | None) -> Path:
    notebook = root / "notebooks" / FIRST_LESSON / f"{FIRST_LESSON}.ipynb"
    notebook.parent.mkdir(parents=True)
    notebook.write_text("{}")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    if remote:
        subprocess.run(["git", "-C", str(root), "remote", "add", "origin", remote], check=True)
    return root


def test_prints_the_link_and_badge_for_the_checkouts_remote(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = _checkout(tmp_path / "fork", "git@github.com:acme-edu/k8s-course.git")
    assert main(["--repo", str(repo), "--ref", "spring-2027"]) == 0
    url = capsys.readouterr().out.strip()
    assert url == ("https://mybinder.org/v2/gh/acme-edu/k8s-course/spring-2027?urlpath=lab/tree/"
                   f"notebooks/{FIRST_LESSON}/{FIRST_LESSON}.ipynb")
    assert main(["--repo", str(repo), "--markdown"]) == 0
    badge = capsys.readouterr().out.strip()
    assert badge.startswith("[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder")
    assert "/acme-edu/k8s-course/HEAD?" in badge


def test_no_remote_or_no_lesson_is_a_clear_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = _checkout(tmp_path / "local", None)
    assert main(["--repo", str(repo)]) == 2
    assert "kubelab binder-link:" in capsys.readouterr().err
    assert main(["--repo", str(repo), "--lesson", "99-nope"]) == 2
    assert "no student notebook" in capsys.readouterr().err


def test_the_readme_badge_opens_a_notebook_that_exists() -> None:
    readme = (REPO / "README.md").read_text()
    link = re.search(r"\(https://mybinder\.org/v2/gh/[^)]+\)", readme)
    assert link is not None
    path = link.group(0).split("urlpath=lab/tree/", 1)[1].rstrip(")")
    assert (REPO / path).is_file()
    assert link.group(0)[1:-1] == binder_url("OWNER/REPO", "main")
