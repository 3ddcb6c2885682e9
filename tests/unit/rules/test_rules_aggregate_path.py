"""The aggregate path (rules.aggregate_kpi) gives the reference path's totals (rules.machine_kpi).

Hypothesis draws a machine's state-event stream (running / idle / off / down, reasons, touching
idle periods, idle periods open at every boundary), a stop threshold, planned spans (breaks on
whole minutes) and pieces. The edge's production split (edge_agent.stop_split.EventTimeline, fed
changes past each period end as the agent is) makes the 60 s aggregates; the reference reads the
events the source would (the last one before the window, all up to 30 min after it) and every
aggregate; the aggregate path reads only sums over the ranges of its SumPlan (computed here as
InfluxQL's SUM/COUNT/MIN/MAX would: tests/integration/rules/test_rules_aggregate_influx.py runs
the real statements). Where the aggregate path accepts a machine, every total is equal within
1e-5 s (the reference sums epoch-second floats, ulp 2.4e-7 s; the edge sums ms integers); where
it refuses, it names why.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seamline.contracts.messages import MachineState
from seamline.edge_agent.stop_split import EventTimeline
from seamline.rules.aggregate_kpi import (
    BREAKDOWN,
    DOWN_MISMATCH,
    NOT_EXACT,
    Range,
    SpanSums,
    SumPlan,
    aggregate_totals,
    window_down_reasons,
)
from seamline.rules.aggregate_source import may_be_down_at_start
from seamline.rules.kpi.sewing import Aggregate, MachineTotals
from seamline.rules.kpi.state_time import StateEvent
from seamline.rules.machine_kpi import aggregate_observed, machine_totals
from seamline.rules.spans import SpanSet
from seamline.rules.windows import Window
from seamline.storage.down_events import down_edge
from seamline.storage.sewing_sums import SUMS_KEY, count_limits, derived_fields

T0_MS = 1_767_225_600_000  # 2026-01-01T00:00Z
W = Window.from_epoch_s(T0_MS / 1000, T0_MS / 1000 + 3600)
P_MS = 60_000
START_MS, END_MS = T0_MS - 45 * P_MS, T0_MS + 3600_000 + 1800_000  # look-back, look-ahead
# s: the reference adds and subtracts epoch-second floats (ulp 2.4e-7 s at 1.8e9 s; hypothesis found
# 65 ulps, 1.55e-5 s, over a busy hour's events), the edge whole ms: a wrong figure is off by >= 1 ms
EPS_S = 1e-4

REASONS = {MachineState.RUNNING: ["none"], MachineState.OFF: ["none"],
           MachineState.IDLE: ["none"] * 9 + ["repaired"], MachineState.DOWN: ["breakdown.needle"]}
# Half of the examples have no breakdown (the aggregate path hands machines with one to the events).
CALM = [MachineState.RUNNING] * 4 + [MachineState.IDLE] * 4 + [MachineState.OFF]
STORMY = [*CALM, MachineState.DOWN]


def timelines() -> st.SearchStrategy[list[tuple[int, MachineState, str]]]:
    """(start ms, state, reason) changes from before the look-back to past the look-ahead."""
    return st.sampled_from([CALM, STORMY]).flatmap(_timelines)


def _timelines(states: list[MachineState]) -> st.SearchStrategy[list[tuple[int, MachineState, str]]]:
    step = st.tuples(st.one_of(st.integers(1_000, 60_000), st.integers(60_000, 1_500_000)),
                     st.sampled_from(states).flatmap(lambda s: st.tuples(st.just(s), st.sampled_from(REASONS[s]))))
    return st.lists(step, min_size=1, max_size=120).map(_changes)


def _changes(steps: list[tuple[int, tuple[MachineState, str]]]) -> list[tuple[int, MachineState, str]]:
    """The steps repeated until past the look-ahead, as the edge publishes them: a change always
    to another state (StateTracker._enter), so an idle period's reason is its first event's."""
    out: list[tuple[int, MachineState, str]] = []
    t = START_MS - 600_000
    while t < END_MS:
        for duration, (state, reason) in steps:
            if out and out[-1][1] is state:
                out[-1] = (out[-1][0], state, out[-1][2])  # the same state goes on
            else:
                out.append((t, state, reason))
            t += duration
            if t >= END_MS:
                break
    return out


def planned(draw: st.DrawFn) -> SpanSet:
    kind = draw(st.sampled_from(["all", "break", "none", "part"]))
    w0 = T0_MS / 1000
    if kind == "all":
        return SpanSet.single(w0 - 3600, w0 + 7200)
    if kind == "none":
        return SpanSet()
    a = draw(st.integers(0, 59))
    b = draw(st.integers(a + 1, 60))
    if kind == "part":
        return SpanSet.single(w0 + a * 60, w0 + b * 60)
    return SpanSet.single(w0 - 60, w0 + a * 60).union(SpanSet.single(w0 + b * 60, w0 + 3600))


def edge_aggregates(changes: list[tuple[int, MachineState, str]], threshold_s: float,
                    pieces: list[int]) -> list[dict[str, Any]]:
    """60 s aggregates with the edge's split; run/idle/off/down from the same timeline."""
    timeline = EventTimeline(threshold_s)
    rows, added = [], 0
    for k, p0 in enumerate(range(START_MS, END_MS, P_MS)):
        p1 = p0 + P_MS
        while added < len(changes) and changes[added][0] < p1 + 5_000:  # the agent runs a little ahead
            timeline.add(*changes[added])
            added += 1
        secs = {s: 0.0 for s in MachineState}
        for i, (t, state, _) in enumerate(changes):
            end = changes[i + 1][0] if i + 1 < len(changes) else END_MS
            secs[state] += max(0, min(end, p1) - max(t, p0)) / 1000
        rows.append({"ts_ms": p0, "period_s": 60.0, "run_s": secs[MachineState.RUNNING],
                     "idle_s": secs[MachineState.IDLE], "off_s": secs[MachineState.OFF],
                     "down_s": secs[MachineState.DOWN], "pieces": pieces[k % len(pieces)], "rejects": k % 2,
                     **timeline.split(p0, p1).metrics(threshold_s)})
    return rows


