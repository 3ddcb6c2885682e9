"""Operating time, stops and OEE on operating time (rules.kpi.operating_time, the production
path): worked examples and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.contracts.messages import MachineState
from seamline.rules.kpi.operating_time import OperatingTime, operating_time, stop_key, whole_runs
from seamline.rules.kpi.sewing import oee
from seamline.rules.kpi.state_time import StateEvent
from seamline.rules.machine_kpi import machine_kpi
from seamline.rules.spans import Span, SpanSet
from seamline.rules.windows import Window
from tests.support.sewing_timeline import Segment, aggregates_of

R, IDLE, D, OFF = MachineState.RUNNING, MachineState.IDLE, MachineState.DOWN, MachineState.OFF
T0 = 1_767_225_600.0  # 2026-01-01T00:00Z
W = Window.from_epoch_s(T0, T0 + 3600)
ALL = SpanSet.single(T0, T0 + 3600)
PLANNED = SpanSet.single(T0, T0 + 50 * 60)  # 50 planned minutes


def ev(minute: float, state: MachineState, reason: str = "none") -> StateEvent:
    return StateEvent(T0 + minute * 60, state, reason)


# minute: 0 sew, 10 handling 30 s, 10.5 sew, 20 no work 8 min, 28 sew, 35 needle breakdown 5 min,
# 40 repaired (idle 1 min), 41 sew, 45 off 2 min, 47 idle 8 min (3 of them planned), 55 sew
EVENTS = [
    ev(0, R), ev(10, IDLE), ev(10.5, R), ev(20, IDLE, "no_work"), ev(28, R), ev(35, D, "breakdown.needle"),
    ev(40, IDLE, "repaired"), ev(41, R), ev(45, OFF), ev(47, IDLE), ev(55, R),
]


def timeline_of(events: list[StateEvent], *, until_s: float) -> list[Segment]:
    ends = [e.ts_s for e in events[1:]] + [until_s]
    return [Segment(e.ts_s, end, e.state, e.reason) for e, end in zip(events, ends, strict=True)]


def _op(events: list[StateEvent], within: SpanSet, threshold_s: float, until_s: float = T0 + 3600) -> OperatingTime:
    return operating_time(whole_runs(events, until_s=until_s), within, stop_threshold_s=threshold_s)


def test_operating_time_worked_example() -> None:
    op = _op(EVENTS, PLANNED, 300)
    assert op.within_s == 50 * 60
    assert op.down_s == 5 * 60  # 35-40
    assert op.off_s == 2 * 60  # 45-47
    assert op.stop_s == (8 + 3) * 60  # 20-28 whole; 47-55 is 8 min long, 47-50 of it planned
    assert dict(op.stop_by_reason_s) == {"stop.no_work": 8 * 60, "stop": 3 * 60}
    # sewing 10 + 9.5 + 7 + 4, handling 0.5, idle after repair 1: all part of the cycle
    assert op.operating_s == pytest.approx(32 * 60)
    assert op.unknown_s == 0
    assert op.operating_s + op.stop_s + op.down_s + op.off_s + op.unknown_s == pytest.approx(op.within_s)


def test_threshold_decides_what_a_stop_is() -> None:
    assert _op(EVENTS, PLANNED, 480).stop_s == 11 * 60  # exactly 8 min long: still a stop (>=)
    assert _op(EVENTS, PLANNED, 481).stop_s == 0
    assert _op(EVENTS, PLANNED, 481).operating_s == pytest.approx(43 * 60)
    assert _op(EVENTS, PLANNED, 20).stop_s == pytest.approx((0.5 + 8 + 1 + 3) * 60)  # handling too


def test_a_stop_is_judged_by_its_whole_length_not_the_part_observed() -> None:
    # Gateway offline 22..50: only 2 min of the 8-min no-work stop are observed; still a stop.
    observed = PLANNED.subtract(SpanSet.single(T0 + 22 * 60, T0 + 50 * 60))
    op = _op(EVENTS, observed, 300)
    assert op.within_s == 22 * 60
    assert op.stop_s == 2 * 60
    assert op.operating_s == pytest.approx(20 * 60)  # sewing 19.5 + handling 0.5


def test_touching_idle_intervals_merge_and_keep_the_first_known_reason() -> None:
    events = [ev(0, R), ev(20, IDLE), ev(23, IDLE, "changeover"), ev(28, R)]  # 3 + 5 min idle = one 8-min stop
    runs = whole_runs(events, until_s=T0 + 3600)
    assert runs.idle == ((T0 + 20 * 60, T0 + 28 * 60, "changeover"),)
    op = operating_time(runs, ALL, stop_threshold_s=360)
    assert op.stop_s == 8 * 60 and op.stop_by_reason_s == (("stop.changeover", 8 * 60),)
    assert stop_key("none") == "stop" and stop_key("no_work") == "stop.no_work"


def test_no_event_before_the_window_start_is_unknown_time() -> None:
    op = _op([ev(10, R)], PLANNED, 300)
    assert op.unknown_s == 10 * 60 and op.operating_s == 40 * 60


def test_idle_open_at_the_end_counts_until_known_time() -> None:
    events = [ev(0, R), ev(48, IDLE)]
    assert _op(events, PLANNED, 300, until_s=T0 + 50 * 60).stop_s == 0  # known 2 min only: not (yet) a stop
    assert _op(events, PLANNED, 300, until_s=T0 + 53 * 60).stop_s == 2 * 60  # seen idle 5 min


def test_machine_kpi_reports_operating_stops_and_availability() -> None:
    aggs = aggregates_of(timeline_of(EVENTS, until_s=T0 + 3600), T0, T0 + 3600)
    mw = machine_kpi(aggs, EVENTS, W, planned=PLANNED, offline=SpanSet(), coverage_threshold=0.8,
                     stop_threshold_s=300)
    k = mw.result
    assert k["operating_min"] == pytest.approx(32)
    assert k["stop_min"] == pytest.approx(11)
    assert k["availability"] == pytest.approx(32 / 50)
    assert k["utilization"] == pytest.approx(30.5 / 50)  # needle time: a different KPI
    assert mw.downtime_s == pytest.approx({"breakdown.needle": 5 * 60, "stop.no_work": 8 * 60, "stop": 3 * 60})


def test_oee_on_operating_time_worked_example() -> None:
    # planned 480 min, operating 400 min, 60 pieces of SAM 5 min (300 std min), 3 rejects
    r = oee(operating_s=400 * 60, planned_s=480 * 60, total_pieces=60, good_pieces=57, sam_min=5)
    assert r.availability.value == pytest.approx(400 / 480)
    assert r.performance.value == pytest.approx(0.75)  # 300 std min in 400 operating min
    assert r.quality.value == pytest.approx(0.95)
    assert r.oee.value == pytest.approx(400 / 480 * 0.75 * 0.95)  # 0.59375
    assert r.oee.value == pytest.approx(0.59375)
    assert not r.clipped


def test_domain_example_sewing_pace_is_not_clipped() -> None:
    # An operator at 50 % of standard pace: 20 pieces of a 12-min garment in 480 operating
    # minutes, the needle running 35 % of it. Needle-time OEE would be 240 / 168 -> clipped.
    r = oee(operating_s=480 * 60, planned_s=480 * 60, total_pieces=20, good_pieces=20, sam_min=12)
    assert r.performance.value == pytest.approx(0.5) and not r.clipped
    needle = oee(operating_s=0.35 * 480 * 60, planned_s=480 * 60, total_pieces=20, good_pieces=20, sam_min=12)
    assert needle.clipped and needle.performance.raw == pytest.approx(240 / 168)


# ---------------------------------------------------------------- properties

states = st.sampled_from(list(MachineState))
event_lists = st.lists(
    st.tuples(st.integers(-600, 3599), states, st.sampled_from(["none", "no_work", "changeover"])).map(
        lambda t: StateEvent(T0 + t[0], t[1], t[2])),
    max_size=25,
)
span_lists = st.lists(
    st.tuples(st.integers(0, 3600), st.integers(1, 900)).map(lambda t: Span(T0 + t[0], T0 + t[0] + t[1])),
    max_size=6,
)
thresholds = st.floats(min_value=0, max_value=1800, allow_nan=False)


@given(event_lists, span_lists, span_lists, thresholds)
def test_operating_time_within_planned_observed(events: list[StateEvent], plan: list[Span], gaps: list[Span],
                                                threshold: float) -> None:
    within = SpanSet.of(plan).intersect(ALL.subtract(SpanSet.of(gaps)))
    op = _op(events, within, threshold)
    assert 0.0 <= op.operating_s <= within.total_s + 1e-6
    assert op.operating_s + op.stop_s + op.down_s + op.off_s + op.unknown_s == pytest.approx(within.total_s,
                                                                                             abs=1e-6)
    assert sum(s for _, s in op.stop_by_reason_s) == pytest.approx(op.stop_s, abs=1e-6)


@given(event_lists, span_lists, thresholds, thresholds)
def test_raising_the_threshold_never_lowers_operating_time(events: list[StateEvent], plan: list[Span],
                                                           a: float, b: float) -> None:
    within = SpanSet.of(plan) if plan else ALL
    low, high = sorted((a, b))
    assert _op(events, within, high).operating_s >= _op(events, within, low).operating_s - 1e-6


@given(event_lists, span_lists, thresholds, st.integers(0, 200), st.integers(0, 200),
       st.floats(min_value=0.1, max_value=60, allow_nan=False))
def test_oee_factors_in_unit_interval(events: list[StateEvent], plan: list[Span], threshold: float, good: int,
                                      rejects: int, sam_min: float) -> None:
    within = SpanSet.of(plan) if plan else ALL
    op = _op(events, within, threshold)
    r = oee(operating_s=op.operating_s, planned_s=within.total_s, total_pieces=good + rejects, good_pieces=good,
            sam_min=sam_min)
    for v in (r.availability, r.performance, r.quality, r.oee):
        assert v.value is None or 0.0 <= v.value <= 1.0
    if r.oee.value is not None and not r.clipped:
        assert r.oee.value == pytest.approx(r.oee.raw)
