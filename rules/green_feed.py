"""The carbon feed: each line's green share and kg CO2e per piece over the last days, from the
daily (``window=1d``) ``kpi_line_carbon`` and ``kpi_green_energy`` points, as one
:class:`~seamline.contracts.carbon.CarbonMessage` per line, published retained (QoS 1) on
``seamline/v1/<enterprise>/<site>/<line>/_line/carbon`` for the platform's matching.

Only lines with at least one measured day are published; a line whose days are all gone from the
look-back keeps its last message (retained) until the next measured day replaces it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime

from seamline.contracts.carbon import CarbonDay, CarbonMessage
from seamline.contracts.topic import MessageKind, Topic
from seamline.rules.capacity_feed import Publisher
from seamline.rules.green_config import GreenAttribution
from seamline.rules.kpi_points import Fence, NoFence
from seamline.rules.master_data import MasterData
from seamline.rules.windows import WindowSize
from seamline.storage.query import CountingClient, Select, Series
from seamline.storage.schema import KPI_GREEN_ENERGY, KPI_LINE_CARBON, TIME, Tag

LineKey = tuple[str, str, str]  # (enterprise, site, line)
SiteDayKey = tuple[str, str, date]
PIECES, LINE_GRID_KWH, LINE_CO2E_KG, PER_PIECE = KPI_LINE_CARBON.fields_of(
    "pieces", "grid_kwh", "co2e_kg", "co2e_kg_per_piece")
CONSUMPTION_KWH, GREEN_KWH = KPI_GREEN_ENERGY.fields_of("consumption_kwh", "green_kwh")


def _daily(series: list[Series]) -> list[Series]:
    return [s for s in series if s.tags.get(Tag.WINDOW) == WindowSize.DAY.value]


def _f(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


@dataclass(frozen=True, slots=True)
class CarbonDays:
    """What the daily points say: per line its days, per site and day (consumption, green) kWh."""

    lines: Mapping[LineKey, list[CarbonDay]]
    sites: Mapping[SiteDayKey, tuple[float, float]]


def read_carbon_days(client: CountingClient, master: MasterData, *, rp: str, now: datetime, days: int) -> CarbonDays:
    """The daily carbon and green points of the last ``days`` local days (two statements)."""
    ents = tuple(sorted(e.id for e in master.enterprises))
    if not ents:
        return CarbonDays({}, {})
    start_ms, end_ms = int((now.timestamp() - (days + 1) * 86400) * 1000), int(now.timestamp() * 1000)
    lines_sel = Select(measurement=KPI_LINE_CARBON, fields=(PIECES, LINE_GRID_KWH, LINE_CO2E_KG, PER_PIECE), rp=rp,
                       enterprises=ents, group_by=(Tag.ENTERPRISE, Tag.SITE, Tag.LINE, Tag.WINDOW),
                       start_ms=start_ms, end_ms=end_ms)
    sites_sel = Select(measurement=KPI_GREEN_ENERGY, fields=(CONSUMPTION_KWH, GREEN_KWH), rp=rp, enterprises=ents,
                       group_by=(Tag.ENTERPRISE, Tag.SITE, Tag.WINDOW), start_ms=start_ms, end_ms=end_ms)
    line_series, site_series = client.run([lines_sel, sites_sel])
    tz = {e.id: e.tz for e in master.enterprises}
    sites: dict[SiteDayKey, tuple[float, float]] = {}
    for s in _daily(site_series):
        ent, site = s.tags[Tag.ENTERPRISE], s.tags[Tag.SITE]
        for r in s.rows:
            day = datetime.fromtimestamp(int(r[TIME]) / 1000, tz[ent]).date()
            sites[(ent, site, day)] = (_f(r.get(CONSUMPTION_KWH)), _f(r.get(GREEN_KWH)))
    lines: dict[LineKey, list[CarbonDay]] = {}
    for s in _daily(line_series):
        ent, site, line = s.tags[Tag.ENTERPRISE], s.tags[Tag.SITE], s.tags[Tag.LINE]
        for r in s.rows:
            day = datetime.fromtimestamp(int(r[TIME]) / 1000, tz[ent]).date()
            use, green = sites.get((ent, site, day), (0.0, 0.0))
            per = r.get(PER_PIECE)
            lines.setdefault((ent, site, line), []).append(CarbonDay(
                day=day, pieces=int(_f(r.get(PIECES))), grid_kwh=_f(r.get(LINE_GRID_KWH)),
                co2e_kg=_f(r.get(LINE_CO2E_KG)), co2e_kg_per_piece=None if per is None else _f(per),
                green_share=min(1.0, green / use) if use > 0 else None))
    return CarbonDays({k: sorted(v, key=lambda d: d.day) for k, v in lines.items()}, sites)


def carbon_messages(found: CarbonDays, green: GreenAttribution, *, now: datetime) -> list[CarbonMessage]:
    """One message per line with measured days: the line's kg CO2e per piece and its site's green
    share over all of them (sums, not averages of days)."""
    out = []
    factor = green.emission_factor
    for (ent, site, line), days in sorted(found.lines.items()):
        pieces = sum(d.pieces for d in days)
        co2e = sum(d.co2e_kg for d in days)
        site_days = [found.sites[(ent, site, d.day)] for d in days if (ent, site, d.day) in found.sites]
        use, green_kwh = sum(u for u, _ in site_days), sum(g for _, g in site_days)
        out.append(CarbonMessage(
            enterprise=ent, site=site, line=line, generated_ts_ms=int(now.timestamp() * 1000),
            green_share=min(1.0, green_kwh / use) if use > 0 else None,
            co2e_kg_per_piece=co2e / pieces if pieces > 0 else None,
            grid_emission_factor_kg_per_kwh=factor.kg_co2e_per_kwh,
            emission_factor_source=f"{factor.source} ({factor.year})"[:200], days=days))
    return out


def carbon_topic(msg: CarbonMessage) -> str:
    return str(Topic.line(enterprise=msg.enterprise, site=msg.site, line=msg.line, kind=MessageKind.CARBON))


@dataclass(slots=True, kw_only=True)
class CarbonFeed:
    client: CountingClient
    master: MasterData
    kpi_rp: str
    publisher: Callable[[], AbstractContextManager[Publisher]] | None
    days: int = 14
    fence: Fence = NoFence()  # noqa: RUF009 - stateless default

    def build(self, now: datetime) -> list[CarbonMessage]:
        """Every line's message (nothing is sent); empty without master data ``green``."""
        if self.master.green is None:
            return []
        found = read_carbon_days(self.client, self.master, rp=self.kpi_rp, now=now, days=self.days)
        return carbon_messages(found, self.master.green, now=now)

    def run(self, now: datetime) -> list[CarbonMessage]:
        """Build and publish (the fence checked before each message); returns what was published."""
        messages = self.build(now)
        if self.publisher is not None and messages:
            with self.publisher() as pub:
                for msg in messages:
                    self.fence.check()
                    pub.publish(carbon_topic(msg), msg.model_dump_json().encode(), qos=1, retain=True)
        return messages