def sums_of(rows: list[dict[str, Any]], rng: Range, names: frozenset[str]) -> SpanSums:
    """What the InfluxQL aggregates return for ``rng`` (rows starting in it; every row here is an
    aggregate, stored as ingest stores it: with the fields of seamline.storage.sewing_sums): only
    the sums the plan asks for (rules.aggregate_source), the rest left at 0."""
    r = [{**x, **derived_fields(x, good=x.get("quality", "good") == "good")}
         for x in rows if rng[0] <= x["ts_ms"] < rng[1]]
    if not r:
        return SpanSums()
    keys = [x[SUMS_KEY] for x in r]
    values: dict[str, Any] = {"count": len(keys), "key_min": min(keys), "key_max": max(keys)}
    for name in names - set(values):
        values[name] = sum(x.get(name, 0) for x in r)
    return SpanSums(**{k: v for k, v in values.items() if k in names})


def all_sums(rows: list[dict[str, Any]], plan: SumPlan) -> dict[Range, SpanSums]:
    return {rng: sums_of(rows, rng, names) for rng, names in plan.needs().items()}


def reference(rows: list[dict[str, Any]], changes: list[tuple[int, MachineState, str]], plan: SpanSet,
              threshold_s: float) -> MachineTotals:
    """machine_totals on what InfluxSource reads: aggregates from a period before the window to
    the look-ahead, the last event before the window and every event up to the look-ahead."""
    w0, ahead = T0_MS, T0_MS + 3600_000 + 1800_000
    aggs = [Aggregate(ts_s=x["ts_ms"] / 1000, period_s=x["period_s"], run_s=x["run_s"], idle_s=x["idle_s"],
                      off_s=x["off_s"], down_s=x["down_s"], pieces=x["pieces"], rejects=x["rejects"])
            for x in rows if w0 - P_MS <= x["ts_ms"] < ahead]
    before = [c for c in changes if c[0] < w0][-1:]
    events = [StateEvent(t / 1000, s, r) for t, s, r in [*before, *(c for c in changes if w0 <= c[0] < ahead)]]
    return machine_totals(aggs, events, W, planned=plan, observed=aggregate_observed(aggs, SpanSet()),
                          stop_threshold_s=threshold_s)


