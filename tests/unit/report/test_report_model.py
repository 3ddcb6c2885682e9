"""The view models: what a factory's and the cluster's page say, from typed inputs with known figures."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from seamline.report.cluster_model import cluster_report, oee_histogram
from seamline.report.inputs import AlertsInput, DayKpis, LineFigures, LinePoint, PlanInput, PlatformState, SiteEnergy
from seamline.report.model import energy_totals, factory_report
from seamline.report.platform_view import allocated_orders, capacity_view, orders_view
from tests.support import report_inputs as ri

TODAY = ri.NOW.astimezone(ri.TZ).date()


def test_the_factory_day_per_line() -> None:
    r = factory_report(ri.master(), "f001", ri.inputs())
    assert [(v.site, v.line) for v in r.lines] == [("s1", "line01"), ("s1", "line02")]
    l1, l2 = r.lines
    assert l1.day is not None and l1.day.oee == 0.42 and [s for s, _ in l1.shifts] == ["day"]
    assert [b.reason for b in l1.pareto] == ["stop.no_work", "breakdown.needle", "breakdown.thread", "stop"]
    assert l2.pareto == ()  # no downtime point: nothing to draw
    assert [h.start.hour for h in l1.hours] == [8, 9, 10, 11, 13, 14, 15, 16]
    assert l1.output == 240 and l1.target == pytest.approx(8 * 22.5)
    t = r.totals
    assert t.output == 480 and t.target == pytest.approx(2 * 8 * 22.5)
    assert t.oee == pytest.approx(0.36) and t.coverage == 0.6
    assert (t.kwh_per_piece, t.green_share, t.alerts) == (0.5, 0.25, 1)
    assert r.generated_at.utcoffset() == timedelta(hours=8) and r.timezone == "Asia/Shanghai"


def test_the_factory_sees_only_its_own_platform_messages_and_alerts() -> None:
    r = factory_report(ri.master(), "f002", ri.inputs())
    assert {c.line for c in r.capacity.lines} == {"line01"}
    assert r.orders.allocated == ()
    assert [a.enterprise for a in r.alerts] == ["f002"]


def test_unmet_orders_of_the_factory_are_those_in_its_categories() -> None:
    r = factory_report(ri.master(), "f001", ri.inputs())
    assert [u.order_id for u in r.orders.unmet] == ["PO-901"]  # PO-900 is down jackets: f001 makes t-shirts
    assert [(o.order_id, o.pieces, o.first_day, o.last_day) for o in r.orders.allocated] == [
        ("PO-100", 80, TODAY + timedelta(days=1), TODAY + timedelta(days=2)), ("PO-101", 40, TODAY + timedelta(days=1),
                                                                               TODAY + timedelta(days=1))]


def _notes(r: object) -> list[str]:
    return [n.en for n in r.notes]  # type: ignore[attr-defined]


def test_notes_say_what_the_data_cannot_tell() -> None:
    r = factory_report(ri.master(), "f001", ri.inputs())
    notes = _notes(r)
    assert any("s1/line02 has 60 % data coverage" in n for n in notes)
    assert any("Alertmanager keeps no record of the day's resolved alerts" in n for n in notes)
    bare = factory_report(ri.master(), "f001", ri.inputs(
        kpis=DayKpis(), platform=PlatformState(source="mqtt://x:1", problem="cannot connect"),
        plan=PlanInput(source=None), alerts=AlertsInput(source=None)))
    notes = _notes(bare)
    assert notes[0].startswith("No KPI points for the day")
    assert any("could not be read (mqtt://x:1): cannot connect" in n for n in notes)
    assert any("No plan summary given" in n for n in notes)
    assert any("No alert source configured" in n for n in notes)
    assert bare.totals.output is None and bare.totals.oee is None


def test_a_plan_summary_from_another_plan_than_the_allocations_is_noted() -> None:
    other = ri.plan_summary().model_copy(update={"plan_id": "plan0002"})
    r = factory_report(ri.master(), "f001", ri.inputs(plan=PlanInput(source="p.json", summary=other)))
    assert any("Unmet orders come from plan plan0002, the allocations from plan plan0001" in n for n in _notes(r))


def test_a_line_without_a_day_point_shows_its_shifts_and_says_so() -> None:
    kpis = ri.day_kpis()
    kpis = replace(kpis, lines=tuple(p for p in kpis.lines if not (p.line == "line01" and p.window == "1d")))
    r = factory_report(ri.master(), "f001", ri.inputs(kpis=kpis))
    l1 = r.lines[0]
    assert l1.day is None and len(l1.shifts) == 1 and l1.output == 240  # the sum of its hours
    assert any("Line s1/line01 has no whole-day (1d) KPI point" in n for n in _notes(r))


def test_a_line_master_data_does_not_know_is_still_shown() -> None:
    kpis = ri.day_kpis()
    stray = LinePoint(enterprise="f001", site="s2", line="lineX", window="1d", shift=None,
                      start_ms=ri.local_ms(ri.DAY, 0), figures=LineFigures(oee=0.5, coverage=1.0))
    r = factory_report(ri.master(), "f001", ri.inputs(kpis=replace(kpis, lines=(*kpis.lines, stray))))
    assert [(v.site, v.line) for v in r.lines][-1] == ("s2", "lineX")
    assert r.lines[-1].hours == () and r.lines[-1].sam_min is None


def test_energy_of_several_sites_is_consumption_over_output() -> None:
    sites = [SiteEnergy(enterprise="e", site="a", consumption_kwh=100.0, kwh_per_piece=1.0, green_share=0.5,
                        coverage=1.0, low_coverage=False),
             SiteEnergy(enterprise="e", site="b", consumption_kwh=300.0, kwh_per_piece=3.0, green_share=0.1,
                        coverage=1.0, low_coverage=False)]
    per_piece, green = energy_totals(sites, 200.0)
    assert per_piece == pytest.approx(2.0) and green == pytest.approx((50 + 30) / 400)
    assert energy_totals(sites[:1], 999.0) == (1.0, 0.5)
    assert energy_totals([], 10.0) == (None, None)


def test_capacity_shows_fourteen_days_from_the_given_day() -> None:
    view = capacity_view(ri.platform().capacity, from_day=TODAY, tz=ri.TZ)
    assert [d.day for d in view.days] == [TODAY + timedelta(days=i) for i in range(14)]
    assert view.days[0].booked_std_min == 3 * 600 and view.days[0].free_std_min == 3 * 1800
    assert view.days[5].free_std_min == 3 * 2400
    assert view.free_std_min == pytest.approx(3 * (14 * 2400 - 3 * 600))
    assert {c.free_std_min for c in view.lines} == {14 * 2400 - 3 * 600}
    later = capacity_view(ri.platform().capacity, from_day=TODAY + timedelta(days=10), tz=ri.TZ)
    assert len(later.days) == 6  # the messages reach 16 days ahead: no invented days after that


def test_allocated_orders_are_grouped_per_order() -> None:
    msgs = [ri.allocation("e", "l1", [("A", TODAY, 5), ("B", TODAY, 1)]), ri.allocation("e", "l2", [("A", TODAY, 7)])]
    got = allocated_orders(msgs)
    assert [(o.order_id, o.lines, o.pieces, o.std_min) for o in got] == [("A", ("e/l1", "e/l2"), 12, 144.0),
                                                                          ("B", ("e/l1",), 1, 12.0)]
    view = orders_view(msgs, ri.plan_summary(), categories=None)
    assert [u.order_id for u in view.unmet] == ["PO-900", "PO-901"]  # largest first
    assert not view.plans_disagree and orders_view(msgs, None, categories=None).summary_plan is None


def test_the_cluster_day() -> None:
    c = cluster_report(ri.master(), ri.inputs())
    assert [f.enterprise for f in c.factories] == ["f001", "f002"]  # lowest OEE first
    f1 = c.factories[0]
    assert (f1.lines, f1.output, f1.oee, f1.coverage, f1.alerts) == (2, 480, pytest.approx(0.36), 0.6, 1)
    assert f1.free_std_min == pytest.approx(2 * (14 * 2400 - 1800))
    assert c.output == 720 and c.oee == pytest.approx((0.42 + 0.30 + 0.55) / 3)
    assert (c.lines_reported, c.lines_low_coverage) == (3, 1)
    assert [b.reason for b in c.pareto][:2] == ["stop.no_work", "breakdown.needle"]
    assert [u.order_id for u in c.orders.unmet] == ["PO-900", "PO-901"]  # every unmet order, whatever the category
    assert [b.count for b in c.histogram] == [0, 0, 0, 1, 0, 1, 0, 0, 0, 0]
    assert c.alerts_total == 2


def test_the_cluster_lists_the_lowest_oee_first_and_says_how_many_more() -> None:
    master = ri.master([f"f{i:03d}" for i in range(1, 8)])
    kpis = DayKpis(lines=tuple(p for i in range(1, 8) for p in ri.line_points(f"f{i:03d}", "line01", oee=i / 10)))
    c = cluster_report(master, ri.inputs(kpis=kpis), max_factories=3)
    assert [f.enterprise for f in c.factories] == ["f001", "f002", "f003"] and c.factories_total == 7
    assert any("Only the 3 enterprises with the lowest OEE are listed (of 7)" in n.en for n in c.notes)


def test_oee_histogram_bands() -> None:
    bins = oee_histogram([0.0, 0.05, 0.1, 0.999, 1.0, 1.2, -0.1])
    assert [b.count for b in bins] == [3, 1, 0, 0, 0, 0, 0, 0, 0, 3]
    assert (bins[0].low, bins[-1].high) == (0.0, 1.0)
