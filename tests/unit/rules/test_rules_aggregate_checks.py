"""rules.aggregate_checks: checks a batch passes as a whole decide every machine exactly as its own
sums would. A batch of machines (Hypothesis: the event streams of test_rules_aggregate_path, some
machines' aggregates altered the ways the per-machine checks refuse) is read both ways — every
sum per machine (the plan's ``needs``), and the KPI sums per machine plus one answer row per range
for the whole batch, then per machine only what the batch did not pass — and every machine must
get the same totals or the same refusal. InfluxQL's SUM/COUNT/MIN/MAX are computed here; the real
statements run in tests/integration/rules/test_rules_aggregate_influx.py."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from seamline.rules.aggregate_checks import (
    ALL,
    batch_aggregates,
    fallback_needs,
    grouped_needs,
    merged,
    verified,
)
from seamline.rules.aggregate_kpi import Check, Range, SpanSums, SumPlan, aggregate_totals
from seamline.rules.spans import SpanSet
from tests.unit.rules.test_rules_aggregate_path import (
    T0_MS,
    W,
    _steady_rows,
    all_sums,
    edge_aggregates,
    planned,
    sums_of,
    timelines,
)

ALTERATIONS = ["none", "threshold", "no split", "cut period", "unknown state", "idle reason", "unobserved",
               "stale", "gap"]


def altered(rows: list[dict[str, Any]], how: str, at_ms: int) -> list[dict[str, Any]]:
    """``rows`` with the period at ``at_ms`` changed the way ``how`` names."""
    out = [dict(r) for r in rows if not (how == "gap" and r["ts_ms"] == at_ms)]
    odd = next((r for r in out if r["ts_ms"] == at_ms), None)
    if odd is None:
        return out
    match how:
        case "threshold":
            odd["stop_threshold_s"] = odd.get("stop_threshold_s", 300.0) + 60.0
        case "no split":
            odd.pop("stop_threshold_s", None)
        case "cut period":
            odd.update(period_s=30.0, state_known_s=min(odd.get("state_known_s", 30.0), 30.0))
        case "unknown state":
            odd["state_known_s"] = max(0.0, odd.get("state_known_s", 60.0) - 5.0)
        case "idle reason":
            odd["idle_reason_s"] = 12.0
        case "unobserved":
            odd.update(pieces_unobserved=2, unobserved_s=20.0)
        case "stale":
            odd["quality"] = "stale"
    return out


def batch_row(rows: list[dict[str, Any]], rng: Range, pairs: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """What the ungrouped statement answers: every machine's rows starting in ``rng``."""
    inside = [r for r in rows if rng[0] <= r["ts_ms"] < rng[1]]
    out: dict[str, Any] = {}
    for fn, field in pairs:
        values = [r[field] for r in inside if field in r]
        out[f"{fn}_{field}"] = len(values) if fn == "count" else ((min if fn == "min" else max)(values)
                                                                  if values else None)
    return out


def not_good(rows: list[dict[str, Any]], plan: SumPlan) -> int:
    w0, w1 = plan.window
    return sum(1 for r in rows if w0 - plan.period_ms <= r["ts_ms"] < w1 + plan.threshold_ms
               and r.get("quality") in ("stale", "historical"))


def full(rows: list[dict[str, Any]], plan: SumPlan) -> dict[Range, SpanSums]:
    bad = not_good(rows, plan)
    return {rng: merged(s, {"not_good": bad}) for rng, s in all_sums(rows, plan).items()}


def by_batch(machines: list[list[dict[str, Any]]], plan: SumPlan,
             threshold_s: float) -> tuple[list[dict[Range, SpanSums]], frozenset[Check]]:
    """Each machine's sums as rules.aggregate_source.fetch_sums reads them, and the batch's checks."""
    everyone = [r for rows in machines for r in rows]
    parts = plan.parts()
    answers = {rng: batch_row(everyone, rng, batch_aggregates(p)) for rng, p in parts.items() if batch_aggregates(p)}
    checks = verified(plan, answers, not_good=not_good(everyone, plan), threshold_s=threshold_s)
    out = []
    for rows in machines:
        sums = {rng: sums_of(rows, rng, names) for rng, names in grouped_needs(plan).items() if names}
        for rng, names in fallback_needs(plan, ALL - checks).items():
            extra = sums_of(rows, rng, names)
            sums[rng] = merged(sums.get(rng), {n: getattr(extra, n) for n in names})
        if Check.GOOD not in checks:
            bad = not_good(rows, plan)
            sums = {rng: merged(s, {"not_good": bad}) for rng, s in sums.items()}
        out.append(sums)
    return out, checks


