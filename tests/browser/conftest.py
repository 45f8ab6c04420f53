"""Browser tests need Debian's Chromium (``apt-get install -y chromium``; no browser download).

Without it they are skipped, and the run says so at the end in a line of its own, so a green
run without browser tests is never mistaken for one with them.
"""

from __future__ import annotations

import pytest
from browser.support import CHROMIUM_MISSING as MISSING
from browser.support import CHROMIUM_REASON as REASON


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not MISSING:
        return
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.skip(reason=REASON))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One loud line counting the skips for want of Chromium."""
    if not MISSING:
        return
    skipped = [r for r in terminalreporter.stats.get("skipped", [])
               if "chromium" in str(getattr(r, "longrepr", "")).lower()]
    if skipped:
        terminalreporter.write_sep(
            "!", f"browser tests SKIPPED ({len(skipped)} skips): {REASON}", red=True, bold=True)
