"""Grading periods: a year (``2026``), a half (``2026H1``), a quarter (``2026Q3``) or a month
(``2026-09``), as local calendar days."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from seamline.contracts.grades import PERIOD_PATTERN
from seamline.errors import UsageError

_FORM = re.compile(PERIOD_PATTERN)


class PeriodError(UsageError):
    """Not a period this module knows."""


@dataclass(frozen=True, slots=True, order=True)
class Period:
    start: date  # first day
    end: date  # last day (inclusive)
    text: str

    @classmethod
    def parse(cls, text: str) -> Period:
        t = text.strip()
        if not _FORM.match(t):
            raise PeriodError(f"period {text!r}: expected 2026, 2026H1, 2026Q3 or 2026-09")
        year = int(t[:4])
        if len(t) == 4:
            first, months = 1, 12
        elif t[4] == "H":
            first, months = 1 + 6 * (int(t[5]) - 1), 6
        elif t[4] == "Q":
            first, months = 1 + 3 * (int(t[5]) - 1), 3
        else:
            first, months = int(t[5:7]), 1
        last = first + months - 1
        return cls(date(year, first, 1), date(year, last, calendar.monthrange(year, last)[1]), t)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def year_days(self) -> int:
        """Days of the calendar year the period starts in (365 or 366)."""
        return 366 if calendar.isleap(self.start.year) else 365

    @property
    def annualise(self) -> float:
        """Factor that turns a flow over this period into a flow per year."""
        return self.year_days / self.days

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def elapsed_days(self, today: date) -> int:
        """Whole days of the period before ``today`` (``today`` itself is still being measured)."""
        last = min(self.end, today - timedelta(days=1))
        return max(0, (last - self.start).days + 1)

    def __str__(self) -> str:
        return self.text
