"""Window queries against the ingest storage schema -> the rules core's pure input types.

For one window and a batch of enterprises :class:`InfluxSource` runs a fixed set of InfluxQL
statements (one HTTP request): sewing aggregates, machine-state events (those of the window and
its look-ahead, and the last one before it), one statement per energy asset kind present,
gateway status (the last one before the window and the ones inside it) and the asset -> gateway
map from birth messages. The statement count depends on the asset *kinds*, never on the number
of assets.

Every name comes from :mod:`seamline.storage.schema` (measurement = asset kind, tags
enterprise/site/area/asset, fields = the kind's contract metrics + ``seq`` + ``quality``;
``machine_state``, ``gateway_status``, ``asset_info``); the metric names read here are looked up
in it (``fields_of``), so a name the contract does not define fails at import.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from seamline.contracts.assets import AssetKind
from seamline.contracts.messages import GatewayState, MachineState, Quality
from seamline.rules.coverage import Observation, offline_spans
from seamline.rules.kpi.counter import Reading
from seamline.rules.kpi.integration import Point
from seamline.rules.kpi.sewing import Aggregate
from seamline.rules.kpi.state_time import StateEvent
from seamline.rules.spans import SpanSet
from seamline.rules.windows import Window
from seamline.storage.query import CountingClient, Select, Series, SeriesIs
from seamline.storage.query_client import QueryClient
from seamline.storage.schema import (
    ASSET_IDENTITY,
    ASSET_INFO,
    GATEWAY_IDENTITY,
    GATEWAY_STATUS,
    MACHINE_STATE,
    TIME,
    Field,
    Measurement,
    Retention,
    Tag,
    telemetry,
)

# Statements per window and batch besides one per energy kind: aggregates, state events, state
# before the window, gateway status before / inside, asset_info.
FIXED_STATEMENTS = 6
SEWING = telemetry(AssetKind.SEWING_MACHINE)
# The edge's 60 s aggregates: seconds per state, pieces and their unobserved share.
RUN_S, IDLE_S, OFF_S, DOWN_S, PERIOD_S, PIECES, REJECTS, PIECES_UNOBSERVED, UNOBSERVED_S = SEWING.fields_of(
    "run_s", "idle_s", "off_s", "down_s", "period_s", "pieces", "rejects", "pieces_unobserved", "unobserved_s")
AGGREGATE_FIELDS = (RUN_S, IDLE_S, OFF_S, DOWN_S, PERIOD_S, PIECES, REJECTS, PIECES_UNOBSERVED, UNOBSERVED_S,
                    Field.QUALITY)
# What the energy KPIs read, per kind (Wh counters, W, %, W/m², m/s, status codes).
PV_ENERGY_WH, PV_STATE = telemetry(AssetKind.PV_INVERTER).fields_of("ac_energy_wh", "operating_state")
BATTERY_CHARGE_WH, BATTERY_DISCHARGE_WH, BATTERY_POWER_W, BATTERY_SOC_PCT = telemetry(AssetKind.BATTERY).fields_of(
    "charge_energy_wh", "discharge_energy_wh", "power_w", "soc_pct")
METER_IMPORT_WH, METER_EXPORT_WH = telemetry(AssetKind.METER).fields_of("import_energy_wh", "export_energy_wh")
MET_POA_W_M2 = telemetry(AssetKind.MET_STATION).field("poa_irradiance_w_m2")
WIND_ENERGY_WH, WIND_STATUS, WIND_SPEED_M_S = telemetry(AssetKind.WIND_TURBINE).fields_of(
    "energy_wh", "status", "wind_speed_m_s")
_POLLED = (Field.SEQ, Field.QUALITY)
# Fields each energy kind's KPIs read (smaller answers than SELECT *).
ENERGY_FIELDS: Mapping[AssetKind, tuple[str, ...]] = {
    AssetKind.PV_INVERTER: (PV_ENERGY_WH, PV_STATE, *_POLLED),
    AssetKind.BATTERY: (BATTERY_CHARGE_WH, BATTERY_DISCHARGE_WH, BATTERY_POWER_W, BATTERY_SOC_PCT, *_POLLED),
    AssetKind.METER: (METER_IMPORT_WH, METER_EXPORT_WH, *_POLLED),
    AssetKind.MET_STATION: (MET_POA_W_M2, *_POLLED),
    AssetKind.WIND_TURBINE: (WIND_ENERGY_WH, WIND_STATUS, WIND_SPEED_M_S, *_POLLED),
}
STATE_FIELDS = _STATE_FIELDS = MACHINE_STATE.fields_of(Field.STATE, Field.REASON)


@dataclass(frozen=True, slots=True, order=True)
class AssetKey:
    enterprise: str
    site: str
    area: str
    asset: str


@dataclass(frozen=True, slots=True)
class PolledSample:
    """One polled sample (UTC epoch s) and the metric values it carried."""

    ts_s: float
    seq: int | None
    quality: Quality
    values: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class EnergySeries:
    key: AssetKey
    kind: str
    samples: tuple[PolledSample, ...]

    def observations(self) -> list[Observation]:
        return [Observation(ts_s=s.ts_s, seq=s.seq, quality=s.quality) for s in self.samples]

    def readings(self, name: str) -> list[Reading]:
        return [Reading(s.ts_s, s.values[name], s.quality) for s in self.samples if name in s.values]

    def points(self, name: str) -> list[Point]:
        return [Point(s.ts_s, s.values[name], s.quality) for s in self.samples if name in s.values]

    def codes(self, name: str) -> list[tuple[float, int]]:
        return [(s.ts_s, int(s.values[name])) for s in self.samples
                if name in s.values and s.quality is not Quality.STALE]


@dataclass(frozen=True, slots=True)
class MachineSeries:
    """A sewing machine's 60 s aggregates and its ``machine_state`` events, both from just before
    the window to the source's look-ahead after it, in time order."""

    key: AssetKey
    aggregates: tuple[Aggregate, ...]
    state_events: tuple[StateEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class WindowData:
    """Everything :func:`rules.engine.compute_window` needs for one window and batch."""

    window: Window
    machines: Mapping[AssetKey, MachineSeries] = field(default_factory=dict)
    energy: Mapping[AssetKey, EnergySeries] = field(default_factory=dict)
    # (enterprise, site, gateway) -> (ts_s, online) events, the last one before the window first
    gateway_events: Mapping[tuple[str, str, str], tuple[tuple[float, bool], ...]] = field(default_factory=dict)
    asset_gateway: Mapping[AssetKey, str] = field(default_factory=dict)


class WindowSource(Protocol):
    """Reads the telemetry of one window for some enterprises; counts its statements."""

    @property
    def statements(self) -> int: ...

    def fetch(self, enterprises: Sequence[str], window: Window, *, energy_kinds: Iterable[str]) -> WindowData: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceSettings:
    database: str = "seamline"
    rp: str = Retention.RAW.value
    # Polled samples hold up to max_hold_s, so read that much before/after the window.
    margin_s: float = 120.0
    # The state at window start is the last machine_state event at most this long before it
    # (3 days spans a weekend; older: the aggregates decide). Bounds the scan.
    state_lookback_s: float = 259_200.0
    # Events and aggregates read after the window end, so an idle period open at the end is
    # classified by its real length: keep >= kpi.stop_threshold_s (which is at most 1 800 s).
    state_lookahead_s: float = 1_800.0
    aggregate_period_s: float = 60.0
    # Sewing machines from sums of their aggregates where those carry the events' split
    # (rules.aggregate_kpi), from their events elsewhere. Off here (tests of the event reads);
    # on in the service (rules config ``aggregate_path``).
    aggregate_path: bool = False


def _ts_s(row: Mapping[str, Any]) -> float:
    return int(row[TIME]) / 1000.0


def _quality(value: object) -> Quality:
    try:
        return Quality(str(value)) if value is not None else Quality.GOOD
    except ValueError:
        return Quality.GOOD


def asset_key(tags: Mapping[str, str]) -> AssetKey:
    """The asset identity of a series' tags."""
    return AssetKey(tags.get(Tag.ENTERPRISE, ""), tags.get(Tag.SITE, ""), tags.get(Tag.AREA, ""),
                    tags.get(Tag.ASSET, ""))


def aggregates_from(series: Series) -> list[Aggregate]:
    out = []
    for r in series.rows:
        if not r.get(PERIOD_S):
            continue
        out.append(Aggregate(
            ts_s=_ts_s(r), period_s=float(r[PERIOD_S]), run_s=float(r.get(RUN_S) or 0.0),
            idle_s=float(r.get(IDLE_S) or 0.0), off_s=float(r.get(OFF_S) or 0.0),
            down_s=float(r.get(DOWN_S) or 0.0), pieces=int(r.get(PIECES) or 0),
            rejects=int(r.get(REJECTS) or 0), quality=_quality(r.get(Field.QUALITY)),
            pieces_unobserved=int(r.get(PIECES_UNOBSERVED) or 0),
            unobserved_s=float(r.get(UNOBSERVED_S) or 0.0),
        ))
    return out


_ONLINE = GatewayState.ONLINE.value
# value -> member: a dict lookup per row instead of an Enum call (~350 events per machine-hour).
_STATES = {s.value: s for s in MachineState}


def state_events_from(series: Series) -> list[StateEvent]:
    """The rows' ``machine_state`` events; rows with an unknown state are left out."""
    out = []
    for r in series.rows:
        state = _STATES.get(str(r.get(Field.STATE)))
        if state is None:
            continue
        out.append(StateEvent(ts_s=int(r[TIME]) / 1000.0, state=state, reason=str(r.get(Field.REASON) or "none")))
    return out


def polled_from(series: Series, names: Iterable[str]) -> list[PolledSample]:
    wanted = [n for n in names if n not in _POLLED]
    out = []
    for r in series.rows:
        values = {n: float(r[n]) for n in wanted if r.get(n) is not None}
        seq = r.get(Field.SEQ)
        out.append(PolledSample(_ts_s(r), int(seq) if seq is not None else None, _quality(r.get(Field.QUALITY)),
                                values))
    return out


def gateway_events_from(series: Sequence[Series]) -> dict[tuple[str, str, str], list[tuple[float, bool]]]:
    out: dict[tuple[str, str, str], list[tuple[float, bool]]] = {}
    for s in series:
        gw = (s.tags.get(Tag.ENTERPRISE, ""), s.tags.get(Tag.SITE, ""), s.tags.get(Tag.GATEWAY, ""))
        out.setdefault(gw, []).extend((_ts_s(r), str(r.get(Field.STATE)) == _ONLINE) for r in s.rows)
    return out


class InfluxSource:
    """:class:`WindowSource` over an InfluxQL endpoint (:class:`seamline.storage.query_client.InfluxQLClient`)."""

    def __init__(self, client: QueryClient, settings: SourceSettings | None = None) -> None:
        self.settings = settings or SourceSettings()
        self._client = CountingClient(client, database=self.settings.database)

    @property
    def statements(self) -> int:
        return self._client.statements

    @property
    def client(self) -> CountingClient:
        """The counting client (the aggregate path's sums go through it too)."""
        return self._client

    def selects(self, enterprises: Sequence[str], window: Window, energy_kinds: Iterable[str],
                sewing_assets: Collection[AssetKey] | None = None) -> list[Select]:
        """The statements for one window (public so tests can read exactly what is asked).
        ``sewing_assets``: read only these machines' aggregates and events (an empty collection:
        none of the three sewing statements); ``None``: all."""
        s = self.settings
        ents = tuple(sorted(set(enterprises)))
        start_ms, end_ms = int(window.start_s * 1000), int(window.end_s * 1000)
        margin_ms = int(s.margin_s * 1000)
        ahead_ms = end_ms + int(s.state_lookahead_s * 1000)

        def sel(measurement: Measurement, **kw: Any) -> Select:
            return Select(measurement=measurement, rp=s.rp, enterprises=ents, **kw)

        only = series_of(sewing_assets or ())
        sewing = [
            sel(SEWING, fields=AGGREGATE_FIELDS, group_by=ASSET_IDENTITY, positive=PERIOD_S, series=only,
                start_ms=start_ms - int(s.aggregate_period_s * 1000), end_ms=ahead_ms),
            sel(MACHINE_STATE, fields=_STATE_FIELDS, group_by=ASSET_IDENTITY, start_ms=start_ms, end_ms=ahead_ms,
                series=only),
            sel(MACHINE_STATE, fields=_STATE_FIELDS, group_by=ASSET_IDENTITY, series=only,
                start_ms=start_ms - int(s.state_lookback_s * 1000), end_ms=start_ms, latest=True),
        ] if sewing_assets is None or sewing_assets else []
        out = [*sewing,
            sel(GATEWAY_STATUS, fields=(Field.STATE,), group_by=GATEWAY_IDENTITY, start_ms=None, end_ms=start_ms,
                latest=True),
            sel(GATEWAY_STATUS, fields=(Field.STATE,), group_by=GATEWAY_IDENTITY, start_ms=start_ms, end_ms=end_ms),
            sel(ASSET_INFO, fields=(Field.GATEWAY,), group_by=ASSET_IDENTITY, start_ms=None, end_ms=end_ms,
                latest=True),
        ]
        for kind in _kinds(energy_kinds):
            out.append(sel(telemetry(kind), fields=ENERGY_FIELDS[kind], group_by=ASSET_IDENTITY,
                           start_ms=start_ms - margin_ms, end_ms=end_ms + margin_ms))
        return out

    def fetch(self, enterprises: Sequence[str], window: Window, *, energy_kinds: Iterable[str],
              sewing_assets: Collection[AssetKey] | None = None) -> WindowData:
        kinds = _kinds(energy_kinds)
        results = self._client.run(self.selects(enterprises, window, kinds, sewing_assets))
        if sewing_assets is not None and not sewing_assets:
            results = [[], [], [], *results]
        aggs, states, state_before, gw_before, gw_inside, info = results[:FIXED_STATEMENTS]
        machines: dict[AssetKey, MachineSeries] = {}
        found: dict[AssetKey, list[StateEvent]] = {}
        for s in (*state_before, *states):
            found.setdefault(asset_key(s.tags), []).extend(state_events_from(s))
        events_by_key = {k: tuple(sorted(v, key=lambda e: e.ts_s)) for k, v in found.items()}
        for s in aggs:
            key = asset_key(s.tags)
            machines[key] = MachineSeries(key, tuple(aggregates_from(s)), events_by_key.pop(key, ()))
        for key, events in events_by_key.items():  # events but no aggregates: nothing observed
            machines[key] = MachineSeries(key, (), events)
        energy: dict[AssetKey, EnergySeries] = {}
        for kind, series in zip(kinds, results[FIXED_STATEMENTS:], strict=True):
            for s in series:
                key = asset_key(s.tags)
                energy[key] = EnergySeries(key, kind, tuple(polled_from(s, ENERGY_FIELDS[kind])))
        gw = gateway_events_from([*gw_before, *gw_inside])
        asset_gateway = {asset_key(s.tags): str(s.rows[0][Field.GATEWAY]) for s in info
                         if s.rows and s.rows[0].get(Field.GATEWAY)}
        return WindowData(window=window, machines=machines, energy=energy,
                          gateway_events={k: tuple(sorted(v)) for k, v in gw.items()}, asset_gateway=asset_gateway)


def series_of(keys: Iterable[AssetKey]) -> tuple[SeriesIs, ...]:
    """Conditions selecting exactly these assets' series (ids repeat across enterprises)."""
    return tuple(SeriesIs(((Tag.ENTERPRISE, k.enterprise), (Tag.SITE, k.site), (Tag.AREA, k.area),
                           (Tag.ASSET, k.asset))) for k in sorted(keys))


def _kinds(energy_kinds: Iterable[str]) -> list[AssetKind]:
    """The distinct energy kinds, in a fixed order (the order of their statements)."""
    return sorted({AssetKind(k) for k in energy_kinds})


def offline_for(data: WindowData, key: AssetKey, *, until_s: float) -> SpanSet:
    """Offline time of the gateway serving ``key`` (from birth messages; if unknown and its site
    has exactly one gateway, that one), else nothing."""
    gateway = data.asset_gateway.get(key)
    if gateway is None:
        site_gws = [g for g in data.gateway_events if g[0] == key.enterprise and g[1] == key.site]
        if len(site_gws) != 1:
            return SpanSet()
        events = data.gateway_events[site_gws[0]]
    else:
        events = data.gateway_events.get((key.enterprise, key.site, gateway), ())
    return offline_spans(events, until_s=until_s)
