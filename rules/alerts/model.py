"""What an alert condition is judged on: a :class:`Target` (where, in the topic hierarchy) and a
:class:`Reading` (its figure, the data coverage behind it, when it was observed), and the
:class:`Verdict` a condition gives on it. Pure values."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Verdict(enum.StrEnum):
    BREACH = "breach"  # beyond the threshold
    HOLD = "hold"  # between the threshold and the clear threshold (hysteresis): no change
    CLEAR = "clear"  # back on the clear side
    NO_DATA = "no_data"  # no figure, or too little coverage behind it: neither a breach nor a clear


@dataclass(frozen=True, slots=True, order=True)
class Target:
    """Where a reading comes from: topic names (``area`` is the line of a machine or line; ``asset``
    ``_line`` for a line, unset for a gateway or a site) and the gateway the data comes through."""

    enterprise: str
    site: str
    area: str | None = None
    asset: str | None = None
    gateway: str | None = None

    def key(self) -> str:
        """A stable text identity (the state store's key, with the rule id)."""
        return "/".join(v or "-" for v in (self.enterprise, self.site, self.area, self.asset, self.gateway))


@dataclass(frozen=True, slots=True)
class Reading:
    """One figure for one target. ``value`` None: the input has no data. ``coverage``: fraction of
    the time the figure stands for that was observed (None: not applicable). ``detail``: a reason
    code, a day, a state - shown in the annotation."""

    target: Target
    value: float | None
    coverage: float | None = None
    at: datetime | None = None
    since: datetime | None = None  # when the observed condition began, if the input knows
    detail: str | None = None
    over: bool = False  # the window the figure stood for is over (a finished shift): nothing to alert on
