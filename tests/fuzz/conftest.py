"""Report how many fuzz inputs ran (issue 12 asks for the figure)."""

from __future__ import annotations

import pytest

from tests.fuzz.budget import test_timeout_s
from tests.fuzz.targets import COUNTS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.timeout(test_timeout_s()))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not COUNTS:
        return
    parts = ", ".join(f"{k} {v}" for k, v in sorted(COUNTS.items()))
    terminalreporter.write_line(f"fuzz inputs run: {sum(COUNTS.values())} ({parts})")
