"""Scoring a county method (pure): value → score → total → rank → grade, and what would move an
enterprise up a grade.

Per indicator of the enterprise's variant (the first whose ``when`` holds)::

    higher is better:  score = max(value, 0) / benchmark × weight
    lower is better:   score = benchmark / value × weight        (value ≤ 0 scores the cap)
    capped:            score = min(score, cap)

An indicator that cannot be computed (an input missing, a divisor 0) scores 0, or with
``when_missing: average`` the mean score of the enterprises graded with it that have one. The
total adds the adjustments (``expr`` × points per unit, clamped). Enterprises are ranked by total
(equal totals share a rank: 1, 2, 2, 4), per variant unless the rule says otherwise, then graded:

* ``thresholds``: the best grade whose lowest total the enterprise reaches;
* ``shares``: with ``n`` ranked, grade ``g`` goes to ranks ≤ round(n × the shares of g and all
  better grades) — rounding half up; tied enterprises share the better grade.

"Up a grade": the total to reach is the next better grade's threshold (``thresholds``) or the
total of the lowest-ranked enterprise now holding it (``shares``, others unchanged). For each
indicator alone, the value that adds the missing points (within its cap) is the step; the
smallest relative changes are listed. For an indicator ``a / b`` the same step as a change of
``b`` alone is given too (value added per tce +13.6 % ⇔ energy −12.0 %).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from seamline.grading.expression import Expression
from seamline.grading.method import Direction, Method, RuleKind, Scored, Variant, WhenMissing

# Totals this close are equal (sums of float products).
TIE = 1e-9


@dataclass(frozen=True, slots=True)
class Candidate:
    """One enterprise's annualised inputs and energy, and which of them are estimates."""

    enterprise: str
    name: str
    values: Mapping[str, float]
    estimated: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class IndicatorResult:
    indicator: str
    label: str
    unit: str
    value: float | None
    benchmark: float
    weight: float
    cap: float | None
    direction: Direction
    score: float
    estimated: bool
    filled: bool = False  # not computable: scored by the method's when_missing


@dataclass(frozen=True, slots=True)
class AdjustmentResult:
    adjustment: str
    label: str
    points: float


@dataclass(frozen=True, slots=True)
class Step:
    """This indicator alone at ``target_value`` reaches ``to_grade``."""

    indicator: str
    label: str
    change_pct: float | None  # None when the value is 0 or negative now
    target_value: float
    to_grade: str
    denominator: str | None = None  # for an indicator a / b: the same step as a change of b alone
    denominator_change_pct: float | None = None

    def text(self) -> str:
        change = f"{self.change_pct:+.1f} %" if self.change_pct is not None else f"to {self.target_value:.4g}"
        alt = (f" (or {self.denominator} {self.denominator_change_pct:+.1f} %)"
               if self.denominator and self.denominator_change_pct is not None else "")
        return f"{self.indicator} {change}{alt} → {self.to_grade}"


@dataclass(frozen=True, slots=True)
class GradeResult:
    enterprise: str
    name: str
    variant: str
    indicators: tuple[IndicatorResult, ...]
    adjustments: tuple[AdjustmentResult, ...]
    score: float
    rank: int
    ranked: int
    grade: str
    grade_index: int
    estimated: bool
    next_grade: tuple[Step, ...] = ()

    @property
    def advice(self) -> str:
        return "; ".join(s.text() for s in self.next_grade)


def indicator_score(value: float | None, *, benchmark: float, weight: float, cap: float | None,
                    direction: Direction) -> float:
    """Points of one indicator value (see the module doc); 0 for None."""
    if value is None:
        return 0.0
    if direction is Direction.HIGHER:
        raw = max(value, 0.0) / benchmark * weight
    elif value <= 0:
        return cap if cap is not None else weight
    else:
        raw = benchmark / value * weight
    return min(raw, cap) if cap is not None else raw


def required_value(score: float, *, benchmark: float, weight: float, direction: Direction) -> float | None:
    """The value that scores ``score`` points (uncapped inverse); None when no value does."""
    if weight <= 0 or score <= 0:
        return None
    if direction is Direction.HIGHER:
        return score * benchmark / weight
    return benchmark * weight / score


def variant_of(method: Method, values: Mapping[str, float]) -> Variant:
    """The first variant whose ``when`` is true (a condition that cannot be evaluated is false)."""
    for v in method.variants:
        if v.when is None or Expression(v.when).evaluate(values):
            return v
    raise AssertionError("the method's last variant has no condition")


def _scored(method: Method, s: Scored, cand: Candidate) -> IndicatorResult:
    ind = method.indicator(s.indicator)
    expr = Expression(ind.expr)
    value = expr.evaluate(cand.values)
    bench = s.benchmark or ind.benchmark
    score = indicator_score(value, benchmark=bench, weight=s.weight, cap=s.cap, direction=ind.direction)
    return IndicatorResult(ind.id, ind.label, ind.unit, value, bench, s.weight, s.cap, ind.direction, score,
                           estimated=bool(expr.names & cand.estimated), filled=value is None)


def _adjustments(method: Method, cand: Candidate) -> tuple[AdjustmentResult, ...]:
    out = []
    for a in method.adjustments:
        units = Expression(a.expr).evaluate(cand.values) or 0.0
        points = units * a.points_per_unit
        if a.min_points is not None:
            points = max(points, a.min_points)
        if a.max_points is not None:
            points = min(points, a.max_points)
        out.append(AdjustmentResult(a.id, a.label, points))
    return tuple(out)


