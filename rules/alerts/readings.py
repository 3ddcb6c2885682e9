"""From :data:`~seamline.rules.alerts.queries.Facts` to :class:`~seamline.rules.alerts.model.Reading`s,
one per target, for each condition kind (pure; see :mod:`~seamline.rules.alerts.conditions`).

The evaluation time is ``as_of`` (now minus the evaluation delay): nothing after it is judged.
A target whose input has no rows gives no reading at all (nothing to say); a target whose row
lacks the figure, or whose gateway is offline when the figure depends on it, gives a reading
without a value (NO_DATA: neither breach nor clear)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from seamline.contracts.messages import GatewayState
from seamline.contracts.topic import GATEWAY_AREA, LINE_ASSET
from seamline.rules.alerts.conditions import (
    AbsenceCondition,
    KpiCondition,
    MetricCondition,
    OrderAtRiskCondition,
    StateDurationCondition,
)
from seamline.rules.alerts.model import Reading, Target
from seamline.rules.alerts.queries import ASSET_GATEWAYS, GATEWAYS, Facts, kpi_query, last_seen_query, metric_query
from seamline.rules.alerts.queries import queries_for as _queries_for
from seamline.storage.query import Row, Series
from seamline.storage.schema import CAPACITY, INGEST_SELF, TIME, Field, Tag

# enterprise id, window label, as_of -> the start of the KPI window to judge (None: no such window now)
WindowStart = Callable[[str, str, datetime], datetime | None]
GatewayKey = tuple[str, str, str]  # enterprise, site, gateway


@dataclass(frozen=True, slots=True)
class Platform:
    enterprise: str
    site: str


def _t(ms: Any) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


def _minutes(a: datetime, b: datetime) -> float:
    return max(0.0, (b - a).total_seconds() / 60)


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _latest(series: Series) -> Row | None:
    return max(series.rows, key=lambda r: int(r[TIME])) if series.rows else None


@dataclass(frozen=True, slots=True)
class Topology:
    """Which gateway serves which asset, and the gateways' last status."""

    asset_gateway: Mapping[tuple[str, str, str, str], str]
    status: Mapping[GatewayKey, tuple[datetime, str, str | None]]  # time, state, reason

    @classmethod
    def of(cls, facts: Facts, as_of: datetime) -> Topology:
        ag: dict[tuple[str, str, str, str], str] = {}
        for s in facts.get(ASSET_GATEWAYS, []):
            row = _latest(s)
            if row is not None and row.get(Field.GATEWAY):
                t = s.tags
                ag[(t[Tag.ENTERPRISE], t[Tag.SITE], t[Tag.AREA], t[Tag.ASSET])] = str(row[Field.GATEWAY])
        st: dict[GatewayKey, tuple[datetime, str, str | None]] = {}
        for s in facts.get(GATEWAYS, []):
            row = _latest(s)
            if row is not None and _t(row[TIME]) <= as_of:
                reason = row.get(Field.REASON)
                st[(s.tags[Tag.ENTERPRISE], s.tags[Tag.SITE], s.tags[Tag.GATEWAY])] = (
                    _t(row[TIME]), str(row[Field.STATE]), None if reason is None else str(reason))
        return cls(ag, st)

    def gateway_of(self, enterprise: str, site: str, area: str, asset: str) -> str | None:
        """The asset's gateway (from births); if unknown and the site has exactly one gateway, that one."""
        gw = self.asset_gateway.get((enterprise, site, area, asset))
        if gw is not None:
            return gw
        on_site = {g for (e, s, g) in self.status if e == enterprise and s == site}
        return on_site.pop() if len(on_site) == 1 else None

    def online(self, enterprise: str, site: str, gateway: str | None) -> bool | None:
        """True/False from the gateway's last status; None if unknown."""
        if gateway is None or (enterprise, site, gateway) not in self.status:
            return None
        return self.status[(enterprise, site, gateway)][1] == GatewayState.ONLINE.value


def _asset_target(tags: Mapping[str, str], topo: Topology) -> Target:
    e, s, a, x = tags[Tag.ENTERPRISE], tags[Tag.SITE], tags[Tag.AREA], tags[Tag.ASSET]
    if a == GATEWAY_AREA:
        return Target(e, s, None, None, x)
    return Target(e, s, a, x, topo.gateway_of(e, s, a, x))


def kpi_readings(c: KpiCondition, facts: Facts, as_of: datetime, window_start: WindowStart,
                 topo: Topology) -> list[Reading]:
    out = []
    for s in facts.get(kpi_query(c), []):
        row = _latest(s)
        if row is None:
            continue
        t = s.tags
        e, site = t[Tag.ENTERPRISE], t[Tag.SITE]
        area = t.get(Tag.LINE) or t.get(Tag.AREA)
        asset = t.get(Tag.ASSET) or (LINE_ASSET if area else None)
        gw = topo.gateway_of(e, site, area, asset) if area and asset and asset != LINE_ASSET else None
        target = Target(e, site, area, asset, gw)
        start = window_start(e, c.window, as_of)
        at = _t(row[TIME])
        if start is None or at < start:
            # the window the figure stood for is over (a finished shift) or its point is missing (a gap)
            out.append(Reading(target, None, over=start is None, at=at))
            continue
        out.append(Reading(target, _num(row.get(c.field)), _num(row.get(Field.COVERAGE)), at=at))
    return out


