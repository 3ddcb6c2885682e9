"""The aggregate path's reads: InfluxQL sums of the sewing aggregates per machine and range.

For one :class:`~rules.aggregate_kpi.SumPlan` and a batch of enterprises, one statement per range
of the plan (``SUM`` of the packed aggregate fields and ``COUNT``/``MIN``/``MAX`` of the
``sums_key`` ingest writes on each, ``GROUP BY`` the asset identity: one row per machine and range,
whatever the number of periods). For an hourly window whose planned time is the whole hour: 5
statements, 13 aggregates per machine, answered in one request, instead of every aggregate and
~350 state events per machine-hour. InfluxDB's cost goes by series × aggregate call, so the key
and the packed sums (:mod:`seamline.storage.sewing_sums`) answer in 13 aggregates what took 29 and
a statement of their own (4 000 machines' hour: 4.31 → 1.78 s of influxd CPU).

No field condition (such as ``period_s > 0``): InfluxDB reads a condition's field beside every
aggregated one, which made the sums ~1.5× as slow (1 000 machines: 2.2–2.7 s → 1.6–1.7 s, same
run). The contract guarantees a sample with any summed field carries ``period_s``
(:data:`seamline.contracts.assets.PERIOD_FIGURES`; ingest derives its fields only for those), so
the raw node samples in the same measurement add nothing to a sum. Names from
:mod:`seamline.storage.schema`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from seamline.contracts.assets import AssetKind
from seamline.rules.aggregate_kpi import BREAKDOWN, Range, SpanSums, SumPlan, aggregate_totals, window_down_reasons
from seamline.rules.kpi.sewing import MachineTotals
from seamline.rules.kpi.state_time import StateEvent
from seamline.rules.master_data import Enterprise, MasterData
from seamline.rules.shift_calendar import ShiftCalendar, planned_spans
from seamline.rules.source import (
    AssetKey,
    InfluxSource,
    WindowData,
    asset_key,
    offline_for,
    series_of,
    state_events_from,
)
from seamline.rules.spans import SpanSet
from seamline.rules.windows import Window
from seamline.storage import sewing_sums
from seamline.storage.query import AggregateFn, CountingClient, Select, Series
from seamline.storage.schema import ASSET_IDENTITY, MACHINE_DOWN, Field, telemetry

SEWING = telemetry(AssetKind.SEWING_MACHINE)
DOWN_FIELDS = MACHINE_DOWN.fields_of(Field.STATE, Field.REASON)
SUMS_KEY = SEWING.field(sewing_sums.SUMS_KEY)
# Summed fields; SpanSums names its sums after them (checked below).
STOP_LATE_S, IDLE_OPEN_S = SEWING.fields_of("stop_late_s", "idle_open_s")
SUMMED = (*SEWING.fields_of(*sewing_sums.PACKED), STOP_LATE_S, IDLE_OPEN_S)
# SpanSums name -> the InfluxQL aggregate that answers it
FUNCTIONS: Mapping[str, AggregateFn] = {
    "count": AggregateFn("count", SUMS_KEY), "key_min": AggregateFn("min", SUMS_KEY),
    "key_max": AggregateFn("max", SUMS_KEY), **{f: AggregateFn("sum", f) for f in SUMMED}}
if set(FUNCTIONS) != set(SpanSums.__dataclass_fields__):
    raise ImportError(f"SpanSums and FUNCTIONS differ: {sorted(set(FUNCTIONS) ^ set(SpanSums.__dataclass_fields__))}")


def sum_selects(enterprises: Sequence[str], plan: SumPlan, *, rp: str) -> list[Select]:
    """One statement per range of the plan, in order."""
    ents = tuple(sorted(set(enterprises)))
    return [Select(measurement=SEWING, fields=(), rp=rp, enterprises=ents, group_by=ASSET_IDENTITY, start_ms=a,
                   end_ms=b, aggregates=tuple(FUNCTIONS[n] for n in sorted(names)))
            for (a, b), names in plan.needs().items()]


_WHOLE = frozenset(FUNCTIONS) - {STOP_LATE_S, IDLE_OPEN_S}
_ALIASES = {fn.alias: name for name, fn in FUNCTIONS.items()}


def span_sums(row: Mapping[str, Any]) -> SpanSums:
    """One answer row (aliases ``fn_field``) as :class:`SpanSums`; absent sums are 0."""
    values: dict[str, Any] = {}
    for alias, v in row.items():
        name = _ALIASES.get(alias)
        if name is not None and v is not None:
            values[name] = int(v) if name in _WHOLE else float(v)
    return SpanSums(**values)


def decode_sums(plan: SumPlan, results: Sequence[Sequence[Series]]) -> dict[AssetKey, dict[Range, SpanSums]]:
    """The answers of :func:`sum_selects` per machine and range."""
    out: dict[AssetKey, dict[Range, SpanSums]] = {}
    for rng, series in zip(plan.ranges(), results, strict=True):
        for s in series:
            if s.rows:
                out.setdefault(asset_key(s.tags), {})[rng] = span_sums(s.rows[0])
    return out


def down_selects(keys: Collection[AssetKey], window: Window, *, rp: str, lookback_s: float,
                 at_start: Collection[AssetKey]) -> list[Select]:
    """For machines down in ``window``: their ``machine_down`` events in it (few: ingest copies there
    only the changes that may start or end a down, :mod:`seamline.storage.down_events`; no field
    condition, which would make InfluxDB read every state event of theirs), and for those that may be
    down at its start (``at_start``) the last one before it (whether it was down then, and why)."""
    start_ms, end_ms = round(window.start_s * 1000), round(window.end_s * 1000)

    def select(of: Collection[AssetKey], **kw: Any) -> Select:
        return Select(measurement=MACHINE_DOWN, fields=DOWN_FIELDS, rp=rp, group_by=ASSET_IDENTITY,
                      enterprises=tuple(sorted({k.enterprise for k in of})), series=series_of(of), **kw)

    out = [select(keys, start_ms=start_ms, end_ms=end_ms)]
    if at_start:
        out.append(select(at_start, start_ms=start_ms - round(lookback_s * 1000), end_ms=start_ms, latest=True))
    return out


def fetch_down_reasons(client: CountingClient, keys: Collection[AssetKey], window: Window, *, rp: str,
                       lookback_s: float, at_start: Collection[AssetKey]) -> dict[AssetKey, dict[str, float]]:
    """Down seconds per reason in ``window`` of each of ``keys`` (one request); the state before the
    window is read only for ``at_start`` (a machine not down when the window starts has no down
    seconds before its first event in it). Data stored before ingest wrote ``machine_down`` has no
    events there: :func:`~rules.aggregate_kpi.aggregate_totals` then finds the reasons' seconds short
    of the aggregates' down time and refuses the machine."""
    inside, *before = client.run(down_selects(keys, window, rp=rp, lookback_s=lookback_s, at_start=at_start))
    events: dict[AssetKey, list[StateEvent]] = {k: [] for k in keys}
    for s in (*(before[0] if before else ()), *inside):
        events.setdefault(asset_key(s.tags), []).extend(state_events_from(s))
    return {k: window_down_reasons(sorted(v, key=lambda e: e.ts_s), window) for k, v in events.items()}


