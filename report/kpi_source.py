"""The day's KPI points from InfluxDB (RP ``kpi``), through the storage layer's InfluxQL client.

One local calendar day per enterprise, in the enterprise's own time zone (master data): a day
window is ``[00:00, 24:00)`` local, so the ``1d`` point (stamped at local midnight), the shifts
that start that day and its 24 hourly points fall inside it. Enterprises are read in batches of
``batch_enterprises`` per request (three statements each, filtered on the ``window`` tag by the
server), so a cluster of thousands is a bounded number of bounded answers.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import groupby
from typing import Any

from seamline.backoff import Backoff
from seamline.report.inputs import DayKpis, DowntimeMinutes, LineFigures, LinePoint, SiteEnergy
from seamline.rules.master_data import Enterprise
from seamline.rules.shift_calendar import local_day_window
from seamline.storage.query import CountingClient, Select, Series, TagIn
from seamline.storage.query_errors import QueryUnavailableError
from seamline.storage.schema import KPI_DOWNTIME, KPI_FACTORY_ENERGY, KPI_LINE, TIME, Field, Tag

# Window labels the report reads: the day, its shifts, its hours (never the 5-minute points).
DAY, SHIFT, HOUR = "1d", "shift", "1h"
FACTORY_WINDOWS = (DAY, SHIFT, HOUR)
CLUSTER_WINDOWS = (DAY,)  # the cluster page shows days per enterprise, not hours per line

_RATIOS = ("utilization", "line_efficiency", "oee", "availability", "performance", "quality")
LINE_FIELDS = KPI_LINE.fields_of(*_RATIOS, "good_pieces", "earned_min", Field.COVERAGE, Field.LOW_COVERAGE,
                                 Field.FLAGS)
ENERGY_FIELDS = KPI_FACTORY_ENERGY.fields_of("consumption_kwh", "kwh_per_piece", "green_share", Field.COVERAGE,
                                             Field.LOW_COVERAGE)
log = logging.getLogger(__name__)

# A request's answer for this many enterprises' day (2-20 lines each, 27 line points per line) is a
# few MB of JSON at most.
DEFAULT_BATCH_ENTERPRISES = 200


def day_selects(kpi_rp: str, enterprises: tuple[str, ...], start_ms: int, end_ms: int,
                windows: tuple[str, ...]) -> list[Select]:
    """The three statements of one batch: line points, downtime by reason, site energy."""
    day_only = (TagIn(tag=Tag.WINDOW, values=(DAY,)),)
    return [
        Select(measurement=KPI_LINE, fields=LINE_FIELDS, rp=kpi_rp, enterprises=enterprises,
               group_by=(Tag.ENTERPRISE, Tag.SITE, Tag.LINE, Tag.WINDOW, Tag.SHIFT), start_ms=start_ms,
               end_ms=end_ms, tags_in=(TagIn(tag=Tag.WINDOW, values=windows),)),
        Select(measurement=KPI_DOWNTIME, fields=(Field.DOWN_MIN, Field.COVERAGE), rp=kpi_rp,
               enterprises=enterprises, group_by=(Tag.ENTERPRISE, Tag.SITE, Tag.LINE, Tag.ASSET, Tag.REASON),
               start_ms=start_ms, end_ms=end_ms, tags_in=day_only),
        Select(measurement=KPI_FACTORY_ENERGY, fields=ENERGY_FIELDS, rp=kpi_rp, enterprises=enterprises,
               group_by=(Tag.ENTERPRISE, Tag.SITE), start_ms=start_ms, end_ms=end_ms, tags_in=day_only),
    ]


def _num(row: Any, name: str) -> float | None:
    v = row.get(name)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _flags(row: Any) -> tuple[str, ...]:
    raw = row.get(Field.FLAGS)
    return tuple(f for f in str(raw).split(",") if f) if raw else ()


def line_points(series: Iterable[Series]) -> list[LinePoint]:
    out = []
    for s in series:
        t = s.tags
        for row in s.rows:
            figures = LineFigures(**{k: _num(row, k) for k in (*_RATIOS, "good_pieces", "earned_min")},
                                  coverage=_num(row, Field.COVERAGE) or 0.0,
                                  low_coverage=bool(row.get(Field.LOW_COVERAGE)), flags=_flags(row))
            out.append(LinePoint(enterprise=t[Tag.ENTERPRISE], site=t.get(Tag.SITE, ""), line=t.get(Tag.LINE, ""),
                                 window=t.get(Tag.WINDOW, ""), shift=t.get(Tag.SHIFT) or None,
                                 start_ms=int(row[TIME]), figures=figures))
    return out


def downtime(series: Iterable[Series]) -> list[DowntimeMinutes]:
    """Down minutes per (enterprise, site, line, reason), summed over the line's machines."""
    sums: dict[tuple[str, str, str, str], tuple[float, float]] = {}
    for s in series:
        t = s.tags
        key = (t[Tag.ENTERPRISE], t.get(Tag.SITE, ""), t.get(Tag.LINE, ""), t.get(Tag.REASON, ""))
        for row in s.rows:
            minutes, cov = sums.get(key, (0.0, 1.0))
            sums[key] = (minutes + (_num(row, Field.DOWN_MIN) or 0.0), min(cov, _num(row, Field.COVERAGE) or 0.0))
    return [DowntimeMinutes(enterprise=e, site=s, line=ln, reason=r, down_min=m, coverage=c)
            for (e, s, ln, r), (m, c) in sorted(sums.items())]