def _increase(rows: Iterable[Row], name: str) -> float | None:
    values = [v for r in sorted(rows, key=lambda r: int(r[TIME])) if (v := _num(r.get(name))) is not None]
    if len(values) < 2:
        return None
    total = 0.0
    for a, b in itertools.pairwise(values):
        total += b - a if b >= a else b  # a counter reset starts again from 0
    return total


def metric_readings(c: MetricCondition, facts: Facts, as_of: datetime, topo: Topology,
                    platform: Platform) -> list[Reading]:
    out = []
    for s in facts.get(metric_query(c), []):
        rows = [r for r in s.rows if _t(r[TIME]) <= as_of]
        if not rows:
            continue
        if c.measurement == INGEST_SELF.name:
            target = Target(platform.enterprise, platform.site, None, s.tags.get(Tag.WORKER) or "-")
        else:
            target = _asset_target(s.tags, topo)
        names = [c.field] if not c.field.endswith("*") else sorted({k for r in rows for k in r
                                                                     if k.startswith(c.field[:-1])})
        newest = max(rows, key=lambda r: int(r[TIME]))
        value: float | None = None
        for name in names:
            v = _increase(rows, name) if c.aggregate == "increase" else _num(newest.get(name))
            if v is not None:
                value = v if value is None else value + v
        out.append(Reading(target, value, at=_t(max(int(r[TIME]) for r in rows))))
    return out


def machine_state_readings(c: StateDurationCondition, facts: Facts, as_of: datetime, topo: Topology) -> list[Reading]:
    out = []
    for s in facts.get(_queries_for(c)[0], []):
        row = _latest(s)
        if row is None:
            continue
        target = _asset_target(s.tags, topo)
        since = _t(row[TIME])
        if topo.online(target.enterprise, target.site, target.gateway) is False or since > as_of:
            out.append(Reading(target, None))  # its gateway is offline: the machine's state is unknown
            continue
        in_state = row.get(Field.STATE) == c.state
        reason = row.get(Field.REASON)
        out.append(Reading(target, _minutes(since, as_of) if in_state else 0.0, at=since,
                           since=since if in_state else None, detail=str(reason) if in_state and reason else None))
    return out


def gateway_readings(c: StateDurationCondition, topo: Topology, as_of: datetime) -> list[Reading]:
    out = []
    for (e, site, gw), (at, state, reason) in sorted(topo.status.items()):
        in_state = state == c.state
        out.append(Reading(Target(e, site, None, None, gw), _minutes(at, as_of) if in_state else 0.0, at=at,
                           since=at if in_state else None, detail=(reason or "last will") if in_state else None))
    return out


def absence_readings(c: AbsenceCondition, facts: Facts, as_of: datetime, topo: Topology) -> list[Reading]:
    out = []
    for kind in c.asset_kinds:
        for s in facts.get(last_seen_query(kind, c.lookback_s), []):
            row = _latest(s)
            if row is None:
                continue
            target = _asset_target(s.tags, topo)
            seen = min(_t(row[TIME]), as_of)
            online = topo.online(target.enterprise, target.site, target.gateway)
            # Judged only while the gateway is known to be online: offline is the gateway rule's alert.
            out.append(Reading(target, _minutes(seen, as_of) if online else None, at=seen,
                               detail=None if online else "gateway offline or unknown"))
    return out


_BOOKED, _AVAILABLE, _CONFIDENCE = (CAPACITY.field("booked_std_min"), CAPACITY.field("available_std_min"),
                                   CAPACITY.field("confidence"))


def order_readings(c: OrderAtRiskCondition, facts: Facts, as_of: datetime,
                   local_date: Callable[[str, datetime], date]) -> list[Reading]:
    """The largest cumulative shortfall (booked - available standard minutes) over the days ahead,
    from today (the enterprise's local day): work booked by a day must be made by then; spare
    capacity of earlier days can make it ahead, later days cannot."""
    out = []
    for s in facts.get(_queries_for(c)[0], []):
        e, site, line = s.tags[Tag.ENTERPRISE], s.tags[Tag.SITE], s.tags[Tag.LINE]
        first = local_date(e, as_of)
        days = sorted(((local_date(e, _t(r[TIME])), r) for r in s.rows), key=lambda x: x[0])
        ahead = [(d, r) for d, r in days if first <= d < first + timedelta(days=c.days_ahead)]
        if not ahead:
            continue
        worst, worst_day, cum, conf = 0.0, None, 0.0, 1.0
        for d, r in ahead:
            cum += (_num(r.get(_BOOKED)) or 0.0) - (_num(r.get(_AVAILABLE)) or 0.0)
            conf = min(conf, _num(r.get(_CONFIDENCE)) or 0.0)
            if cum > worst:
                worst, worst_day = cum, d
        out.append(Reading(Target(e, site, line, LINE_ASSET), worst, conf, at=as_of,
                           detail=None if worst_day is None else worst_day.isoformat()))
    return out
