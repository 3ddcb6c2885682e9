"""The method file: expressions that cannot run code, and every configuration mistake named with
its key; periods; the energy nowcast; the candidates' annualised figures."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from seamline.grading.candidates import build_candidates
from seamline.grading.energy import PeriodEnergy, nowcast
from seamline.grading.expression import Expression, ExpressionError
from seamline.grading.inputs import CountyInputs, InputRow
from seamline.grading.method import MethodError, load_method, parse_method
from seamline.grading.period import Period, PeriodError


def test_expressions_evaluate_and_name_their_inputs() -> None:
    e = Expression("tax_10k_yuan * 10000 / energy_kwh")
    assert e.names == {"tax_10k_yuan", "energy_kwh"}
    assert e.evaluate({"tax_10k_yuan": 5, "energy_kwh": 20_000}) == 2.5
    assert e.evaluate({"tax_10k_yuan": 5}) is None and e.evaluate({"tax_10k_yuan": 5, "energy_kwh": 0}) is None
    assert Expression("a / b").ratio == ("a", "b") and Expression("a * 2 / b").ratio is None
    assert Expression("land_mu < 3").evaluate({"land_mu": 2.5}) == 1.0
    assert Expression("land_mu < 3").evaluate({"land_mu": 3}) == 0.0
    assert Expression("-(a - 2) + 1.5").evaluate({"a": 1}) == 2.5


@pytest.mark.parametrize("text", [
    "__import__('os').system('x')", "a.b", "f(a)", "a ** 2", "a if b else c", "[a]", "'x'", "a < b < c",
    "_secret", "a and b", "lambda: 1", "a; b", "", "x" * 301,
])
def test_expressions_refuse_everything_else(text: str) -> None:
    with pytest.raises(ExpressionError):
        Expression(text)


def _method(**change: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "m", "name": "m", "source": "test",
        "indicators": [{"id": "tax_per_mu", "label": "亩均税收", "expr": "tax / land_mu", "benchmark": 15}],
        "variants": [{"id": "small", "label": "s", "when": "land_mu < 3", "indicators": [
            {"indicator": "tax_per_mu", "weight": 100}]},
            {"id": "all", "label": "all", "indicators": [{"indicator": "tax_per_mu", "weight": 40}]}],
        "grading": {"kind": "thresholds", "grades": ["A", "B"], "thresholds": {"A": 30}},
    }
    doc.update(change)
    return doc


@pytest.mark.parametrize(("change", "message"), [
    ({"indicators": [{"id": "x", "label": "x", "expr": "open('f')", "benchmark": 1}]}, r"indicators\[0\]\.expr"),
    ({"indicators": [{"id": "tax_per_mu", "label": "t", "expr": "tax", "benchmark": 0}]},
     r"indicators\[0\]\.benchmark"),
    ({"variants": [{"id": "all", "label": "a", "indicators": [{"indicator": "nope", "weight": 1}]}]},
     "unknown indicators"),
    ({"variants": [{"id": "a", "label": "a", "indicators": [{"indicator": "tax_per_mu", "weight": 1}]},
                   {"id": "b", "label": "b", "indicators": [{"indicator": "tax_per_mu", "weight": 1}]}]},
     "only the last variant"),
    ({"grading": {"kind": "thresholds", "grades": ["A", "B", "C"], "thresholds": {"A": 30, "B": 40}}},
     "fall strictly"),
    ({"grading": {"kind": "thresholds", "grades": ["A", "B", "C"], "thresholds": {"A": 30}}}, "needed for exactly"),
    ({"grading": {"kind": "shares", "grades": ["A", "B", "C"], "shares": {"A": 0.6, "B": 0.6}}}, "sum to at most 1"),
    ({"grading": {"kind": "shares", "grades": ["A", "B"], "shares": {"A": 0.5}, "thresholds": {"A": 1}}},
     "not the other kind"),
    ({"indicators": [{"id": "tax_per_mu", "label": "t", "expr": "e / v", "benchmark": 1, "direction": "lower"}]},
     "need a cap"),
    ({"colour": "red"}, "colour"),
])
def test_method_mistakes_are_named(change: dict[str, Any], message: str) -> None:
    with pytest.raises(MethodError, match=message):
        parse_method(_method(**change), source="m.yaml")


def test_method_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_text("id: [unclosed\n")
    with pytest.raises(MethodError, match=r"m\.yaml: line 2, column 1: not valid YAML"):
        load_method(bad)


@pytest.mark.parametrize(("text", "start", "end", "days"), [
    ("2026", date(2026, 1, 1), date(2026, 12, 31), 365),
    ("2024H1", date(2024, 1, 1), date(2024, 6, 30), 182),
    ("2026H2", date(2026, 7, 1), date(2026, 12, 31), 184),
    ("2026Q3", date(2026, 7, 1), date(2026, 9, 30), 92),
    ("2024Q1", date(2024, 1, 1), date(2024, 3, 31), 91),
    ("2026-02", date(2026, 2, 1), date(2026, 2, 28), 28),
    ("2024-02", date(2024, 2, 1), date(2024, 2, 29), 29),
])
def test_periods(text: str, start: date, end: date, days: int) -> None:
    p = Period.parse(text)
    assert (p.start, p.end, p.days) == (start, end, days)
    assert p.annualise == pytest.approx(p.year_days / days)


@pytest.mark.parametrize("text", ["2026Q5", "26Q1", "2026-13", "2026H3", "Q3", "2026 Q3"])
def test_bad_periods(text: str) -> None:
    with pytest.raises(PeriodError):
        Period.parse(text)


def test_nowcast_extrapolates_the_days_measured_and_says_so() -> None:
    q = Period.parse("2026Q3")  # 92 days
    days = {date(2026, 7, 1) + timedelta(days=i): 100.0 + i for i in range(10)}  # 1 045 kWh in 10 days
    got = nowcast({**days, date(2026, 6, 30): 999.0}, q)  # a day outside the quarter is ignored
    assert got == PeriodEnergy(kwh=pytest.approx(104.5 * 92), measured_kwh=1045.0, measured_days=10,
                               period_days=92, estimated=True)
    full = {q.start + timedelta(days=i): 10.0 for i in range(92)}
    assert nowcast(full, q) == PeriodEnergy(920.0, 920.0, 92, 92, False)
    assert nowcast({}, q).kwh is None


def test_candidates_annualise_flows_borrow_an_earlier_period_and_nowcast_energy() -> None:
    """Q2 figures (91 days) graded for Q3 (92 days): tax 10 万元 × 365/91 = 40.11 万元 a year, borrowed
    (estimated); land from the master data; 1 000 kWh measured in 10 of 92 days → 9 200 kWh in the
    quarter, × 365/92 = 36 500 kWh a year = 4.486 tce, + other 2 tce × 365/91."""
    method = load_method(Path(__file__).parents[3] / "grading" / "samples" / "linhai-2014.yaml")
    q2, q3 = Period.parse("2026Q2"), Period.parse("2026Q3")
    row = InputRow(2, "f1", q2, "F1", {"tax_10k_yuan": 10.0, "employees": 12.0, "other_energy_tce": 2.0})
    inputs = CountyInputs("x.csv", "utf-8", (row,), (), ())
    energy = {"f1": PeriodEnergy(9200.0, 1000.0, 10, 92, True)}
    (cand,), (prov,), notes = build_candidates(method, inputs, q3, energy, {"f1": 4.0})
    assert notes == []
    assert cand.values["tax_10k_yuan"] == pytest.approx(10 * 365 / 91)
    assert cand.values["employees"] == 12.0  # a stock, not annualised
    assert cand.values["land_mu"] == 4.0
    assert cand.values["energy_kwh"] == pytest.approx(36_500.0)
    assert cand.values["energy_tce"] == pytest.approx(36_500 * 0.1229 / 1000 + 2 * 365 / 91)
    assert {"tax_10k_yuan", "energy_kwh", "energy_tce"} <= cand.estimated
    assert prov.inputs_estimated and prov.inputs_period == "2026Q2" and prov.energy_kwh == 9200.0
    assert prov.energy_source == "meters (nowcast from 10/92 days)"
    # its own period's figures and a whole quarter measured: nothing estimated
    own = InputRow(3, "f1", q3, "F1", {"tax_10k_yuan": 10.0})
    (cand,), _, _ = build_candidates(method, CountyInputs("x", "utf-8", (row, own), (), ()), q3,
                                     {"f1": PeriodEnergy(9200.0, 9200.0, 92, 92, False)}, {})
    assert cand.estimated == frozenset() and cand.values["tax_10k_yuan"] == pytest.approx(10 * 365 / 92)
    _, _, notes = build_candidates(method, CountyInputs("x", "utf-8", (own,), (), ()), Period.parse("2026Q1"), {}, {})
    assert notes == ["f1: no figures for 2026Q1 or an earlier period: not graded"]
