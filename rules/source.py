"""Window queries against the ingest storage schema -> the rules core's pure input types.

For one window and a batch of enterprises :class:`InfluxSource` runs a fixed set of InfluxQL
statements (one HTTP request): sewing aggregates, machine-state events (those of the window and
its look-ahead, and the last one before it), one statement per energy asset kind present,
gateway status (the last one before the window and the ones inside it) and the asset -> gateway
map from birth messages. The statement count depends on the asset *kinds*, never on the number
of assets.

Schema (see ``ingest/points.py``): measurement = asset kind, tags enterprise/site/area/asset,
fields = metrics + ``seq`` + ``quality``; ``machine_state`` (state, previous, reason);
``gateway_status`` (tags enterprise/site/gateway, field state); ``asset_info`` (field gateway).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from seamline.contracts.messages import MachineState, Quality
from seamline.rules.coverage import Observation, offline_spans
from seamline.rules.kpi.counter import Reading
from seamline.rules.kpi.integration import Point
from seamline.rules.kpi.sewing import Aggregate
from seamline.rules.kpi.state_time import StateEvent
from seamline.rules.query import CountingClient, QueryClient, Select, Series
from seamline.rules.spans import SpanSet
from seamline.rules.windows import Window

IDENTITY = ("enterprise", "site", "area", "asset")
GATEWAY_IDENTITY = ("enterprise", "site", "gateway")
# Statements per window and batch besides one per energy kind: aggregates, state events, state
# before the window, gateway status before / inside, asset_info.
FIXED_STATEMENTS = 6
AGGREGATE_FIELDS = ("run_s", "idle_s", "off_s", "down_s", "period_s", "pieces", "rejects", "pieces_unobserved",
                    "unobserved_s", "quality")
# Fields each energy kind's KPIs read (smaller answers than SELECT *).
ENERGY_FIELDS: Mapping[str, tuple[str, ...]] = {
    "pv_inverter": ("ac_energy_wh", "operating_state", "seq", "quality"),
    "battery": ("charge_energy_wh", "discharge_energy_wh", "power_w", "soc_pct", "seq", "quality"),
    "meter": ("import_energy_wh", "export_energy_wh", "seq", "quality"),
    "met_station": ("poa_irradiance_w_m2", "seq", "quality"),
    "wind_turbine": ("energy_wh", "status", "wind_speed_m_s", "seq", "quality"),
}


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
    rp: str = "raw"
    # Polled samples hold up to max_hold_s, so read that much before/after the window.
    margin_s: float = 120.0
    # The state at window start is the last machine_state event at most this long before it
    # (3 days spans a weekend; older: the aggregates decide). Bounds the scan.
    state_lookback_s: float = 259_200.0
    # Events and aggregates read after the window end, so an idle period open at the end is
    # classified by its real length: keep >= kpi.stop_threshold_s (which is at most 1 800 s).
    state_lookahead_s: float = 1_800.0
    aggregate_period_s: float = 60.0


def _ts_s(row: Mapping[str, Any]) -> float:
    return int(row["time"]) / 1000.0


def _quality(value: object) -> Quality:
    try:
        return Quality(str(value)) if value is not None else Quality.GOOD
    except ValueError:
        return Quality.GOOD


def _key(tags: Mapping[str, str]) -> AssetKey:
    return AssetKey(tags.get("enterprise", ""), tags.get("site", ""), tags.get("area", ""), tags.get("asset", ""))


def aggregates_from(series: Series) -> list[Aggregate]:
    out = []
    for r in series.rows:
        if not r.get("period_s"):
            continue
        out.append(Aggregate(
            ts_s=_ts_s(r), period_s=float(r["period_s"]), run_s=float(r.get("run_s") or 0.0),
            idle_s=float(r.get("idle_s") or 0.0), off_s=float(r.get("off_s") or 0.0),
            down_s=float(r.get("down_s") or 0.0), pieces=int(r.get("pieces") or 0),
            rejects=int(r.get("rejects") or 0), quality=_quality(r.get("quality")),
            pieces_unobserved=int(r.get("pieces_unobserved") or 0),
            unobserved_s=float(r.get("unobserved_s") or 0.0),
        ))
    return out


# value -> member: a dict lookup per row instead of an Enum call (~350 events per machine-hour).
_STATES = {s.value: s for s in MachineState}


def state_events_from(series: Series) -> list[StateEvent]:
    """The rows' ``machine_state`` events; rows with an unknown state are left out."""
    out = []
    for r in series.rows:
        state = _STATES.get(str(r.get("state")))
        if state is None:
            continue
        out.append(StateEvent(ts_s=int(r["time"]) / 1000.0, state=state, reason=str(r.get("reason") or "none")))
    return out


