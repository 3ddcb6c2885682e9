"""Properties of the sewing KPIs on the production path: ``machine_kpi`` and ``line_kpis`` of
rules.machine_kpi, the functions rules.engine calls.

Each machine's aggregates and state events come from one known state timeline
(tests.support.sewing_timeline), with stale and replayed periods, data gaps the counter bridges,
gateway-offline spans and missing look-back events. Observed time is checked against the oracle
(tests.support.kpi_oracle.observed: each live aggregate's period minus offline time, each replayed
one's whole period), so counting unobserved time as observed fails here, not only in examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.contracts.messages import MachineState, Quality
from seamline.rules.kpi.result import Flag
from seamline.rules.kpi.sewing import Aggregate, MachineTotals
from seamline.rules.kpi.state_time import StateEvent
from seamline.rules.machine_kpi import LineInputs, MachineWindow, line_kpis, machine_kpi
from seamline.rules.spans import Span, SpanSet
from seamline.rules.windows import Window, split
from tests.support import kpi_oracle as oracle
from tests.support.sewing_timeline import Segment, aggregates_of, drop_gap, events_of, segments, state_at

T0 = 1_767_225_600.0  # 2026-01-01T00:00Z
W = Window.from_epoch_s(T0, T0 + 3600)
WIN = SpanSet.single(T0, T0 + 3600)
START, END = T0 - 900, T0 + 3600 + 900  # data from the look-back to the look-ahead
PERIODS = int((END - START) // 60)
EPS = 1e-6  # seconds: sums of prorated epoch-sized floats

REASONS = {MachineState.RUNNING: ["none"], MachineState.OFF: ["none"],
           MachineState.IDLE: ["none", "no_work", "changeover"],
           MachineState.DOWN: ["breakdown.needle", "breakdown.motor"]}
ADDITIVE = ("window_s", "observed_s", "planned_s", "planned_observed_s", "run_s", "idle_s", "off_s", "down_s",
            "run_planned_s", "operating_s", "stop_s", "breakdowns", "good_pieces", "rejects", "unobserved_pieces")


@dataclass(frozen=True, slots=True)
class Machine:
    timeline: tuple[Segment, ...]
    aggregates: tuple[Aggregate, ...]
    events: tuple[StateEvent, ...]


step = st.tuples(st.one_of(st.integers(2, 60), st.integers(60, 3000)).map(lambda d: d / 2),
                 st.sampled_from(list(MachineState)).flatmap(lambda s: st.tuples(st.just(s),
                                                                                 st.sampled_from(REASONS[s]))))
quality_runs = st.lists(st.tuples(st.integers(0, PERIODS - 1), st.integers(1, 30),
                                  st.sampled_from([Quality.STALE, Quality.HISTORICAL])), max_size=2)


@st.composite
def machines(draw: st.DrawFn, *, live: bool = False) -> Machine:
    """A machine's timeline from the look-back to the look-ahead and what the edge sent of it.
    ``live``: every aggregate of quality good, no data gap (the offline rules' base case)."""
    steps = [(d, s, r) for d, (s, r) in draw(st.lists(step, min_size=1, max_size=30))]
    timeline = segments(START, steps)
    if timeline[-1].end_s < END:
        last = timeline[-1]
        timeline[-1] = Segment(last.start_s, END, last.state, last.reason)
    quality = [Quality.GOOD] * PERIODS
    for first, n, q in ([] if live else draw(quality_runs)):
        quality[first:first + n] = [q] * len(quality[first:first + n])
    aggs = aggregates_of(timeline, START, END, pieces=draw(st.lists(st.integers(0, 3), min_size=PERIODS,
                                                                    max_size=PERIODS)),
                         rejects=draw(st.lists(st.integers(0, 1), max_size=PERIODS)), quality=quality)
    gap = None if live else draw(st.none() | st.tuples(st.integers(0, PERIODS - 1), st.integers(1, 40)))
    if gap is not None:
        aggs = drop_gap(aggs, START + 60 * gap[0], START + 60 * (gap[0] + gap[1]))
    events = events_of(timeline)
    known_from = draw(st.none() | st.integers(0, 1800))  # no event before T0 + known_from (beyond the look-back)
    if known_from is not None:
        events = [e for e in events if e.ts_s >= T0 + known_from]
    return Machine(tuple(timeline), tuple(aggs), tuple(events))


def span_sets(lo: int, hi: int, max_size: int) -> st.SearchStrategy[SpanSet]:
    """Up to ``max_size`` spans starting ``lo``..``hi`` s after T0 (on whole or half seconds)."""
    return st.lists(st.tuples(st.integers(lo, hi), st.integers(1, 1800), st.booleans()).map(
        lambda t: Span(T0 + t[0] + t[2] / 2, T0 + t[0] + t[1] + t[2] / 2)), max_size=max_size).map(SpanSet.of)


plans = st.one_of(st.just(SpanSet.single(START, END)), span_sets(-600, 3600, 4))  # a shift, or shifts with breaks
offlines = span_sets(-900, 4000, 3)


def run(m: Machine, window: Window = W, *, planned: SpanSet, offline: SpanSet,
        aggregates: Sequence[Aggregate] | None = None, events: Sequence[StateEvent] | None = None) -> MachineWindow:
    return machine_kpi(m.aggregates if aggregates is None else aggregates, m.events if events is None else events,
                       window, planned=planned, offline=offline, coverage_threshold=0.8)


def observed(aggregates: Sequence[Aggregate], offline: SpanSet) -> SpanSet:
    """The oracle's observed time of the hour."""
    return oracle.observed(aggregates, offline).intersect(WIN)


# ---------------------------------------------------------------- one machine

@given(machines(), plans, offlines)
def test_coverage_is_the_observed_planned_time_and_bounds_every_ratio(m: Machine, planned: SpanSet,
                                                                      offline: SpanSet) -> None:
    mw = run(m, planned=planned, offline=offline)
    t, k = mw.totals, mw.result
    obs = observed(m.aggregates, offline)
    planned_w = planned.intersect(WIN)
    planned_obs = planned_w.intersect(obs).total_s
    assert t.observed_s == pytest.approx(obs.total_s, abs=EPS)
    assert t.planned_observed_s == pytest.approx(planned_obs, abs=EPS)  # the denominator of every ratio
    basis = (planned_obs, planned_w.total_s) if planned_w else (obs.total_s, 3600.0)
    assert (k.coverage.observed_s, k.coverage.basis_s) == pytest.approx(basis, abs=EPS)
    assert k["unobserved_min"] == pytest.approx((3600 - obs.total_s) / 60, abs=EPS)
    assert mw.observed == obs
    # each period's states add up to it, so the state seconds are exactly the observed time
    assert t.run_s + t.idle_s + t.off_s + t.down_s == pytest.approx(obs.total_s, abs=EPS)
    assert t.run_planned_s <= planned_obs + EPS
    assert t.operating_s + t.stop_s <= planned_obs + EPS
    assert sum(s for r, s in t.downtime_s if r.startswith("stop")) == pytest.approx(t.stop_s, abs=EPS)
    # events and prorated aggregates agree on down time, but for a period only partly observed
    # (at most two per observed span) the aggregate's share assumes its seconds spread evenly
    assert sum(s for r, s in t.downtime_s if r.startswith("breakdown")) <= t.down_s + 120 * len(obs.spans) + EPS
    for name in ("utilization", "availability"):
        v = k.item(name)
        assert v.value is None or 0.0 <= v.value <= 1.0
        assert v.raw is None or v.raw <= 1.0 + 1e-9  # consistent data never needs clipping
        assert (v.value is None) == (planned_obs == 0)


@given(machines(), plans, offlines, st.integers(0, PERIODS - 1), st.integers(1, 40), st.booleans())
def test_losing_a_spans_data_never_adds_downtime_and_lowers_coverage_by_exactly_that_span(
    m: Machine, planned: SpanSet, offline: SpanSet, first: int, n: int, lose_events: bool
) -> None:
    g0, g1 = START + 60 * first, START + 60 * (first + n)
    aggs = [a for a in m.aggregates if not g0 <= a.ts_s < g1]
    events: Sequence[StateEvent] = m.events
    if lose_events:  # the events of the span too; the edge restates its state when it is back
        events = [e for e in m.events if not g0 <= e.ts_s < g1]
        now = state_at(m.timeline, g1)
        if now is not None and any(g0 <= e.ts_s < g1 for e in m.events):
            events = sorted([*events, StateEvent(g1, now.state, now.reason)], key=lambda e: e.ts_s)
    full = run(m, planned=planned, offline=offline)
    part = run(m, planned=planned, offline=offline, aggregates=aggs, events=events)
    lost = observed(m.aggregates, offline).intersect(SpanSet.single(g0, g1))
    assert part.totals.observed_s == pytest.approx(full.totals.observed_s - lost.total_s, abs=EPS)
    assert part.totals.planned_observed_s == pytest.approx(
        full.totals.planned_observed_s - lost.intersect(planned).total_s, abs=EPS)
    assert part.result.coverage.fraction <= full.result.coverage.fraction + 1e-12
    assert part.totals.down_s <= full.totals.down_s + EPS
    assert part.totals.run_planned_s <= full.totals.run_planned_s + EPS
    assert part.totals.good_pieces <= full.totals.good_pieces
    before = full.downtime_s
    for reason, seconds in part.downtime_s.items():
        # a stop is judged by the idle period's whole length, which lost events can lengthen
        if not (lose_events and reason.startswith("stop")):
            assert seconds <= before.get(reason, 0.0) + EPS, reason


@given(machines(live=True), plans, st.integers(0, 3000), st.integers(1, 3600))
def test_gateway_offline_time_is_never_downtime(m: Machine, planned: SpanSet, start: int, length: int) -> None:
    o0, o1 = T0 + start, min(T0 + 3600, T0 + start + length)
    offline = SpanSet.single(o0, o1)
    inside = run(m, Window.from_epoch_s(o0, o1), planned=planned, offline=offline).totals
    assert (inside.observed_s, inside.planned_observed_s, inside.down_s, inside.run_s) == (0, 0, 0, 0)
    assert (inside.operating_s, inside.stop_s, inside.downtime_s, inside.good_pieces) == (0, 0, (), 0)
    online = run(m, planned=planned, offline=SpanSet()).totals
    hour = run(m, planned=planned, offline=offline).totals
    assert online.down_s - offline.total_s - EPS <= hour.down_s <= online.down_s + EPS
    assert hour.planned_observed_s == pytest.approx(
        online.planned_observed_s - offline.intersect(planned).total_s, abs=EPS)
    assert hour.observed_s == pytest.approx(3600 - offline.total_s, abs=EPS)


@given(machines(live=True), plans, offlines)
def test_replayed_aggregates_count_whatever_the_gateway_status(m: Machine, planned: SpanSet,
                                                               offline: SpanSet) -> None:
    replayed = [replace(a, quality=Quality.HISTORICAL) for a in m.aggregates]
    assert run(m, planned=planned, offline=offline, aggregates=replayed).totals == \
        run(m, planned=planned, offline=SpanSet()).totals


@given(machines(), plans, offlines, st.integers(1, 3599))
def test_split_and_recombine_gives_the_same_totals(m: Machine, planned: SpanSet, offline: SpanSet,
                                                   cut: int) -> None:
    a, b = split(W, Window.from_epoch_s(T0 + cut, T0 + 3600).start)
    whole, ta, tb = (run(m, w, planned=planned, offline=offline).totals for w in (W, a, b))
    for name in ADDITIVE:
        assert getattr(ta, name) + getattr(tb, name) == pytest.approx(getattr(whole, name), abs=EPS), name
    for reason, seconds in whole.downtime_s:
        assert dict(ta.downtime_s).get(reason, 0.0) + dict(tb.downtime_s).get(reason, 0.0) == pytest.approx(
            seconds, abs=EPS), reason


# ---------------------------------------------------------------- one line

def _bridged(m: Machine) -> SpanSet:
    return SpanSet.of([Span(a.ts_s - a.unobserved_s, a.ts_s) for a in m.aggregates if a.pieces_unobserved
                       and a.quality is not Quality.STALE and T0 <= a.ts_s + 30 < T0 + 3600])


@given(st.lists(machines(), min_size=1, max_size=3), st.integers(1, 3), st.integers(0, 2), plans, offlines,
       st.integers(1, 40).map(lambda k: k / 4), st.integers(1, 30))
def test_line_kpis_are_the_sums_of_their_machines_and_stay_in_bounds(
    ms: list[Machine], n_outputs: int, absent: int, planned: SpanSet, offline: SpanSet, sam_min: float,
    operators: int
) -> None:
    mws = [run(m, planned=planned, offline=offline) for m in ms]
    outs = ms[:n_outputs]
    line = LineInputs(operators=operators, sam_min=sam_min, machine_total=len(ms) + absent)
    eff, o = line_kpis(mws, mws[:n_outputs], line, W, planned=planned, coverage_threshold=0.8)
    planned_w = planned.intersect(WIN)
    planned_obs = sum(planned_w.intersect(observed(m.aggregates, offline)).total_s for m in ms)
    assert o.coverage.observed_s == pytest.approx(planned_obs, abs=EPS)
    assert o.coverage.basis_s == pytest.approx((len(ms) + absent) * planned_w.total_s, abs=EPS)
    assert 0.0 <= o.coverage.fraction <= 1.0
    totals: list[MachineTotals] = [mw.totals for mw in mws]
    assert o["operating_min"] == pytest.approx(sum(t.operating_s for t in totals) / 60, abs=EPS)
    assert o["stop_min"] == pytest.approx(sum(t.stop_s for t in totals) / 60, abs=EPS)
    for name in ("availability", "performance", "quality", "oee", "utilization"):
        v = o[name]
        assert v is None or 0.0 <= v <= 1.0, name
    assert o.item("availability").raw is None or o.item("availability").raw <= 1.0 + 1e-9
    outputs_obs = SpanSet.of([sp for m in outs for sp in observed(m.aggregates, offline).spans])
    worked = planned_w.intersect(outputs_obs.union(SpanSet.of([sp for m in outs for sp in _bridged(m).spans])))
    assert eff["minutes_worked"] == pytest.approx(worked.total_s / 60, abs=EPS)
    assert eff["good_pieces"] == sum(t.good_pieces + t.unobserved_pieces for t in totals[:n_outputs])
    e = eff["line_efficiency"]
    assert (e is None) == (worked.total_s == 0) and (e is None or e >= 0.0)
    if not planned_w:
        assert Flag.NO_PLANNED_TIME in o.flags and Flag.NO_PLANNED_TIME in eff.flags


@given(machines(live=True), st.integers(0, 57), st.integers(1, 20), st.integers(1, 10))
def test_a_gap_the_counter_bridges_leaves_line_efficiency_unchanged(m: Machine, first: int, n: int,
                                                                    operators: int) -> None:
    g0 = T0 + 60 * first
    g1 = min(g0 + 60 * n, T0 + 3540)  # the counter's next aggregate lies in the hour
    line = LineInputs(operators=operators, sam_min=2.0, machine_total=1)
    planned = SpanSet.single(START, END)

    def efficiency(aggs: Sequence[Aggregate]) -> tuple[float | None, float]:
        mw = run(m, planned=planned, offline=SpanSet(), aggregates=aggs)
        eff, oee = line_kpis([mw], [mw], line, W, planned=planned, coverage_threshold=0.8)
        return eff["line_efficiency"], oee.coverage.observed_s

    (full, seen), (gapped, seen_gapped) = efficiency(m.aggregates), efficiency(drop_gap(m.aggregates, g0, g1))
    assert full is not None and gapped is not None
    assert seen_gapped == pytest.approx(seen - (g1 - g0))  # the gap is unobserved time
    if sum(a.pieces for a in m.aggregates if g0 <= a.ts_s < g1):
        assert gapped == pytest.approx(full)  # pieces and minutes of the gap both count
    else:  # no piece to catch up, no bridge: the gap's minutes count neither way
        assert gapped * (3600 - (g1 - g0)) == pytest.approx(full * 3600)
