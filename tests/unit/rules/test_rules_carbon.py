"""Carbon per piece (pure): a line's share of its site by sub-meters or by pieces, and an order's
CO2e from the days a plan puts its pieces on."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from seamline.rules.coverage import Coverage
from seamline.rules.kpi.carbon import PlannedPieces, line_carbon_kpi, line_shares, order_carbon
from seamline.rules.windows import Window

WIN = Window(datetime(2026, 9, 30, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))


def test_shares_from_the_sub_meters_when_every_line_has_one() -> None:
    shares, by_pieces = line_shares({"l1": 30.0, "l2": 10.0}, {"l1": 100, "l2": 300})
    assert shares == {"l1": 0.75, "l2": 0.25} and not by_pieces


def test_shares_by_pieces_when_a_line_has_no_sub_meter() -> None:
    shares, by_pieces = line_shares({"l1": 30.0, "l2": None}, {"l1": 100, "l2": 300})
    assert shares == {"l1": 0.25, "l2": 0.75} and by_pieces
    shares, by_pieces = line_shares({"l1": None}, {"l1": 0})
    assert shares == {"l1": 0.0} and by_pieces


def test_line_carbon_per_piece() -> None:
    """The site took 40 kWh from the grid, 22.812 kg CO2e at 0.5703; a line with 75 % of the lines'
    metered kWh and 120 pieces carries 17.109 kg, 0.14258 kg per piece."""
    res = line_carbon_kpi(share=0.75, split_by_pieces=False, site_grid_kwh=40.0, site_co2e_kg=40 * 0.5703,
                          site_green_share=0.6, pieces=120, window=WIN, coverage=Coverage(1, 1), coverage_threshold=0.8)
    assert res["grid_kwh"] == 30.0 and res["co2e_kg"] == pytest.approx(17.109)
    assert res["co2e_kg_per_piece"] == pytest.approx(17.109 / 120) and res.flags == frozenset()
    none = line_carbon_kpi(share=0.5, split_by_pieces=True, site_grid_kwh=1, site_co2e_kg=1, site_green_share=None,
                           pieces=0, window=WIN, coverage=Coverage(1, 1), coverage_threshold=0.8)
    assert none["co2e_kg_per_piece"] is None and {f.value for f in none.flags} == {"split_by_pieces"}


def test_order_carbon_uses_each_days_figure_or_the_latest_before_it() -> None:
    """Line A measured 0.10 kg/piece on 1 Oct and 0.12 on 3 Oct; B never.
    200 pieces on A 1 Oct: 20 kg; 100 on A 2 Oct: 1 Oct's figure, 10 kg (estimated); 50 on A 5 Oct:
    3 Oct's, 6 kg (estimated); 30 on A 30 Sep: before any measurement, the earliest, 3 kg (estimated);
    40 on B: no figure. Total 39 kg for 380 pieces, 40 without figure."""
    a, b = ("f1", "s1", "l1"), ("f2", "s1", "l1")
    per = {a: [(date(2026, 10, 3), 0.12), (date(2026, 10, 1), 0.10)]}
    planned = [PlannedPieces(a, date(2026, 10, 1), 200), PlannedPieces(a, date(2026, 10, 2), 100),
               PlannedPieces(a, date(2026, 10, 5), 50), PlannedPieces(a, date(2026, 9, 30), 30),
               PlannedPieces(b, date(2026, 10, 1), 40)]
    got = order_carbon(planned, per)
    assert got.co2e_kg == pytest.approx(39.0)
    assert (got.pieces, got.pieces_without_figure, got.estimated_pieces) == (420, 40, 180)
