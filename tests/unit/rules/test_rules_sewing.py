from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.contracts.messages import MachineState, Quality
from seamline.rules.kpi.result import Flag
from seamline.rules.kpi.sewing import (
    Aggregate,
    aggregate_totals,
    earned_minutes,
    line_efficiency,
    line_efficiency_kpi,
    machine_time_kpi,
    oee,
    oee_kpi,
)
from seamline.rules.kpi.state_time import StateEvent
from seamline.rules.spans import Span, SpanSet
from seamline.rules.windows import Window, split

R, IDLE, D = MachineState.RUNNING, MachineState.IDLE, MachineState.DOWN
T0 = 1_767_225_600.0  # 2026-01-01T00:00Z
W = Window.from_epoch_s(T0, T0 + 3600)
ALL = SpanSet.single(T0, T0 + 3600)


def ev(minute: float, state: MachineState, reason: str = "none") -> StateEvent:
    return StateEvent(T0 + minute * 60, state, reason)


EVENTS = [
    ev(0, R), ev(20, D, "breakdown.needle"), ev(25, R), ev(40, IDLE), ev(45, D, "breakdown.motor"),
    ev(55, R),
]


def test_machine_time_worked_example() -> None:
    planned = SpanSet.single(T0, T0 + 3000)  # 50 planned minutes
    k = machine_time_kpi(EVENTS, W, planned=planned, observed=ALL, coverage_threshold=0.8)
    assert k["running_min"] == pytest.approx(40)  # 0-20, 25-40, 55-60
    assert k["down_min"] == pytest.approx(15)
    assert k["idle_min"] == pytest.approx(5)
    assert k["down_min.breakdown.needle"] == pytest.approx(5)
    assert k["down_min.breakdown.motor"] == pytest.approx(10)
    assert k["utilization"] == pytest.approx(35 / 50)  # run inside planned 0-50 min: 20 + 15
    assert k["overtime_run_min"] == pytest.approx(5)
    assert k["breakdowns"] == 2
    assert k["mtbf_min"] == pytest.approx(40 / 2)
    assert k["mttr_min"] == pytest.approx(15 / 2)
    assert k.coverage.fraction == 1.0 and k.flags == frozenset()


def test_gateway_outage_is_missing_data_not_downtime() -> None:
    # Machine went down at 20 and the gateway was offline 22..50: only 2 min of down are known.
    observed = ALL.subtract(SpanSet.single(T0 + 22 * 60, T0 + 50 * 60))
    k = machine_time_kpi([*EVENTS[:2], ev(50, R)], W, planned=ALL, observed=observed, coverage_threshold=0.8)
    assert k["down_min"] == pytest.approx(2)
    assert k["unobserved_min"] == pytest.approx(28)
    assert k["utilization"] == pytest.approx(30 / 32)  # 20 + 10 run of 32 observed planned minutes
    assert k.coverage.fraction == pytest.approx(32 / 60)
    assert Flag.LOW_COVERAGE in k.flags


def test_no_breakdowns_and_no_plan() -> None:
    k = machine_time_kpi([ev(0, R)], W, planned=SpanSet(), observed=ALL, coverage_threshold=0.8)
    assert k["mtbf_min"] is None and k["utilization"] is None
    assert {Flag.NO_EVENTS, Flag.NO_PLANNED_TIME} <= k.flags


def test_domain_line_efficiency_example() -> None:
    # DOMAIN.md: 50 pieces of a 20-minute garment by 5 operators in 480 minutes -> 41.67 %
    assert earned_minutes(50, 20) == 1000
    assert line_efficiency(50, 20, 5, 480) == pytest.approx(0.416667, abs=1e-6)
    assert line_efficiency(50, 20, 0, 480) is None


def test_line_efficiency_kpi_scales_by_observed_planned_time() -> None:
    day = Window.from_epoch_s(T0, T0 + 86400)
    planned = SpanSet.single(T0, T0 + 480 * 60)
    observed = SpanSet.single(T0, T0 + 240 * 60)  # half the shift observed, 25 pieces counted in it
    k = line_efficiency_kpi(day, good_pieces=25, sam_min=20, operators=5, planned=planned, observed=observed,
                            coverage_threshold=0.8)
    assert k["line_efficiency"] == pytest.approx(500 / (5 * 240))
    assert k["minutes_worked"] == 240
    assert k.coverage.fraction == 0.5 and Flag.LOW_COVERAGE in k.flags


def test_oee_worked_example() -> None:
    # planned 480 min, run 360 min, 60 pieces of SAM 5 min (300 std min), 3 rejects
    r = oee(operating_s=360 * 60, planned_s=480 * 60, total_pieces=60, good_pieces=57, sam_min=5)
    assert r.availability.value == 0.75
    assert r.performance.value == pytest.approx(300 / 360)
    assert r.quality.value == 0.95
    assert r.oee.value == pytest.approx(0.75 * 300 / 360 * 0.95)
    assert not r.clipped


def test_oee_clips_but_keeps_raw() -> None:
    r = oee(operating_s=60 * 60, planned_s=480 * 60, total_pieces=20, good_pieces=20, sam_min=5)  # 100 std min in 60
    assert r.performance.value == 1.0 and r.performance.raw == pytest.approx(100 / 60)
    assert r.clipped
    assert r.oee.value == pytest.approx(0.125)
    assert r.oee.raw == pytest.approx(0.125 * 100 / 60)
    assert oee(operating_s=0, planned_s=0, total_pieces=0, good_pieces=0, sam_min=5).oee.value is None


