"""Report how many fuzz inputs ran (issue 12 asks for the figure)."""

from __future__ import annotations

import pytest

from tests.fuzz.targets import COUNTS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not COUNTS:
        return
    parts = ", ".join(f"{k} {v}" for k, v in sorted(COUNTS.items()))
    terminalreporter.write_line(f"fuzz inputs run: {sum(COUNTS.values())} ({parts})")