def assert_same(fast: MachineTotals, ref: MachineTotals) -> None:
    for f in fields(MachineTotals):
        a, b = getattr(fast, f.name), getattr(ref, f.name)
        if f.name == "downtime_s":
            assert [k for k, _ in a] == [k for k, _ in b], (a, b)
            assert all(abs(x - y) <= EPS_S for (_, x), (_, y) in zip(a, b, strict=True)), (a, b)
        else:
            assert abs(a - b) <= EPS_S, (f.name, a, b)


@settings(max_examples=400, deadline=None)
@given(changes=timelines(), threshold_min=st.one_of(st.integers(1, 8), st.integers(1, 30)), data=st.data(),
       pieces=st.lists(st.integers(0, 3), min_size=1, max_size=7))
def test_aggregate_path_equals_the_event_scan(changes: list[tuple[int, MachineState, str]], threshold_min: int,
                                              data: st.DataObject, pieces: list[int]) -> None:
    threshold_s = threshold_min * 60.0
    plan_spans = data.draw(st.composite(planned)())
    rows = edge_aggregates(changes, threshold_s, pieces)
    plan = SumPlan.of(W, plan_spans, period_s=60, threshold_s=threshold_s)
    fast = aggregate_totals(plan, all_sums(rows, plan), W, stop_threshold_s=threshold_s)
    if fast == BREAKDOWN:  # with the few events rules.aggregate_source reads for it
        at_start = may_be_down_at_start(plan, all_sums(rows, plan))
        fast = aggregate_totals(plan, all_sums(rows, plan), W, stop_threshold_s=threshold_s,
                                down_reasons=window_down_reasons(down_events(changes, at_start=at_start), W))
    ref = reference(rows, changes, plan_spans, threshold_s)
    if isinstance(fast, str):  # refused: only for what the sums cannot say
        inside = [x for x in rows if T0_MS <= x["ts_ms"] < T0_MS + 3600_000]
        limits = count_limits(P_MS)
        if any(x["breakdowns"] > limits[3]
               or x["rejects"] > limits[2] or x["pieces"] > limits[1] for x in inside):
            assert fast == "not every period observed", fast  # a period's counts beyond what packs
        else:  # an idle period with a reason
            assert fast == NOT_EXACT, fast
            assert any(x["idle_reason_s"] > 0 for x in inside)
        return
    assert_same(fast, ref)


def down_events(changes: list[tuple[int, MachineState, str]], *, at_start: bool) -> list[StateEvent]:
    """What down_selects reads: the window's ``machine_down`` events (the changes ingest copies
    there, seamline.storage.down_events) and the last one before the window when the machine may
    be down at its start."""
    w0, w1 = T0_MS, T0_MS + 3600_000
    copied = [c for i, c in enumerate(changes) if down_edge(c[1].value, changes[i - 1][1].value if i else None)]
    before = [c for c in copied if c[0] < w0][-1:] if at_start else []
    inside = [c for c in copied if w0 <= c[0] < w1]
    return [StateEvent(t / 1000, s, r) for t, s, r in [*before, *inside]]


def _down_hour() -> tuple[list[tuple[int, MachineState, str]], SumPlan, dict[Range, SpanSums]]:
    """Running, down for 10 minutes from 20 minutes into the hour, running again."""
    changes = [(START_MS - 60_000, MachineState.RUNNING, "none"),
               (T0_MS + 1_200_000, MachineState.DOWN, "breakdown.needle"),
               (T0_MS + 1_800_000, MachineState.RUNNING, "none")]
    plan = _hour_plan()
    return changes, plan, all_sums(edge_aggregates(changes, 300.0, [1]), plan)