def may_be_down_at_start(plan: SumPlan, by_range: Mapping[Range, SpanSums]) -> bool:
    """False when the period before the window was read and its event timeline was never down."""
    before = by_range.get((plan.window[0] - plan.period_ms, plan.window[0]))
    return before is None or bool(before.key_max & sewing_sums.DOWN)


def fetch_sums(client: CountingClient, enterprises: Sequence[str], plan: SumPlan, *,
               rp: str) -> dict[AssetKey, dict[Range, SpanSums]]:
    """Run :func:`sum_selects` in one request and decode them."""
    return decode_sums(plan, client.run(sum_selects(enterprises, plan, rp=rp)))


@dataclass(slots=True)
class BatchRead:
    """One batch's inputs: energy, gateways and the events of the machines the sums do not stand
    for (``data``), the totals of those they do (``totals``) and why the others were read."""

    data: WindowData
    totals: dict[AssetKey, MachineTotals] = field(default_factory=dict)
    refused: Counter[str] = field(default_factory=Counter)


def _plans(master: MasterData, group: Sequence[Enterprise], window: Window,
           period_s: float) -> dict[SumPlan, list[str]]:
    """Enterprises by the plan of their planned time (one request per distinct plan)."""
    out: dict[SumPlan, list[str]] = {}
    for ent in group:
        planned = planned_spans(ShiftCalendar.for_enterprise(master, ent), window)
        plan = SumPlan.of(window, planned, period_s=period_s, threshold_s=master.kpi.stop_threshold_s)
        out.setdefault(plan, []).append(ent.id)
    return out


def read_batch(source: InfluxSource, master: MasterData, group: Sequence[Enterprise], window: Window, *,
               energy_kinds: Iterable[str]) -> BatchRead:
    """The aggregate path for one batch: sums (one request per distinct planned time), then energy
    and gateways without the sewing statements, then the events of the machines left over."""
    ids = [e.id for e in group]
    sums: dict[AssetKey, tuple[SumPlan, dict[Range, SpanSums]]] = {}
    for plan, ents in _plans(master, group, window, source.settings.aggregate_period_s).items():
        sums.update({k: (plan, v) for k, v in fetch_sums(source.client, ents, plan, rp=source.settings.rp).items()})
    out = BatchRead(source.fetch(ids, window, energy_kinds=energy_kinds, sewing_assets=()))
    win = SpanSet((window.span,))
    thr = master.kpi.stop_threshold_s
    down: list[AssetKey] = []
    for key, (plan, by_range) in sums.items():
        if offline_for(out.data, key, until_s=window.end_s).intersect(win):
            out.refused["gateway offline"] += 1
            continue
        totals = aggregate_totals(plan, by_range, window, stop_threshold_s=thr)
        if totals == BREAKDOWN:
            down.append(key)
        elif isinstance(totals, str):
            out.refused[totals] += 1
        else:
            out.totals[key] = totals
    if down:  # their breakdown reasons from a few events, the rest from the sums
        at_start = [k for k in down if may_be_down_at_start(*sums[k])]
        reasons = fetch_down_reasons(source.client, down, window, rp=source.settings.rp,
                                     lookback_s=source.settings.state_lookback_s, at_start=at_start)
        for key in down:
            plan, by_range = sums[key]
            totals = aggregate_totals(plan, by_range, window, stop_threshold_s=thr, down_reasons=reasons[key])
            if isinstance(totals, str):
                out.refused[totals] += 1
            else:
                out.totals[key] = totals
    rest = [AssetKey(e.id, s.id, line.id, m) for e in group for s in e.sites for line in s.lines
            for m in line.machines]
    rest = [k for k in rest if k not in out.totals] + [k for k in sums if k not in out.totals]
    if missing := sum(1 for k in set(rest) if k not in sums):
        out.refused["no aggregates"] += missing
    if rest:
        events = source.fetch(sorted({k.enterprise for k in rest}), window, energy_kinds=(),
                              sewing_assets=set(rest))
        machines = {k: v for k, v in events.machines.items() if k not in out.totals}
        out.data = replace(out.data, machines=machines)
    return out