def site_energy(series: Iterable[Series]) -> list[SiteEnergy]:
    out = []
    for s in series:
        t = s.tags
        for row in s.rows:
            out.append(SiteEnergy(enterprise=t[Tag.ENTERPRISE], site=t.get(Tag.SITE, ""),
                                  consumption_kwh=_num(row, "consumption_kwh"),
                                  kwh_per_piece=_num(row, "kwh_per_piece"), green_share=_num(row, "green_share"),
                                  coverage=_num(row, Field.COVERAGE) or 0.0,
                                  low_coverage=bool(row.get(Field.LOW_COVERAGE))))
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class InfluxKpiReader:
    """Reads one day of KPI points for any number of enterprises. An InfluxDB that does not answer
    (:class:`~seamline.storage.query_errors.QueryUnavailableError`) is retried ``attempts`` times
    per request with jittered, capped backoff; then, and on any other query error, it raises."""

    client: CountingClient
    kpi_rp: str
    windows: tuple[str, ...] = FACTORY_WINDOWS
    batch_enterprises: int = DEFAULT_BATCH_ENTERPRISES
    attempts: int = 4
    backoff_s: float = 1.0
    max_backoff_s: float = 8.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def _run(self, selects: list[Select]) -> list[list[Series]]:
        backoff = Backoff(initial_s=self.backoff_s, max_s=self.max_backoff_s, random=self.rng.random)
        while True:
            try:
                return self.client.run(selects)
            except QueryUnavailableError as exc:
                if backoff.attempt + 1 >= self.attempts:
                    raise
                delay = backoff.next_delay_s()
                log.warning("report: %s; retrying in %.1f s", exc, delay)
                self.sleep(delay)

    def read(self, enterprises: Sequence[Enterprise], day: date) -> DayKpis:
        lines: list[LinePoint] = []
        down: list[DowntimeMinutes] = []
        energy: list[SiteEnergy] = []
        statements = self.client.statements
        by_zone = sorted(enterprises, key=lambda e: (e.timezone, e.id))
        for _zone, zone_group in groupby(by_zone, key=lambda e: e.timezone):
            group = list(zone_group)
            ids = [e.id for e in group]
            window = local_day_window(day, group[0].tz)
            start_ms, end_ms = int(window.start_s * 1000), int(window.end_s * 1000)
            for i in range(0, len(ids), self.batch_enterprises):
                batch = tuple(ids[i:i + self.batch_enterprises])
                ls, ds, es = self._run(day_selects(self.kpi_rp, batch, start_ms, end_ms, self.windows))
                lines += line_points(ls)
                down += downtime(ds)
                energy += site_energy(es)
        return DayKpis(lines=tuple(lines), downtime=tuple(down), energy=tuple(energy),
                       statements=self.client.statements - statements)
