"""After the data path: the rules engine's KPIs for the replayed shift (written to RP ``kpi``)
next to the simulator's truth, the capacity feed, and order matching on measured capacity."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Any

from seamline.demo.cluster import DemoRun
from seamline.demo.energy import poll_hold_s
from seamline.demo.energy_report import energy_rows, fields
from seamline.demo.plan import TZ, replay_day
from seamline.demo.stack import DATABASE
from seamline.demo.truth import line_truths
from seamline.rules.energy_kpi import EnergySettings
from seamline.rules.engine import WindowReport, compute_window
from seamline.rules.kpi_points import KpiPointWriter
from seamline.rules.master_data import load_master_data
from seamline.rules.source import InfluxSource, SourceSettings
from seamline.rules.windows import Window
from seamline.storage.config import InfluxConfig
from seamline.storage.connect import point_writer
from seamline.storage.schema import KPI_LINE, Retention

SHIFT = (time(8, 0), time(17, 0))
BREAKS = ((time(10, 0), time(10, 15)), (time(12, 0), time(13, 0)), (time(15, 0), time(15, 15)))


def _ms(day: Any, t: time) -> int:
    return int(datetime.combine(day, t, tzinfo=TZ).timestamp() * 1000)


def kpi_window(run: DemoRun) -> tuple[int, int, list[tuple[int, int]]]:
    """The shift inside the replayed window, and its planned (non-break) spans, UTC ms."""
    day = replay_day(run.options, datetime.fromtimestamp(run.end_ms / 1000 + 1, TZ))
    start = max(_ms(day, SHIFT[0]), run.start_ms)
    end = min(_ms(day, SHIFT[1]), run.end_ms)
    planned = [(start, end)]
    for b0, b1 in BREAKS:
        bs, be = _ms(day, b0), _ms(day, b1)
        planned = [p for s, e in planned for p in ((s, min(e, bs)), (max(s, be), e)) if p[1] > p[0]]
    return start, end, planned


def compute_kpis(run: DemoRun, master_path: Path) -> tuple[dict[str, Any], WindowReport]:
    """The shift's KPIs (written to RP ``kpi``) per line and energy asset, each next to the truth."""
    assert run.floor is not None
    master = load_master_data(master_path)
    start, end, planned = kpi_window(run)
    window = Window(datetime.fromtimestamp(start / 1000, TZ), datetime.fromtimestamp(end / 1000, TZ))
    client = run.stack.influxql()
    hold_s = poll_hold_s(run.options.speed, run.options.energy_poll_s)
    energy = EnergySettings(max_hold_s=hold_s, max_gap_s=2 * hold_s, coverage_threshold=master.kpi.coverage_threshold)
    source = InfluxSource(client, SourceSettings(database=DATABASE, margin_s=energy.max_gap_s, aggregate_path=True))
    report = compute_window(source,
                            master, window, label="shift", shift="day", energy=energy)
    sec = run.stack.security  # the KPIs are written as the rules service would: its InfluxDB user
    influx = InfluxConfig.model_validate({"url": run.stack.influx.url, "database": DATABASE,
                                          **(sec.influx_user("rules") if sec else {})})
    writer = KpiPointWriter(point_writer(influx, Retention.KPI))
    written = writer.write(report.points)
    lines = []
    truths = line_truths(run.floor, (start, end), planned)
    for t in truths:
        p = report.one(KPI_LINE, enterprise=t.enterprise, line=t.line)
        measured = fields(p, "utilization", "line_efficiency", "oee", "availability", "performance", "quality",
                           "coverage")
        lines.append({"enterprise": t.enterprise, "line": t.line, **measured,
                      "truth": {"utilization": round(t.utilization, 4), "line_efficiency": round(t.line_efficiency, 4),
                                "availability": round(t.availability, 4), "performance": round(t.performance, 4),
                                "oee": round(t.oee, 4)}})
    return {"window": {"start_ms": start, "end_ms": end}, "points_written": written,
            "influx_queries": report.statements, "lines": lines,
            # sewing machines computed from sums of their aggregates' stop split, and why the others
            # were computed from their events (rules/README.md, "Two paths")
            "sewing_from_sums": report.from_sums, "sewing_from_events": dict(report.from_events),
            "energy": energy_rows(run.energy_truth, report, truths, start, end, green=master.green, tz=TZ),
            "warnings": list(report.warnings)}, report