def polled_from(series: Series, names: Iterable[str]) -> list[PolledSample]:
    wanted = [n for n in names if n not in ("seq", "quality")]
    out = []
    for r in series.rows:
        values = {n: float(r[n]) for n in wanted if r.get(n) is not None}
        seq = r.get("seq")
        out.append(PolledSample(_ts_s(r), int(seq) if seq is not None else None, _quality(r.get("quality")), values))
    return out


def gateway_events_from(series: Sequence[Series]) -> dict[tuple[str, str, str], list[tuple[float, bool]]]:
    out: dict[tuple[str, str, str], list[tuple[float, bool]]] = {}
    for s in series:
        gw = (s.tags.get("enterprise", ""), s.tags.get("site", ""), s.tags.get("gateway", ""))
        out.setdefault(gw, []).extend((_ts_s(r), str(r.get("state")) == "online") for r in s.rows)
    return out


class InfluxSource:
    """:class:`WindowSource` over an InfluxQL endpoint (``ingest.db_init.InfluxQLClient``)."""

    def __init__(self, client: QueryClient, settings: SourceSettings | None = None) -> None:
        self.settings = settings or SourceSettings()
        self._client = CountingClient(client, database=self.settings.database)

    @property
    def statements(self) -> int:
        return self._client.statements

    def selects(self, enterprises: Sequence[str], window: Window, energy_kinds: Iterable[str]) -> list[Select]:
        """The statements for one window (public so tests can read exactly what is asked)."""
        s = self.settings
        ents = tuple(sorted(set(enterprises)))
        start_ms, end_ms = int(window.start_s * 1000), int(window.end_s * 1000)
        margin_ms = int(s.margin_s * 1000)
        ahead_ms = end_ms + int(s.state_lookahead_s * 1000)

        def sel(**kw: Any) -> Select:
            return Select(rp=s.rp, enterprises=ents, **kw)

        out = [
            sel(measurement="sewing_machine", fields=AGGREGATE_FIELDS, group_by=IDENTITY, positive="period_s",
                   start_ms=start_ms - int(s.aggregate_period_s * 1000), end_ms=ahead_ms),
            sel(measurement="machine_state", fields=("state", "reason"), group_by=IDENTITY, start_ms=start_ms,
                   end_ms=ahead_ms),
            sel(measurement="machine_state", fields=("state", "reason"), group_by=IDENTITY,
                   start_ms=start_ms - int(s.state_lookback_s * 1000), end_ms=start_ms, latest=True),
            sel(measurement="gateway_status", fields=("state",), group_by=GATEWAY_IDENTITY, start_ms=None,
                   end_ms=start_ms, latest=True),
            sel(measurement="gateway_status", fields=("state",), group_by=GATEWAY_IDENTITY, start_ms=start_ms,
                   end_ms=end_ms),
            sel(measurement="asset_info", fields=("gateway",), group_by=IDENTITY, start_ms=None, end_ms=end_ms,
                   latest=True),
        ]
        for kind in sorted(set(energy_kinds)):
            out.append(sel(measurement=kind, fields=ENERGY_FIELDS[kind], group_by=IDENTITY,
                              start_ms=start_ms - margin_ms, end_ms=end_ms + margin_ms))
        return out

    def fetch(self, enterprises: Sequence[str], window: Window, *, energy_kinds: Iterable[str]) -> WindowData:
        kinds = sorted(set(energy_kinds))
        results = self._client.run(self.selects(enterprises, window, kinds))
        aggs, states, state_before, gw_before, gw_inside, info = results[:FIXED_STATEMENTS]
        machines: dict[AssetKey, MachineSeries] = {}
        found: dict[AssetKey, list[StateEvent]] = {}
        for s in (*state_before, *states):
            found.setdefault(_key(s.tags), []).extend(state_events_from(s))
        events_by_key = {k: tuple(sorted(v, key=lambda e: e.ts_s)) for k, v in found.items()}
        for s in aggs:
            key = _key(s.tags)
            machines[key] = MachineSeries(key, tuple(aggregates_from(s)), events_by_key.pop(key, ()))
        for key, events in events_by_key.items():  # events but no aggregates: nothing observed
            machines[key] = MachineSeries(key, (), events)
        energy: dict[AssetKey, EnergySeries] = {}
        for kind, series in zip(kinds, results[FIXED_STATEMENTS:], strict=True):
            for s in series:
                key = _key(s.tags)
                energy[key] = EnergySeries(key, kind, tuple(polled_from(s, ENERGY_FIELDS[kind])))
        gw = gateway_events_from([*gw_before, *gw_inside])
        asset_gateway = {_key(s.tags): str(s.rows[0]["gateway"]) for s in info if s.rows and s.rows[0].get("gateway")}
        return WindowData(window=window, machines=machines, energy=energy,
                          gateway_events={k: tuple(sorted(v)) for k, v in gw.items()}, asset_gateway=asset_gateway)


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
