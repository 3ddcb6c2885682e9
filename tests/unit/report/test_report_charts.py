"""The SVG charts: well-formed, accessible, one data mark per figure, and a table with the same figures."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.report.charts import capacity_chart, histogram_chart, hourly_chart, kpi_bars, nice_max, pareto_chart
from seamline.report.cluster_model import oee_histogram
from seamline.report.hourly import HourSlot
from seamline.report.i18n import Text
from seamline.report.pareto import pareto
from seamline.report.platform_view import CapacityDayView
from tests.support import report_inputs as ri

SVG = "{http://www.w3.org/2000/svg}"


def parsed(svg: str) -> ET.Element:
    return ET.fromstring(svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))


def marks(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iter() if "mark" in (e.get("class") or "").split()]


def check_accessible(root: ET.Element, chart_id: str) -> None:
    assert root.get("role") == "img" and root.get("id") == chart_id
    title = root.find(f"{SVG}title")
    assert title is not None and title.text and " / " in title.text  # both languages
    assert root.get("aria-labelledby") == f"{chart_id}-t {chart_id}-d"


def test_pareto_chart_draws_a_bar_per_reason_and_the_cumulative_line() -> None:
    bars = pareto({"breakdown.needle": 30.0, "stop.no_work": 45.0, "stop": 5.0})
    c = pareto_chart("p", Text("停机", "Downtime"), bars)
    root = parsed(c.svg)
    check_accessible(root, "p")
    drawn = marks(root)
    rects = [e for e in drawn if e.tag == f"{SVG}rect"]
    assert len(rects) == 3 and len([e for e in drawn if e.tag == f"{SVG}circle"]) == 3
    heights = [float(r.get("height", 0)) for r in rects]
    assert heights == sorted(heights, reverse=True) and heights[0] > 0
    assert len([e for e in drawn if e.tag == f"{SVG}path"]) == 1
    assert c.marks == len(drawn)
    assert [r[0].en for r in c.table.rows] == ["No work", "Needle", "Stop (reason unknown)"]  # type: ignore[union-attr]
    assert [r[3] for r in c.table.rows] == ["56.2 %", "93.8 %", "100.0 %"]
    labels = ET.tostring(root, encoding="unicode")
    assert "待料" in labels and "No work" in labels  # both languages, as tspans


def test_hourly_chart_bars_and_target_step_line() -> None:
    slots = [HourSlot(start=datetime(2026, 5, 6, h, tzinfo=ri.TZ), planned_min=60.0, output=o, target=22.5,
                      coverage=1.0 if o is not None else None) for h, o in ((8, 20.0), (9, None), (10, 30.0))]
    c = hourly_chart("h", Text("a", "b"), slots)
    root = parsed(c.svg)
    check_accessible(root, "h")
    drawn = marks(root)
    assert len([e for e in drawn if e.tag == f"{SVG}rect"]) == 2  # the hour without a point has no bar
    target = next(e for e in drawn if e.tag == f"{SVG}path")
    assert target.get("d", "").count("M") == 3  # one step per hour
    assert c.table.rows[1] == ("09:00", "–", "22.5", "–")


def test_capacity_chart_stacks_booked_and_free() -> None:
    days = [CapacityDayView(day=date(2026, 5, 7 + i), available_std_min=2400.0, booked_std_min=600.0 * (i == 0),
                            free_std_min=2400.0 - 600.0 * (i == 0)) for i in range(14)]
    c = capacity_chart("c", days)
    rects = [e for e in marks(parsed(c.svg)) if e.tag == f"{SVG}rect"]
    assert len(rects) == 28 and c.marks == 28
    booked, free = rects[0], rects[1]
    top_of_booked, bottom_of_free = float(booked.get("y", 0)), float(free.get("y", 0)) + float(free.get("height", 0))
    assert bottom_of_free == pytest.approx(top_of_booked, abs=0.11)  # free sits on booked
    assert c.table.rows[0] == ("2026-05-07", "2 400", "600", "1 800")


def test_kpi_bars_and_histogram() -> None:
    c = kpi_bars("k", [("line01", 0.35, 0.45, 0.42), ("line02", None, 0.4, None)])
    assert c.marks == 4 and len(marks(parsed(c.svg))) == 4
    assert c.table.rows[1] == ("line02", "–", "40.0 %", "–")
    h = histogram_chart("o", oee_histogram([0.31, 0.35, 0.55]))
    assert h.marks == 2 and len(h.table.rows) == 10


def test_nothing_to_draw_is_an_empty_chart_not_an_empty_svg() -> None:
    for c in (pareto_chart("p", Text("a", "b"), ()), hourly_chart("h", Text("a", "b"), []), capacity_chart("c", []),
              kpi_bars("k", []), histogram_chart("o", oee_histogram([]))):
        assert c.empty and c.svg == ""


def test_labels_are_escaped() -> None:
    c = kpi_bars("k", [("<script>x</script>", 0.5, 0.5, 0.5)])
    assert "<script>" not in c.svg and "&lt;script&gt;" in c.svg
    parsed(c.svg)


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False))
def test_nice_max_covers_the_value_in_round_steps(v: float) -> None:
    top, step = nice_max(v)
    assert top >= v and step > 0
    assert top / step == pytest.approx(round(top / step))
    assert top / step <= 8  # a handful of grid lines, not dozens
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in (1.0, 2.0, 2.5, 5.0)