def test_a_breakdown_takes_its_reasons_from_the_down_events() -> None:
    changes, plan, sums = _down_hour()
    assert aggregate_totals(plan, sums, W, stop_threshold_s=300.0) == BREAKDOWN
    assert not may_be_down_at_start(plan, sums)
    fast = aggregate_totals(plan, sums, W, stop_threshold_s=300.0,
                            down_reasons=window_down_reasons(down_events(changes, at_start=False), W))
    assert isinstance(fast, MachineTotals)
    assert fast.down_s == 600.0 and fast.breakdowns == 1
    assert dict(fast.downtime_s)["breakdown.needle"] == 600.0


@pytest.mark.parametrize("events", ["none", "only the end"])
def test_refuses_a_breakdown_whose_down_events_do_not_add_up(events: str) -> None:
    """Data stored before ingest wrote machine_down (none there), or an upgrade in the middle of the
    down (only the change out of it): the reasons' seconds are not the aggregates' down time."""
    changes, plan, sums = _down_hour()
    kept = [] if events == "none" else down_events(changes, at_start=False)[1:]
    assert aggregate_totals(plan, sums, W, stop_threshold_s=300.0,
                            down_reasons=window_down_reasons(kept, W)) == DOWN_MISMATCH


def test_a_stop_open_at_the_window_end_is_judged_by_its_whole_length() -> None:
    """Idle from 4 min before the end for 8 min (threshold 5 min): undecided when the window's last
    period was sent, a stop by the periods after it, so its 4 minutes in the window are stop."""
    end = T0_MS + 3600_000
    changes = [(START_MS - 60_000, MachineState.RUNNING, "none"), (end - 240_000, MachineState.IDLE, "none"),
               (end + 240_000, MachineState.RUNNING, "none")]
    rows = edge_aggregates(changes, 300.0, [1])
    plan_spans = SpanSet.single(T0_MS / 1000, end / 1000)
    plan = SumPlan.of(W, plan_spans, period_s=60, threshold_s=300.0)
    fast = aggregate_totals(plan, all_sums(rows, plan), W, stop_threshold_s=300.0)
    assert isinstance(fast, MachineTotals)
    assert fast.stop_s == 240.0 and fast.operating_s == 3600 - 240.0
    assert_same(fast, reference(rows, changes, plan_spans, 300.0))


def test_refuses_a_window_with_a_data_gap() -> None:
    changes = [(START_MS - 60_000, MachineState.RUNNING, "none")]
    rows = [r for r in edge_aggregates(changes, 300.0, [1]) if r["ts_ms"] != T0_MS + 600_000]
    plan = SumPlan.of(W, SpanSet.single(T0_MS / 1000, T0_MS / 1000 + 3600), period_s=60, threshold_s=300.0)
    fast = aggregate_totals(plan, all_sums(rows, plan), W, stop_threshold_s=300.0)
    assert fast == "not every period observed"


def _hour_plan() -> SumPlan:
    return SumPlan.of(W, SpanSet.single(T0_MS / 1000, T0_MS / 1000 + 3600), period_s=60, threshold_s=300.0)


def _steady_rows() -> list[dict[str, Any]]:
    return edge_aggregates([(START_MS - 60_000, MachineState.RUNNING, "none")], 300.0, [1])


def test_the_steady_hour_is_taken_from_the_sums() -> None:
    assert isinstance(aggregate_totals(_hour_plan(), all_sums(_steady_rows(), _hour_plan()), W,
                                       stop_threshold_s=300.0), MachineTotals)


