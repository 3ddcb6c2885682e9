"""Green energy matched hour by hour (pure): worked hours, certificates through a month and into
the next, the park's surplus and unassigned share, and the balance every hour keeps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.rules.coverage import Coverage
from seamline.rules.kpi.green_attribution import (
    Contract,
    SiteHours,
    green_energy_kpi,
    green_source_kpi,
    match_hours,
)
from seamline.rules.windows import Window

WIN = Window(datetime(2026, 9, 30, 8, tzinfo=UTC), datetime(2026, 9, 30, 12, tzinfo=UTC))
MONTHS = ("2026-09",) * 4


def test_vppa_shares_are_matched_hour_by_hour_not_over_the_day() -> None:
    """Park delivers 1000, 0, 200, 500 kWh; factory a holds 1 %, b 2 %.

    a consumes 6, 6, 6, 6: VPPA min(10, 6) = 6, min(0, 6) = 0, min(2, 6) = 2, min(5, 6) = 5 → 13 green
      of 24 (54.2 %), grid 11. Matched over the window instead, 1 % of 1 700 = 17 kWh would count 17 of
      24 (70.8 %) green, the calm hour included. Surplus 10 − 6 = 4.
    b consumes 10, 10, 2, 10 with 1 kWh own PV in hour 4: need 10, 10, 2, 9; VPPA min(20, 10) = 10, 0,
      min(4, 2) = 2, min(10, 9) = 9 → green 10 + 0 + 2 + 9 + 1 (own) = 22 of 32; surplus 10 + 2 + 1 = 13.
    Park: delivered 1 700, attributed 13 + 21 = 34, surplus 4 + 13 = 17, no one's 97 % = 1 649.
    """
    sites = {"a": SiteHours((6, 6, 6, 6), (0, 0, 0, 0)), "b": SiteHours((10, 10, 2, 10), (0, 0, 0, 1))}
    contracts = {"a": Contract(vppa_share=0.01), "b": Contract(vppa_share=0.02)}
    matched, park = match_hours(MONTHS, (1000, 0, 200, 500), sites, contracts)
    a, b = matched["a"], matched["b"]
    assert a.vppa_kwh == (6, 0, 2, 5) and a.grid_kwh == (0, 6, 4, 1)
    assert a.green_kwh == 13 and a.green_share == pytest.approx(13 / 24)
    assert b.vppa_kwh == (10, 0, 2, 9) and b.grid_kwh == (0, 10, 0, 0) and b.green_kwh == 22
    assert (park.delivered_kwh, park.attributed_kwh) == (1700, 34)
    assert park.surplus_kwh == pytest.approx(17) and park.unassigned_kwh == pytest.approx(1649)


def test_certificates_are_used_in_hour_order_until_the_month_runs_out() -> None:
    """c bought 10 kWh for September (3 already used by earlier hours) and 5 for October; it uses
    4 kWh an hour, the last hour in October: 4, 3 (the 7 left), 0, then October's 4 of 5."""
    sites = {"c": SiteHours((4, 4, 4, 4), (0, 0, 0, 0))}
    contracts = {"c": Contract(certificates_kwh={"2026-09": 10, "2026-10": 5}, used_before_kwh=3)}
    months = ("2026-09", "2026-09", "2026-09", "2026-10")
    matched, park = match_hours(months, (0, 0, 0, 0), sites, contracts)
    assert matched["c"].certificate_kwh == (4, 3, 0, 4)
    assert matched["c"].grid_kwh == (0, 1, 4, 0)
    assert park.attributed_kwh == 0  # certificates are not the VPPA pool


def test_vppa_first_then_certificates_then_grid() -> None:
    sites = {"d": SiteHours((10,), (2,))}
    matched, _ = match_hours(("2026-09",), (300,), sites, {"d": Contract(0.01, {"2026-09": 4})})
    m = matched["d"]
    assert (m.onsite_green_kwh, m.vppa_kwh, m.certificate_kwh, m.grid_kwh) == ((2,), (3,), (4,), (1,))


def test_a_site_without_contract_gets_only_its_own_generation() -> None:
    matched, park = match_hours(("2026-09",), (100,), {"e": SiteHours((5,), (1,))}, {})
    assert matched["e"].grid_kwh == (4,) and park.unassigned_kwh == 100


@pytest.mark.parametrize(("months", "pool", "sites", "contracts", "message"), [
    (("m",), (1.0, 2.0), {}, {}, "one value per hour"),
    (("m",), (-1.0,), {}, {}, ">= 0"),
    (("m",), (1.0,), {"a": SiteHours((1,), (0,)), "b": SiteHours((1,), (0,))},
     {"a": Contract(0.7), "b": Contract(0.4)}, "sum to 1.1"),
])
def test_bad_input_is_refused(months: tuple[str, ...], pool: tuple[float, ...], sites: dict[str, SiteHours],
                              contracts: dict[str, Contract], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        match_hours(months, pool, sites, contracts)
    with pytest.raises(ValueError, match="on-site green"):
        SiteHours((1.0,), (2.0,))


hours = st.integers(1, 12)


@given(st.data())
def test_every_hour_balances(data: st.DataObject) -> None:
    n = data.draw(hours)
    energy = st.floats(0, 500, allow_nan=False)
    pool = tuple(data.draw(st.lists(energy, min_size=n, max_size=n)))
    use = data.draw(st.lists(energy, min_size=n, max_size=n))
    own = [data.draw(st.floats(0, u)) if u > 0 else 0.0 for u in use]
    share = data.draw(st.floats(0, 1))
    certs = data.draw(st.floats(0, 2000))
    matched, park = match_hours(("2026-09",) * n, pool, {"x": SiteHours(tuple(use), tuple(own))},
                                {"x": Contract(share, {"2026-09": certs})})
    m = matched["x"]
    for h in range(n):
        parts = m.onsite_green_kwh[h] + m.vppa_kwh[h] + m.certificate_kwh[h] + m.grid_kwh[h]
        assert parts == pytest.approx(use[h], abs=1e-6)
        assert min(m.vppa_kwh[h], m.certificate_kwh[h], m.grid_kwh[h]) >= 0
        assert m.vppa_kwh[h] <= share * pool[h] + 1e-9
    assert sum(m.certificate_kwh) <= certs + 1e-6
    assert park.attributed_kwh + park.surplus_kwh + park.unassigned_kwh == pytest.approx(sum(pool), abs=1e-6)


def test_kpi_results_carry_the_sums_and_the_co2e_of_the_grid_kwh() -> None:
    matched, park = match_hours(MONTHS, (1000, 0, 200, 500), {"a": SiteHours((6, 6, 6, 6), (0, 0, 0, 0))},
                                {"a": Contract(0.01)})
    res = green_energy_kpi(matched["a"], WIN, kg_co2e_per_kwh=0.5703, coverage=Coverage(3600, 3600),
                           coverage_threshold=0.8)
    assert res["grid_kwh"] == 11 and res["co2e_kg"] == pytest.approx(11 * 0.5703)
    assert res["green_share"] == pytest.approx(13 / 24) and res["hours"] == 4
    src = green_source_kpi(park, 4, WIN, coverage=Coverage(0, 3600), coverage_threshold=0.8)
    assert src["delivered_kwh"] == 1700 and "no_data" in {f.value for f in src.flags}
