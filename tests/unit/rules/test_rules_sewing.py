"""Sewing KPIs on the production path (rules.machine_kpi, rules.kpi.sewing): worked examples.
The properties are in test_rules_sewing_properties.py."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from seamline.contracts.messages import MachineState, Quality
from seamline.rules.coverage import Coverage
from seamline.rules.kpi.result import Flag
from seamline.rules.kpi.sewing import (
    Aggregate,
    LineTotals,
    earned_minutes,
    line_efficiency,
    line_efficiency_kpi,
    line_oee_kpi,
    oee,
)
from seamline.rules.kpi.state_time import StateEvent
from seamline.rules.machine_kpi import MachineWindow, machine_kpi
from seamline.rules.spans import Span, SpanSet
from seamline.rules.windows import Window
from tests.support.sewing_timeline import aggregates_of, events_of, segments

R, IDLE, D = MachineState.RUNNING, MachineState.IDLE, MachineState.DOWN
T0 = 1_767_225_600.0  # 2026-01-01T00:00Z
W = Window.from_epoch_s(T0, T0 + 3600)
ALL = SpanSet.single(T0, T0 + 3600)

# minute: 0 sew, 20 needle breakdown, 25 sew, 40 idle 5 min, 45 motor breakdown, 55 sew until 60
TIMELINE = segments(T0, [(1200, R, "none"), (300, D, "breakdown.needle"), (900, R, "none"), (300, IDLE, "none"),
                         (600, D, "breakdown.motor"), (300, R, "none")])
EVENTS = tuple(events_of(TIMELINE))
AGGS = aggregates_of(TIMELINE, T0, T0 + 3600, pieces=[1] * 60)


def kpi(aggs: Sequence[Aggregate], *, planned: SpanSet = ALL, offline: SpanSet | None = None,
        events: Sequence[StateEvent] = EVENTS) -> MachineWindow:
    return machine_kpi(aggs, events, W, planned=planned, offline=offline or SpanSet(), coverage_threshold=0.8)


def test_machine_time_worked_example() -> None:
    mw = kpi(AGGS, planned=SpanSet.single(T0, T0 + 3000))  # 50 planned minutes
    k = mw.result
    assert k["run_min"] == pytest.approx(40)  # 0-20, 25-40, 55-60
    assert k["down_min"] == pytest.approx(15)
    assert k["idle_min"] == pytest.approx(5)
    assert mw.downtime_s == {"breakdown.motor": 600, "breakdown.needle": 300, "stop": 300}  # idle 5 min: a stop
    assert k["utilization"] == pytest.approx(35 / 50)  # run inside planned 0-50 min: 20 + 15
    assert k["operating_min"] == pytest.approx(35) and k["stop_min"] == pytest.approx(5)
    assert k["availability"] == pytest.approx(35 / 50)  # 50 - needle 5 - stop 5 - motor 5 (45-50)
    assert k["breakdowns"] == 2
    assert k["mtbf_min"] == pytest.approx(40 / 2)
    assert k["mttr_min"] == pytest.approx(15 / 2)
    assert k["pieces"] == 60
    assert k.coverage.fraction == 1.0 and k.flags == frozenset()


def test_gateway_outage_is_missing_data_not_downtime() -> None:
    # Machine went down at 20 and the gateway was offline 22..50: only 2 min of down are known.
    timeline = segments(T0, [(1200, R, "none"), (1800, D, "breakdown.needle"), (600, R, "none")])
    mw = kpi(aggregates_of(timeline, T0, T0 + 3600), offline=SpanSet.single(T0 + 22 * 60, T0 + 50 * 60),
             events=events_of(timeline))
    k = mw.result
    assert k["down_min"] == pytest.approx(2)
    assert mw.downtime_s == {"breakdown.needle": 120}
    assert k["unobserved_min"] == pytest.approx(28)
    assert k["utilization"] == pytest.approx(30 / 32)  # 20 + 10 run of 32 observed planned minutes
    assert k.coverage.fraction == pytest.approx(32 / 60)
    assert Flag.LOW_COVERAGE in k.flags


def test_replayed_aggregates_count_despite_the_outage() -> None:
    # The edge spooled the outage's aggregates and replayed them (quality historical): real data.
    timeline = segments(T0, [(1200, R, "none"), (1800, D, "breakdown.needle"), (600, R, "none")])
    aggs = [a if not T0 + 22 * 60 <= a.ts_s < T0 + 50 * 60 else Aggregate(
        a.ts_s, a.period_s, a.run_s, a.idle_s, a.off_s, a.down_s, quality=Quality.HISTORICAL)
        for a in aggregates_of(timeline, T0, T0 + 3600)]
    k = kpi(aggs, offline=SpanSet.single(T0 + 22 * 60, T0 + 50 * 60), events=events_of(timeline)).result
    assert k["down_min"] == pytest.approx(30) and k["unobserved_min"] == 0 and k.coverage.fraction == 1.0


def test_no_breakdowns_and_no_plan() -> None:
    timeline = segments(T0, [(3600, R, "none")])
    k = kpi(aggregates_of(timeline, T0, T0 + 3600), planned=SpanSet(), events=events_of(timeline)).result
    assert k["mtbf_min"] is None and k["utilization"] is None and k["availability"] is None
    assert {Flag.NO_EVENTS, Flag.NO_PLANNED_TIME} <= k.flags
    assert k.coverage == Coverage(observed_s=3600, basis_s=3600)  # basis: the window


def test_pieces_by_period_midpoint_and_stale_periods_left_out() -> None:
    aggs = [Aggregate(ts_s=T0 + 60 * i, period_s=60, run_s=30, idle_s=30, pieces=2, rejects=i % 2)
            for i in range(-5, 65)] + [Aggregate(ts_s=T0, period_s=60, run_s=60, pieces=9, quality=Quality.STALE)]
    mw = kpi(sorted(aggs, key=lambda a: a.ts_s), events=[])
    assert (mw.result["pieces"], mw.result["rejects"]) == (120, 30)
    assert mw.result["run_min"] == 30


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


def test_line_oee_kpi_flags_clipped() -> None:
    t = LineTotals(run_planned_s=900, operating_s=1800, stop_s=0, planned_observed_s=3600, good_pieces=10, rejects=0,
                   unobserved_pieces=0)
    k = line_oee_kpi(t, W, sam_min=5, coverage=Coverage(3600, 3600), coverage_threshold=0.8)
    assert k["availability"] == 0.5 and k["performance"] == 1.0 and Flag.CLIPPED in k.flags
    assert k["utilization"] == 0.25 and k["operating_min"] == 30
