"""Which KPI window an alert judges at ``as_of``, per enterprise (pure, from master data):

* ``shift``: the shift running at ``as_of`` (its figures so far); none running -> None (the
  shift's alerts clear: the window is over);
* ``5m``, ``1h``: the last closed window (an open hour's figures are a few minutes of data);
* ``1d``: today so far (local day).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from seamline.rules.master_data import Enterprise, MasterData
from seamline.rules.shift_calendar import ShiftCalendar, shift_instances
from seamline.rules.windows import Window, WindowSize, window_containing

_TICK = timedelta(microseconds=1)


class KpiWindows:
    def __init__(self, master: MasterData) -> None:
        self.master = master
        self._ents: dict[str, Enterprise] = {e.id: e for e in master.enterprises}
        self._cals: dict[str, ShiftCalendar] = {}
        self._starts: dict[tuple[str, str, datetime], datetime | None] = {}  # one evaluation's answers

    def _calendar(self, ent: Enterprise) -> ShiftCalendar:
        if ent.id not in self._cals:
            self._cals[ent.id] = ShiftCalendar.for_enterprise(self.master, ent)
        return self._cals[ent.id]

    def start(self, enterprise: str, label: str, as_of: datetime) -> datetime | None:
        """The start of the window to judge (module docstring); None if there is none."""
        key = (enterprise, label, as_of)
        if key not in self._starts:
            if len(self._starts) > 100_000:
                self._starts.clear()
            self._starts[key] = self._start(enterprise, label, as_of)
        return self._starts[key]

    def _start(self, enterprise: str, label: str, as_of: datetime) -> datetime | None:
        ent = self._ents.get(enterprise)
        if ent is None:
            return None
        tz = ent.tz
        if label in (WindowSize.FIVE_MINUTES.value, WindowSize.HOUR.value):
            size = WindowSize(label)
            return window_containing(window_containing(as_of, size, tz).start - _TICK, size, tz).start
        if label == WindowSize.DAY.value:
            return window_containing(as_of, WindowSize.DAY, tz).start
        span = Window(as_of - timedelta(days=1), as_of + _TICK)
        running = [i for i in shift_instances(self._calendar(ent), span) if i.window.start <= as_of < i.window.end]
        return running[-1].window.start if running else None

    def local_date(self, enterprise: str, t: datetime) -> date:
        ent = self._ents.get(enterprise)
        return t.astimezone(ent.tz).date() if ent is not None else t.date()