def _fill_missing(method: Method, group: list[tuple[Candidate, Variant, list[IndicatorResult]]]) -> None:
    """Indicators marked ``when_missing: average`` that could not be computed score the mean of the
    group's computed ones (0 when none has one)."""
    averaged = {i.id for i in method.indicators if i.when_missing is WhenMissing.AVERAGE}
    for ind in averaged:
        scores = [r.score for _, _, rs in group for r in rs if r.indicator == ind and not r.filled]
        mean = sum(scores) / len(scores) if scores else 0.0
        for _, _, rs in group:
            for k, r in enumerate(rs):
                if r.indicator == ind and r.filled:
                    rs[k] = replace(r, score=min(mean, r.cap) if r.cap is not None else mean)


def competition_ranks(totals: Sequence[float]) -> list[int]:
    """Rank per total, best first; equal totals (within ``TIE``) share the better rank."""
    order = sorted(range(len(totals)), key=lambda i: -totals[i])
    ranks = [0] * len(totals)
    for pos, i in enumerate(order):
        prev = order[pos - 1] if pos else None
        ranks[i] = ranks[prev] if prev is not None and abs(totals[prev] - totals[i]) <= TIE else pos + 1
    return ranks


def share_counts(shares: Sequence[float], n: int) -> list[int]:
    """Ranks up to which each grade (best first, all but the last) reaches: round half up of n ×
    the cumulative share."""
    out, cumulative = [], 0.0
    for s in shares:
        cumulative += s
        out.append(math.floor(n * cumulative + 0.5 + TIE))
    return out


def grade_index(method: Method, total: float, rank: int, n: int) -> int:
    rule = method.grading
    better = rule.grades[:-1]
    if rule.kind is RuleKind.THRESHOLDS:
        return next((k for k, g in enumerate(better) if total >= rule.thresholds[g] - TIE), len(better))
    counts = share_counts([rule.shares[g] for g in better], n)
    return next((k for k, c in enumerate(counts) if rank <= c), len(better))


def _target(method: Method, index: int, totals: Sequence[float], indexes: Sequence[int]) -> float | None:
    """The total that reaches grade ``index - 1`` (None when it cannot be reached)."""
    rule = method.grading
    better = rule.grades[index - 1]
    if rule.kind is RuleKind.THRESHOLDS:
        return rule.thresholds[better]
    holders = [t for t, g in zip(totals, indexes, strict=True) if g <= index - 1]
    return min(holders) if holders else None


def _steps(method: Method, result: IndicatorResult, cand: Candidate, missing: float, to_grade: str) -> Step | None:
    if result.filled or result.weight <= 0 or result.value is None:
        return None
    wanted = result.score + missing
    if result.cap is not None and wanted > result.cap + TIE:
        return None
    target = required_value(wanted, benchmark=result.benchmark, weight=result.weight, direction=result.direction)
    if target is None:
        return None
    change = (target / result.value - 1.0) * 100.0 if result.value > 0 else None
    ratio = Expression(method.indicator(result.indicator).expr).ratio
    denom_change = (result.value / target - 1.0) * 100.0 if ratio and change is not None and target > 0 else None
    return Step(result.indicator, result.label, change, target, to_grade, ratio[1] if ratio else None, denom_change)


def _next_grade(method: Method, res: GradeResult, cand: Candidate, target: float | None) -> tuple[Step, ...]:
    if res.grade_index == 0 or target is None or method.next_grade_steps == 0:
        return ()
    missing = target - res.score
    to = method.grading.grades[res.grade_index - 1]
    steps = [s for r in res.indicators if (s := _steps(method, r, cand, missing, to)) is not None]
    steps.sort(key=lambda s: (s.change_pct is None, abs(s.change_pct or 0.0)))
    return tuple(steps[:method.next_grade_steps])


def _grade_group(method: Method, group: list[tuple[Candidate, Variant, list[IndicatorResult]]]) -> list[GradeResult]:
    _fill_missing(method, group)
    adjustments = [_adjustments(method, c) for c, _, _ in group]
    totals = [sum(r.score for r in rs) + sum(a.points for a in adj) for (_, _, rs), adj in zip(group, adjustments,
                                                                                                 strict=True)]
    ranks = competition_ranks(totals)
    n = len(group)
    indexes = [grade_index(method, t, r, n) for t, r in zip(totals, ranks, strict=True)]
    out = []
    for (cand, variant, rs), adj, total, rank, idx in zip(group, adjustments, totals, ranks, indexes, strict=True):
        res = GradeResult(cand.enterprise, cand.name, variant.id, tuple(rs), adj, total, rank, n,
                          method.grading.grades[idx], idx, estimated=any(r.estimated for r in rs))
        target = _target(method, idx, totals, indexes) if idx > 0 else None
        out.append(replace(res, next_grade=_next_grade(method, res, cand, target)))
    return out


def grade_all(method: Method, candidates: Sequence[Candidate]) -> list[GradeResult]:
    """Every candidate scored, ranked and graded; ordered by variant (as the method lists them,
    when ranked per variant), then rank."""
    scored = []
    for cand in candidates:
        variant = variant_of(method, cand.values)
        scored.append((cand, variant, [_scored(method, s, cand) for s in variant.indicators]))
    if method.grading.rank_within_variant:
        groups = [[x for x in scored if x[1].id == v.id] for v in method.variants]
    else:
        groups = [scored]
    out = [r for g in groups if g for r in _grade_group(method, g)]
    order = {v.id: k for k, v in enumerate(method.variants)} if method.grading.rank_within_variant else {}
    return sorted(out, key=lambda r: (order.get(r.variant, 0), r.rank, r.enterprise))
