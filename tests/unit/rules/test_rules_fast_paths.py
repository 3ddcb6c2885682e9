"""The fast paths of the sewing KPIs return exactly (``==``, not approx) what the straightforward
implementations return: the oracle in :mod:`tests.support.kpi_oracle` (per-event SpanSets,
sort-then-merge of Span objects, bisect lookups), the code the fast paths replaced."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from seamline.contracts.messages import MachineState, Quality
from seamline.rules.coverage import Observation, ObservationPolicy, Stamp, aggregate_span, observed_spans
from seamline.rules.kpi.operating_time import machine_operating_time, operating_time, whole_runs
from seamline.rules.kpi.sewing import Aggregate
from seamline.rules.kpi.state_time import (
    StateEvent,
    breakdowns_starting_in,
    down_by_reason_s,
    in_time_order,
    seconds_within,
)
from seamline.rules.machine_kpi import aggregate_observed
from seamline.rules.source import state_events_from
from seamline.rules.spans import Span, SpanSet, intersect_pairs, merge_sorted, total_pairs_s
from seamline.rules.windows import Window
from seamline.storage.query import Series
from tests.support import kpi_oracle as oracle

T0 = 1_767_225_600.0  # 2026-01-01T00:00Z: epoch-sized floats, so rounding is real
R, IDLE, D, OFF = MachineState.RUNNING, MachineState.IDLE, MachineState.DOWN, MachineState.OFF


# ---------------------------------------------------------------- strategies

# tenths of a second (not exact in binary), or whole seconds (idle runs exactly as long as a
# threshold), with many repeated times (events at the same instant)
times = st.one_of(st.integers(-6000, 42000).map(lambda d: T0 + d / 10), st.integers(-600, 4200).map(lambda d: T0 + d))
events = st.lists(
    st.builds(StateEvent, times, st.sampled_from(list(MachineState)),
              st.sampled_from(["none", "", "no_work", "changeover", "breakdown.needle"])),
    max_size=40,
)
spans = st.lists(
    st.tuples(st.integers(-600, 4000), st.integers(0, 900), st.integers(0, 9)).map(
        lambda t: Span(T0 + t[0] + t[2] / 10, T0 + t[0] + t[1] + t[2] / 10)),
    max_size=8,
)
span_sets = spans.map(SpanSet.of)
thresholds = st.one_of(st.sampled_from([0.0, 120.0, 300.0]), st.floats(0, 1800, allow_nan=False))
aggregates = st.lists(
    st.builds(Aggregate, st.integers(-10, 70).map(lambda k: T0 + 60.0 * k), st.sampled_from([60.0, 30.0, 0.0]),
              st.floats(0, 60, allow_nan=False), st.floats(0, 60, allow_nan=False),
              st.floats(0, 60, allow_nan=False), st.floats(0, 60, allow_nan=False),
              quality=st.sampled_from(list(Quality))),
    max_size=30,
)


def _time_sorted(evs: list[StateEvent]) -> list[StateEvent]:
    return sorted(evs, key=lambda e: e.ts_s)


# ---------------------------------------------------------------- spans

@given(spans, spans)
def test_normalise_and_intersect_equal_the_span_object_versions(a: list[Span], b: list[Span]) -> None:
    sa, sb = SpanSet.of(a), SpanSet.of(b)
    assert sa.spans == oracle.normalise(a)
    assert sa.intersect(sb) == oracle.intersect(sa, sb)
    assert total_pairs_s(intersect_pairs(sa.pairs, sb.pairs)) == oracle.intersect(sa, sb).total_s
    ordered = sorted((s.start_s, s.end_s) for s in a)
    assert merge_sorted(ordered) == [(s.start_s, s.end_s) for s in oracle.normalise(a)]


def test_merge_sorted_merges_touching_and_drops_empty() -> None:
    assert merge_sorted([(0.0, 2.0), (2.0, 3.0), (4.0, 4.0), (5.0, 9.0), (6.0, 7.0)]) == [(0.0, 3.0), (5.0, 9.0)]


# ---------------------------------------------------------------- sewing

@given(events, span_sets, thresholds, st.integers(-600, 6000))
def test_operating_time_equals_the_oracle_of_whole_intervals(
    evs: list[StateEvent], within: SpanSet, threshold: float, until: int
) -> None:
    until_s = T0 + until
    expected = oracle.operating_time(oracle.whole_intervals(evs, until_s=until_s), within, stop_threshold_s=threshold)
    assert operating_time(whole_runs(evs, until_s=until_s), within, stop_threshold_s=threshold) == expected
    assert operating_time(whole_runs(tuple(_time_sorted(evs)), until_s=until_s), within,
                                  stop_threshold_s=threshold) == expected


def test_an_idle_run_exactly_the_threshold_long_is_a_stop_on_both_paths() -> None:
    evs = [StateEvent(T0, R), StateEvent(T0 + 60, IDLE, "no_work"), StateEvent(T0 + 180, IDLE), StateEvent(T0 + 360, R)]
    within = SpanSet.single(T0, T0 + 600)
    expected = oracle.operating_time(oracle.whole_intervals(evs, until_s=T0 + 600), within, stop_threshold_s=300)
    got = operating_time(whole_runs(evs, until_s=T0 + 600), within, stop_threshold_s=300)
    assert got == expected
    assert (got.stop_s, got.stop_by_reason_s, got.operating_s) == (300.0, (("stop.no_work", 300.0),), 300.0)


@given(events, st.integers(-600, 6000))
def test_whole_runs_are_the_unions_of_whole_intervals(evs: list[StateEvent], until: int) -> None:
    whole = oracle.whole_intervals(evs, until_s=T0 + until)
    runs = whole_runs(evs, until_s=T0 + until)

    def union(state: MachineState | None) -> tuple[tuple[float, float], ...]:
        chosen = (Span(i.start_s, i.end_s) for i in whole if state is None or i.state is state)
        return tuple((s.start_s, s.end_s) for s in oracle.normalise(chosen))

    assert (runs.covered, runs.down, runs.off) == (union(None), union(D), union(OFF))
    assert [(s, e) for s, e, _ in runs.idle] == list(union(IDLE))


@given(events, span_sets, span_sets)
def test_down_by_reason_equals_the_oracle_of_state_intervals(evs: list[StateEvent], observed: SpanSet,
                                                           within: SpanSet) -> None:
    down = [i for i in oracle.state_intervals(evs, observed) if i.state is D]
    expected = oracle.downtime_by_reason_s(down, within)
    got = down_by_reason_s(evs, observed, within)
    assert got == expected
    assert list(got) == list(expected)  # same order: it becomes the order of the downtime points


@given(events, st.randoms(use_true_random=False))
def test_in_time_order_is_the_stable_sort(evs: list[StateEvent], rnd: random.Random) -> None:
    rnd.shuffle(evs)
    assert list(in_time_order(evs)) == _time_sorted(evs)
    assert list(in_time_order(iter(evs))) == _time_sorted(evs)
    window = Window.from_epoch_s(T0, T0 + 3600)
    ordered = _time_sorted(evs)
    expected = sum(1 for k, e in enumerate(ordered) if e.state is D and window.contains_s(e.ts_s)
                   and (k == 0 or ordered[k - 1].state is not D))
    assert breakdowns_starting_in(evs, window) == expected


# ---------------------------------------------------------------- machine_kpi and coverage

@given(aggregates, span_sets, st.booleans())
def test_seconds_within_sweep_equals_the_bisect_oracle(aggs: list[Aggregate], within: SpanSet,
                                                        in_order: bool) -> None:
    if in_order:
        aggs = sorted(aggs, key=lambda a: a.ts_s)
    assert seconds_within(aggs, within) == oracle.seconds_within(aggs, within)


@settings(max_examples=200)
@given(aggregates, events, span_sets, thresholds, st.integers(-600, 6000))
def test_machine_operating_time_equals_the_oracle(aggs: list[Aggregate], evs: list[StateEvent],
                                                            within: SpanSet, threshold: float, until: int) -> None:
    aggs = sorted(aggs, key=lambda a: a.ts_s)
    kw = {"known_until_s": T0 + until, "stop_threshold_s": threshold}
    assert machine_operating_time(aggs, evs, within, **kw) == oracle.machine_operating_time(aggs, evs, within, **kw)


@given(aggregates, span_sets, st.sampled_from(list(Stamp)))
def test_aggregate_observed_spans_equal_the_span_version(aggs: list[Aggregate], offline: SpanSet,
                                                         stamp: Stamp) -> None:
    obs = [Observation(ts_s=a.ts_s, quality=a.quality, period_s=a.period_s) for a in aggs if a.period_s > 0]
    expected = SpanSet(oracle.normalise(aggregate_span(o, stamp) for o in obs if o.quality is not Quality.STALE))
    assert observed_spans(obs, ObservationPolicy(stamp=stamp), offline=offline) == expected.subtract(offline)


@given(aggregates, span_sets)
def test_aggregate_observed_equals_the_oracle(aggs: list[Aggregate], offline: SpanSet) -> None:
    # live aggregates lose the gateway's offline time, replayed (historical) ones do not; the
    # source reads only aggregates with a period (``period_s > 0``)
    aggs = [a for a in aggs if a.period_s > 0]
    assert aggregate_observed(aggs, offline) == oracle.observed(aggs, offline)


def test_state_events_decode_by_value_and_skip_unknown_states() -> None:
    rows = ({"time": 1000, "state": "down", "reason": "breakdown.motor"}, {"time": 2000, "state": "bogus"},
            {"time": 3500, "state": "idle", "reason": None}, {"time": 4000, "state": None})
    got = state_events_from(Series(tags={}, rows=rows))
    assert got == [StateEvent(1.0, D, "breakdown.motor"), StateEvent(3.5, IDLE, "none")]
    assert got[0].state is D