def test_refuses_a_short_period_even_when_the_count_and_the_longest_period_fit() -> None:
    """A period cut to 30 s (an edge restart) and another aggregate in the hour: 60 aggregates,
    the longest 60 s, but two keys say a 30 s period."""
    rows = _steady_rows()
    cut = next(r for r in rows if r["ts_ms"] == T0_MS + 600_000)
    cut.update(period_s=30.0, state_known_s=30.0, run_s=30.0)
    rows.append({**cut, "ts_ms": T0_MS + 630_000})
    rows = [r for r in rows if r["ts_ms"] != T0_MS + 1_200_000]
    fast = aggregate_totals(_hour_plan(), all_sums(rows, _hour_plan()), W, stop_threshold_s=300.0)
    assert fast == "aggregates of another period or threshold, without the split, stale or replayed"


@pytest.mark.parametrize(("at_ms", "why"), [
    (T0_MS + 600_000, "aggregates of another period or threshold, without the split, stale or replayed"),
    (T0_MS - P_MS, "the period before a planned span missing or without the split"),
    (T0_MS + 3600_000 + P_MS, "aggregates after a planned span without the split, stale or replayed")],
    ids=["window", "before", "after"])
@pytest.mark.parametrize("quality", ["stale", "historical"])
def test_refuses_stale_or_replayed_aggregates_where_the_plan_reads_them(at_ms: int, why: str, quality: str) -> None:
    rows = _steady_rows()
    next(r for r in rows if r["ts_ms"] == at_ms)["quality"] = quality
    assert isinstance(aggregate_totals(_hour_plan(), all_sums(_steady_rows(), _hour_plan()), W,
                                       stop_threshold_s=300.0), MachineTotals)
    assert aggregate_totals(_hour_plan(), all_sums(rows, _hour_plan()), W, stop_threshold_s=300.0) == why


def test_refuses_a_window_of_aggregates_stored_without_the_sums_key() -> None:
    """Aggregates written before ingest derived the key: no keyed period is counted."""
    plan = _hour_plan()
    sums = all_sums(_steady_rows(), plan)
    sums = {rng: replace(s, count=0, key_min=0, key_max=0, run_idle_ms=0, off_down_ms=0, counts=0,
                         unavailable_stops_ms=0) for rng, s in sums.items()}
    assert aggregate_totals(plan, sums, W, stop_threshold_s=300.0) == "not every period observed"


@pytest.mark.parametrize("change", [{"stop_threshold_s": 240.0}, {"stop_threshold_s": 360.0}, {"drop": True}],
                         ids=["lower", "higher", "absent"])
def test_refuses_a_period_split_at_another_threshold_or_without_it(change: dict[str, Any]) -> None:
    rows = _steady_rows()
    odd = next(r for r in rows if r["ts_ms"] == T0_MS + 600_000)
    if change.get("drop"):
        del odd["stop_threshold_s"]
    else:
        odd.update(change)
    fast = aggregate_totals(_hour_plan(), all_sums(rows, _hour_plan()), W, stop_threshold_s=300.0)
    assert fast == "aggregates of another period or threshold, without the split, stale or replayed"


def test_refuses_a_window_longer_than_the_packed_sums_hold() -> None:
    """Three days of steady periods: each packed part's sum would still fit, but the rules sum
    packed fields only over windows of up to two days (seamline.storage.sewing_sums)."""
    w3 = Window.from_epoch_s(T0_MS / 1000, T0_MS / 1000 + 3 * 86_400)
    plan = SumPlan.of(w3, SpanSet(), period_s=60, threshold_s=300.0)
    steady = _steady_rows()[0]
    rows = [{**steady, "ts_ms": T0_MS + k * P_MS} for k in range(3 * 1440)]
    assert aggregate_totals(plan, all_sums(rows, plan), w3, stop_threshold_s=300.0) == \
        "a window longer than the packed sums' range (2 days)"
    w2 = Window.from_epoch_s(T0_MS / 1000, T0_MS / 1000 + 2 * 86_400)
    plan2 = SumPlan.of(w2, SpanSet(), period_s=60, threshold_s=300.0)
    assert isinstance(aggregate_totals(plan2, all_sums(rows, plan2), w2, stop_threshold_s=300.0), MachineTotals)