@settings(max_examples=300, deadline=None)
@given(streams=st.lists(timelines(), min_size=1, max_size=3), threshold_min=st.integers(1, 8), data=st.data())
def test_a_batch_decides_every_machine_as_its_own_sums(streams: list[Any], threshold_min: int,
                                                       data: st.DataObject) -> None:
    threshold_s = threshold_min * 60.0
    plan = SumPlan.of(W, data.draw(st.composite(planned)()), period_s=60, threshold_s=threshold_s)
    machines = []
    for changes in streams:
        how = data.draw(st.sampled_from(ALTERATIONS))
        at_ms = T0_MS + data.draw(st.integers(-2, 64)) * 60_000
        machines.append(altered(edge_aggregates(changes, threshold_s, [1, 0, 2]), how, at_ms))
    batched, checks = by_batch(machines, plan, threshold_s)
    for rows, sums in zip(machines, batched, strict=True):
        expected = aggregate_totals(plan, full(rows, plan), W, stop_threshold_s=threshold_s)
        assert aggregate_totals(plan, sums, W, stop_threshold_s=threshold_s, verified=checks) == expected, checks


def test_a_steady_batch_passes_every_check_and_reads_12_sums_per_machine_hour() -> None:
    plan = SumPlan.of(W, SpanSet.single(T0_MS / 1000, T0_MS / 1000 + 3600), period_s=60, threshold_s=300.0)
    (sums, _), checks = by_batch([_steady_rows(), _steady_rows()], plan, 300.0)
    assert checks == ALL and fallback_needs(plan, ALL - checks) == {}
    assert not isinstance(aggregate_totals(plan, sums, W, stop_threshold_s=300.0, verified=checks), str)
    needs = grouped_needs(plan)
    assert sum(len(n) for n in needs.values()) == 17  # against 28 + the stale count when every sum is read
    assert len(needs[plan.window]) == 12
    assert sum(len(n) for n in plan.needs().values()) == 28


def test_one_machine_with_another_threshold_fails_the_batch_check_and_only_it_is_refused() -> None:
    plan = SumPlan.of(W, SpanSet.single(T0_MS / 1000, T0_MS / 1000 + 3600), period_s=60, threshold_s=300.0)
    odd = altered(_steady_rows(), "threshold", T0_MS + 600_000)
    (steady, other), checks = by_batch([_steady_rows(), odd], plan, 300.0)
    assert Check.SPLIT not in checks and Check.PERIODS in checks
    assert set(fallback_needs(plan, ALL - checks)[plan.window]) == {"threshold_sum_s", "threshold_max_s"}
    assert not isinstance(aggregate_totals(plan, steady, W, stop_threshold_s=300.0, verified=checks), str)
    assert aggregate_totals(plan, other, W, stop_threshold_s=300.0, verified=checks) == (
        "aggregates without the split at this threshold")


def test_a_cut_period_before_a_span_fails_the_batch_check_though_the_batch_longest_is_whole() -> None:
    """The span starts with the window; one machine's period before it (outside the window) was
    cut to 30 s. The batch's longest period there is still 60 s, so only its least one tells."""
    plan = SumPlan.of(W, SpanSet.single(T0_MS / 1000, T0_MS / 1000 + 1200), period_s=60, threshold_s=300.0)
    cut = altered(_steady_rows(), "cut period", T0_MS - 60_000)
    (steady, other), checks = by_batch([_steady_rows(), cut], plan, 300.0)
    assert Check.PERIODS not in checks
    assert not isinstance(aggregate_totals(plan, steady, W, stop_threshold_s=300.0, verified=checks), str)
    expected = aggregate_totals(plan, full(cut, plan), W, stop_threshold_s=300.0)
    assert expected == "the period before a planned span missing or without the split"
    assert aggregate_totals(plan, other, W, stop_threshold_s=300.0, verified=checks) == expected
