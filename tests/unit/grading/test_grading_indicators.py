"""Every indicator of the sample method with worked numbers (by hand, in each case's comment), the
score formula in both directions with caps, ranks, share counts, thresholds, adjustments and the
"average" rule for missing figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import seamline.grading
from seamline.grading.expression import Expression
from seamline.grading.method import Direction, load_method, parse_method
from seamline.grading.scoring import (
    Candidate,
    competition_ranks,
    grade_all,
    indicator_score,
    required_value,
    share_counts,
)

SAMPLE = load_method(Path(seamline.grading.__file__).parent / "samples" / "linhai-2014.yaml")


def _value(indicator: str, **values: float) -> float | None:
    return Expression(SAMPLE.indicator(indicator).expr).evaluate(values)


@pytest.mark.parametrize(("indicator", "values", "value", "weight", "score"), [
    # tax 60 万元 on 4 mu = 15 万元/mu: the benchmark, so the full weight 40
    ("tax_per_mu", {"tax_10k_yuan": 60, "land_mu": 4}, 15.0, 40, 40.0),
    # tax 90 万元 on 4 mu = 22.5 万元/mu: 22.5 / 15 × 40 = 60
    ("tax_per_mu", {"tax_10k_yuan": 90, "land_mu": 4}, 22.5, 40, 60.0),
    # sales 900 万元 on 4 mu = 225 万元/mu: 225 / 300 × 10 = 7.5
    ("sales_per_mu", {"sales_10k_yuan": 900, "land_mu": 4}, 225.0, 10, 7.5),
    # value added 240 万元 over 40 tce = 6 万元/tce: 6 / 3 × 20 = 40 (the cap, twice the weight)
    ("va_per_tce", {"value_added_10k_yuan": 240, "energy_tce": 40}, 6.0, 20, 40.0),
    # value added 240 万元 per 0.8 t COD = 300 万元/t: 300 / 500 × 15 = 9
    ("va_per_cod", {"value_added_10k_yuan": 240, "cod_t": 0.8}, 300.0, 15, 9.0),
    # value added 240 万元 per 3 000 t water = 0.08 万元/t: 0.08 / 0.1 × 5 = 4
    ("va_per_water", {"value_added_10k_yuan": 240, "water_t": 3000}, 0.08, 5, 4.0),
    # value added 240 万元 by 20 people = 12 万元 per person-year: 12 / 15 × 10 = 8
    ("labour_productivity", {"value_added_10k_yuan": 240, "employees": 20}, 12.0, 10, 8.0),
    # small plots: tax 5 万元 = 50 000 元 over 20 000 kWh = 2.5 元/kWh: 2.5 / 2 × 30 = 37.5
    ("tax_per_kwh", {"tax_10k_yuan": 5, "energy_kwh": 20_000}, 2.5, 30, 37.5),
])
def test_each_sample_indicator(indicator: str, values: dict[str, float], value: float, weight: float,
                               score: float) -> None:
    got = _value(indicator, **values)
    assert got == pytest.approx(value)
    caps = {s.indicator: s for v in SAMPLE.variants for s in v.indicators if s.weight == weight}
    scored = caps[indicator]
    assert indicator_score(got, benchmark=SAMPLE.indicator(indicator).benchmark, weight=scored.weight,
                           cap=scored.cap, direction=Direction.HIGHER) == pytest.approx(score)


def test_missing_inputs_and_zero_divisors_make_an_indicator_not_computable() -> None:
    assert _value("va_per_cod", value_added_10k_yuan=240) is None  # no COD figure
    assert _value("va_per_cod", value_added_10k_yuan=240, cod_t=0) is None  # no COD discharged
    assert indicator_score(None, benchmark=1, weight=10, cap=None, direction=Direction.HIGHER) == 0.0


def test_electricity_counts_in_standard_coal_at_the_calorific_equivalent() -> None:
    """GB/T 2589-2020: 0.1229 kgce/kWh, so 1 000 000 kWh = 122.9 tce."""
    from seamline.grading.energy import kwh_to_tce

    assert SAMPLE.electricity_kgce_per_kwh == 0.1229
    assert kwh_to_tce(1_000_000, 0.1229) == pytest.approx(122.9)
    assert kwh_to_tce(1_000_000, 0.3) == pytest.approx(300.0)  # a county counting the equal value


def test_lower_is_better_and_caps() -> None:
    # energy per value added 0.25 tce/万元 against a benchmark 0.5 at weight 20: 0.5 / 0.25 × 20 = 40
    assert indicator_score(0.25, benchmark=0.5, weight=20, cap=None, direction=Direction.LOWER) == pytest.approx(40)
    assert indicator_score(0.25, benchmark=0.5, weight=20, cap=30, direction=Direction.LOWER) == 30
    assert indicator_score(0.0, benchmark=0.5, weight=20, cap=30, direction=Direction.LOWER) == 30
    assert indicator_score(-5.0, benchmark=1, weight=10, cap=None, direction=Direction.HIGHER) == 0.0
    assert required_value(30, benchmark=0.5, weight=20, direction=Direction.LOWER) == pytest.approx(1 / 3)
    assert required_value(30, benchmark=15, weight=40, direction=Direction.HIGHER) == pytest.approx(11.25)
    assert required_value(30, benchmark=15, weight=0, direction=Direction.HIGHER) is None


@given(st.floats(0.01, 1e4), st.floats(0.01, 1e3), st.floats(0.1, 100), st.sampled_from(list(Direction)))
def test_required_value_inverts_the_uncapped_score(value: float, benchmark: float, weight: float,
                                                   direction: Direction) -> None:
    score = indicator_score(value, benchmark=benchmark, weight=weight, cap=None, direction=direction)
    assert required_value(score, benchmark=benchmark, weight=weight, direction=direction) == pytest.approx(value)


def test_competition_ranks_share_ties() -> None:
    assert competition_ranks([50.0, 70.0, 70.0, 10.0]) == [3, 1, 1, 4]
    assert competition_ranks([5.0]) == [1]
    assert competition_ranks([1.0, 1.0 + 1e-12]) == [1, 1]  # float noise is a tie


@pytest.mark.parametrize(("n", "counts"), [
    (10, [2, 7, 9]),  # 2, 7, 9 exactly
    (5, [1, 4, 5]),  # 1.0, 3.5 -> 4, 4.5 -> 5 (half up)
    (3, [1, 2, 3]),  # 0.6 -> 1, 2.1 -> 2, 2.7 -> 3
    (2, [0, 1, 2]),  # 0.4 -> 0: two enterprises never share out an A
    (1, [0, 1, 1]),
])
def test_share_counts_round_half_up(n: int, counts: list[int]) -> None:
    assert share_counts([0.2, 0.5, 0.2], n) == counts


def _method(**grading: Any) -> Any:
    return parse_method({
        "id": "t", "name": "t", "source": "test",
        "indicators": [{"id": "tax_per_mu", "label": "亩均税收", "expr": "tax / land_mu", "benchmark": 10},
                       {"id": "va_per_tce", "label": "单位能耗增加值", "expr": "va / energy_tce", "benchmark": 2,
                        "when_missing": "average"}],
        "variants": [{"id": "all", "label": "all", "indicators": [
            {"indicator": "tax_per_mu", "weight": 60, "cap": 90}, {"indicator": "va_per_tce", "weight": 40}]}],
        "adjustments": [{"id": "penalty", "label": "违法违规", "expr": "violations", "points_per_unit": -10,
                         "min_points": -15}],
        "grading": {"kind": "thresholds", "grades": ["A", "B", "C", "D"], "thresholds": {"A": 90, "B": 60, "C": 30},
                    **grading},
    })


def test_thresholds_adjustments_and_averaged_missing_values() -> None:
    """tax/mu (10, 60, cap 90) + VA/tce (2, 40, average when missing); −10 per violation, at most −15.

    a: 12/1 = 12 → 72; 3/1 = 3 → 60; total 132 → A.
    b: 5/1 = 5 → 30; no energy → the mean of a and c, (60 + 20) / 2 = 40; 3 violations → −30, clamped −15; 55 → C.
    c: 9/1 = 9 → 54; 1/1 = 1 → 20; 74 → B; up to A (90) is +16: tax/mu 54 → 70 points = 11.667 (+29.6 %),
       or VA/tce 20 → 36 = 1.8 (+80 %).
    """
    m = _method()
    cands = [Candidate("a", "", {"tax": 12, "land_mu": 1, "va": 3, "energy_tce": 1}),
             Candidate("b", "", {"tax": 5, "land_mu": 1, "va": 3, "violations": 3}),
             Candidate("c", "", {"tax": 9, "land_mu": 1, "va": 1, "energy_tce": 1})]
    got = {r.enterprise: r for r in grade_all(m, cands)}
    assert {k: (round(r.score, 6), r.grade, r.rank) for k, r in got.items()} == {
        "a": (132.0, "A", 1), "b": (55.0, "C", 3), "c": (74.0, "B", 2)}
    assert got["b"].indicators[1].filled and got["b"].indicators[1].score == pytest.approx(40.0)
    assert got["b"].adjustments[0].points == -15.0
    steps = got["c"].next_grade
    assert [(s.indicator, s.to_grade) for s in steps] == [("tax_per_mu", "A"), ("va_per_tce", "A")]
    assert [s.change_pct for s in steps] == pytest.approx([29.6296, 80.0], abs=1e-3)
    assert got["a"].next_grade == ()


def test_a_tie_at_the_share_boundary_gives_both_the_better_grade() -> None:
    m = _method(kind="shares", thresholds={}, shares={"A": 0.25, "B": 0.25, "C": 0.25})
    cands = [Candidate(e, "", {"tax": t, "land_mu": 1, "va": 2, "energy_tce": 1})
             for e, t in (("w", 20), ("x", 10), ("y", 10), ("z", 1))]
    got = {r.enterprise: (r.rank, r.grade) for r in grade_all(m, cands)}
    # n = 4: A up to rank 1, B up to 2, C up to 3; x and y share rank 2
    assert got == {"w": (1, "A"), "x": (2, "B"), "y": (2, "B"), "z": (4, "D")}
