"""A rendered page is a well-formed, self-contained HTML document."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from kubelab.viz.model import project
from kubelab.viz.render import render_page
from viz.support import NAMES, snapshot

VOID = {"meta", "br", "img", "input", "link", "hr", "circle", "path", "rect", "line"}


class StrictParser(HTMLParser):
    """Checks that every element is closed in order and records what the page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.external.append(value)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}>, open: {self.stack[-3:]}")
            return
        self.stack.pop()


@pytest.mark.parametrize("name", NAMES)
def test_saved_page_parses_as_html(name: str, tmp_path: Path) -> None:
    page = tmp_path / f"{name}.html"
    page.write_text(render_page(project(snapshot(name)), title=name), encoding="utf-8")
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    parser = StrictParser()
    parser.feed(text)
    parser.close()
    assert parser.errors == []
    assert parser.stack == []
    assert parser.external == []
    assert "script" not in parser.tags
    assert {"html", "head", "body", "svg", "div"} <= set(parser.tags)