def test_oee_kpi_flags_clipped() -> None:
    k = oee_kpi(W, operating_s=1800, total_pieces=10, good_pieces=10, sam_min=5, planned=ALL, observed=ALL,
                coverage_threshold=0.8)
    assert k["availability"] == 0.5 and k["performance"] == 1.0 and Flag.CLIPPED in k.flags


def test_aggregate_totals_by_period_midpoint() -> None:
    aggs = [
        Aggregate(ts_s=T0 + 60 * i, period_s=60, run_s=30, idle_s=30, pieces=2, rejects=i % 2) for i in range(70)
    ] + [Aggregate(ts_s=T0, period_s=60, run_s=60, pieces=9, quality=Quality.STALE)]
    t = aggregate_totals(aggs, W)
    assert t.run_s == 60 * 30 and t.good_pieces == 120 and t.rejects == 30 and t.total_pieces == 150


# ---------------------------------------------------------------- properties

states = st.sampled_from(list(MachineState))
event_lists = st.lists(
    st.tuples(st.integers(0, 3599), states).map(lambda t: StateEvent(T0 + t[0], t[1])), max_size=20
)
span_lists = st.lists(
    st.tuples(st.integers(0, 3600), st.integers(1, 900)).map(lambda t: Span(T0 + t[0], T0 + t[0] + t[1])),
    max_size=6,
)


@given(event_lists, span_lists, span_lists)
def test_utilization_in_unit_interval(events: list[StateEvent], plan: list[Span], gaps: list[Span]) -> None:
    k = machine_time_kpi(events, W, planned=SpanSet.of(plan), observed=ALL.subtract(SpanSet.of(gaps)),
                         coverage_threshold=0.8)
    u = k["utilization"]
    assert u is None or 0.0 <= u <= 1.0


@given(event_lists, span_lists, span_lists)
def test_missing_data_never_increases_downtime(events: list[StateEvent], gaps: list[Span], more: list[Span]) -> None:
    observed = ALL.subtract(SpanSet.of(gaps))
    less = observed.subtract(SpanSet.of(more))
    full = machine_time_kpi(events, W, planned=ALL, observed=observed, coverage_threshold=0.8)
    part = machine_time_kpi(events, W, planned=ALL, observed=less, coverage_threshold=0.8)
    assert part["down_min"] <= full["down_min"] + 1e-9  # type: ignore[operator]
    assert part.coverage.fraction <= full.coverage.fraction + 1e-12


@given(event_lists, st.integers(1, 3599), span_lists)
def test_split_and_recombine_run_minutes(events: list[StateEvent], cut: int, gaps: list[Span]) -> None:
    observed = ALL.subtract(SpanSet.of(gaps))
    a, b = split(W, Window.from_epoch_s(T0 + cut, T0 + 3600).start)
    whole = machine_time_kpi(events, W, planned=ALL, observed=observed, coverage_threshold=0.8)
    ka = machine_time_kpi(events, a, planned=ALL, observed=observed, coverage_threshold=0.8)
    kb = machine_time_kpi(events, b, planned=ALL, observed=observed, coverage_threshold=0.8)
    for name in ("running_min", "down_min", "idle_min", "off_min", "breakdowns"):
        assert ka[name] + kb[name] == pytest.approx(whole[name], abs=1e-9)  # type: ignore[operator]


@given(st.lists(st.tuples(st.integers(0, 120), st.integers(0, 5), st.integers(0, 2)), max_size=40),
       st.integers(1, 3599))
def test_split_and_recombine_pieces(rows: list[tuple[int, int, int]], cut: int) -> None:
    aggs = [Aggregate(ts_s=T0 + 30 * m, period_s=60, run_s=10, pieces=p, rejects=r) for m, p, r in rows]
    a, b = split(W, Window.from_epoch_s(T0 + cut, T0 + 3600).start)
    ta, tb, tw = aggregate_totals(aggs, a), aggregate_totals(aggs, b), aggregate_totals(aggs, W)
    assert ta.good_pieces + tb.good_pieces == tw.good_pieces
    assert ta.rejects + tb.rejects == tw.rejects
    assert ta.run_s + tb.run_s == tw.run_s


def test_line_efficiency_counts_pieces_and_minutes_bridged_by_counters() -> None:
    # 8 h planned; a 1 h gateway outage (4:00-5:00) after which the counters caught up on 10
    # pieces; and no data at all after 7:00 (nothing caught up: that hour counts neither way).
    day = Window.from_epoch_s(0, 8 * 3600)
    planned = SpanSet.single(0, 8 * 3600)
    observed = SpanSet.of([Span(0, 4 * 3600), Span(5 * 3600, 7 * 3600)])
    bridged = SpanSet.single(4 * 3600, 5 * 3600)
    k = line_efficiency_kpi(day, good_pieces=80, sam_min=20, operators=5, planned=planned, observed=observed,
                            coverage_threshold=0.5, unobserved_pieces=10, bridged=bridged)
    # (80 + 10) x 20 / (5 x 7 h x 60) = 1800 / 2100
    assert k["minutes_worked"] == pytest.approx(420)
    assert k["line_efficiency"] == pytest.approx(1800 / 2100)
    assert k["good_pieces"] == 90 and k["unobserved_pieces"] == 10
    assert k.coverage.fraction == pytest.approx(6 / 8)  # the outage is still unobserved time
