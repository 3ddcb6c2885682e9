"""compute_window against a real InfluxDB 1.x holding a simulated shift with known truth."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from seamline.contracts.messages import MachineState
from seamline.localstack import InfluxdProcess
from seamline.rules.engine import WindowReport, compute_window
from seamline.rules.kpi_points import KpiPointWriter
from seamline.rules.master_data import MasterData, parse_master_data
from seamline.rules.shift_calendar import ShiftCalendar, shift_instances
from seamline.rules.source import InfluxSource, SourceSettings
from seamline.rules.windows import Window, WindowSize, window_containing
from seamline.storage.db_init import DbLayout, RetentionSpec, init_v1
from seamline.storage.line_protocol import encode_line
from seamline.storage.query_client import InfluxQLClient
from seamline.storage.writer_v1 import InfluxV1Writer
from tests.support.synthetic import (
    MachineTruth,
    aggregate_lines,
    gateway_status_lines,
    machine_tags,
    met_lines,
    meter_lines,
    pv_lines,
    simulate_truth,
    state_lines,
)

TZ = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 5, 6, tzinfo=TZ)  # a Wednesday
SAM_MIN = 12.0  # the style's SAM in master data, and the simulated operators' (who work at 50 % pace)
STOP_S = 300.0  # master data kpi.stop_threshold_s (the default)
LINES = {"line01": ["m1", "m2", "m3", "m4"], "line02": ["m5", "m6", "m7", "m8"]}
GATEWAY = {"line01": "gw1", "line02": "gw2"}


def _ms(h: float) -> int:
    return int((DAY + timedelta(hours=h)).timestamp() * 1000)


OUTAGE = (_ms(14), _ms(15))  # gw2 offline 14:00-15:00 local: no data from line02
PLANNED_H = [(8, 10), (10.25, 12), (13, 15), (15.25, 17)]


def master_data() -> MasterData:
    shift = {"name": "day", "start": "08:00", "end": "17:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat"],
             "breaks": [{"start": "10:00", "end": "10:15"}, {"start": "12:00", "end": "13:00"},
                        {"start": "15:00", "end": "15:15"}]}
    lines = [{"id": line, "operators": 4, "categories": ["shirt"], "machines": ms, "style": "shirt"}
             for line, ms in LINES.items()]
    assets = [{"id": "pv01", "kind": "pv_inverter", "area": "roof", "rated_power_kw": 50, "kwp": 60},
              {"id": "met01", "kind": "met_station", "area": "roof"},
              {"id": "meter01", "kind": "meter", "area": "main"}]
    return parse_master_data({
        "calendars": [{"id": "cal", "shifts": [shift]}],
        "styles": [{"id": "shirt", "category": "shirt", "sam_min": SAM_MIN}],
        "enterprises": [{"id": "f001", "name": "F", "calendar": "cal",
                         "sites": [{"id": "s1", "lines": lines, "energy_assets": assets}]}],
    })


@dataclass
class Loaded:
    url: str
    db: str
    truth: dict[str, MachineTruth]


def _write(url: str, db: str, lines: list[str]) -> None:
    writer = InfluxV1Writer(url=url, database=db, retention_policy="raw")
    for i in range(0, len(lines), 5000):
        writer.write(lines[i:i + 5000])
    writer.close()


@pytest.fixture
def loaded(influxd: InfluxdProcess, influx_db: str) -> Loaded:
    # raw kept forever: the simulated day is fixed and would fall outside a 90 d policy later
    policies = (RetentionSpec(name="raw", duration="INF", default=True), RetentionSpec(name="kpi", duration="INF"))
    init_v1(InfluxQLClient(url=influxd.url), DbLayout(database=influx_db, policies=policies))
    from seamline.firmware_stubs.sewing.shift import ShiftPattern

    start, end = _ms(7), _ms(18)
    truth: dict[str, MachineTruth] = {}
    lines: list[str] = []
    for line, machines in LINES.items():
        skip = OUTAGE if line == "line02" else None
        for i, m in enumerate(machines):
            truth[m] = simulate_truth(m, start, end, seed=100 + i, sam_min=SAM_MIN, shift=ShiftPattern())
            tags = machine_tags("f001", "s1", line, m)
            lines += aggregate_lines(truth[m], tags, start, end, skip=skip)
            lines += state_lines(truth[m], tags, skip=skip)
            lines.append(encode_line("asset_info", {**tags, "asset_kind": "sewing_machine"},
                                     {"gateway": GATEWAY[line]}, start))
    lines += gateway_status_lines("f001", "s1", "gw1", [(start, True)])
    lines += gateway_status_lines("f001", "s1", "gw2", [(start, True), (OUTAGE[0], False), (OUTAGE[1], True)])
    # daily-window probes on m1: 00:30 local this day (in), 00:30 local next day (out)
    m1 = machine_tags("f001", "s1", "line01", "m1")
    for ts, pieces in ((_ms(0.5), 5), (_ms(24.5), 7)):
        lines.append(encode_line("sewing_machine", m1, {"run_s": 60.0, "idle_s": 0.0, "off_s": 0.0, "down_s": 0.0,
                                                        "period_s": 60.0, "pieces": pieces, "rejects": 0,
                                                        "seq": 0, "quality": "good"}, ts))
    lines += pv_lines({"enterprise": "f001", "site": "s1", "area": "roof", "asset": "pv01"}, start, end, power_kw=30)
    lines += met_lines({"enterprise": "f001", "site": "s1", "area": "roof", "asset": "met01"}, start, end,
                       poa_w_m2=600)
    lines += meter_lines({"enterprise": "f001", "site": "s1", "area": "main", "asset": "meter01"}, start, end,
                         import_kw=20)
    _write(influxd.url, influx_db, lines)
    return Loaded(influxd.url, influx_db, truth)


def _source(loaded: Loaded) -> InfluxSource:
    return InfluxSource(InfluxQLClient(url=loaded.url), SourceSettings(database=loaded.db))


def _shift_window() -> Window:
    cal = ShiftCalendar.for_enterprise(master_data(), master_data().enterprises[0])
    [inst] = shift_instances(cal, Window(DAY, DAY + timedelta(days=1)))
    return inst.window


def _planned_ms(exclude: tuple[int, int] | None = None) -> list[tuple[int, int]]:
    spans = [(_ms(a), _ms(b)) for a, b in PLANNED_H]
    if exclude is None:
        return spans
    out = []
    for a, b in spans:
        if b <= exclude[0] or a >= exclude[1]:
            out.append((a, b))
        else:
            out += [s for s in ((a, exclude[0]), (exclude[1], b)) if s[1] > s[0]]
    return out


def _truth_line(truth: dict[str, MachineTruth], machines: list[str], planned: list[tuple[int, int]],
                pieces_spans: list[tuple[int, int]]) -> dict[str, float]:
    """The line's KPIs from the simulator's truth: OEE on operating time (idle runs >= STOP_S are stops)."""
    planned_s = sum(b - a for a, b in planned) / 1000
    run = sum(truth[m].seconds(MachineState.RUNNING, planned) for m in machines)
    operating = sum(truth[m].operating_seconds(planned, stop_threshold_s=STOP_S) for m in machines)
    pieces = sum(truth[m].pieces(a, b) for m in machines for a, b in pieces_spans)
    availability = operating / (planned_s * len(machines))
    performance = pieces * SAM_MIN * 60 / operating
    assert performance < 1.0  # no clipping: the truth itself is a meaningful OEE
    return {"availability": availability, "performance": performance, "oee": availability * performance,
            "utilization": run / (planned_s * len(machines)),
            "line_efficiency": pieces * SAM_MIN / (4 * planned_s / 60), "pieces": pieces}


def test_shift_kpis_match_truth_and_outage_lowers_coverage_not_availability(loaded: Loaded) -> None:
    report = compute_window(_source(loaded), master_data(), _shift_window(), label="shift", shift="day")
    # fixed per window: sewing, states, state before, 2x gateway, asset_info + 3 energy kinds
    assert report.statements == 6 + 3
    planned = _planned_ms()
    planned_s = sum(b - a for a, b in planned) / 1000
    for m in LINES["line01"]:
        truth = loaded.truth[m]
        point = report.one("kpi_machine", asset=m)
        assert point.get("utilization") == pytest.approx(truth.seconds(MachineState.RUNNING, planned) / planned_s,
                                                         abs=0.01)
        operating_s = truth.operating_seconds(planned, stop_threshold_s=STOP_S)
        assert point.get("operating_min") == pytest.approx(operating_s / 60, abs=0.1)
        assert point.get("stop_min") == pytest.approx(truth.stop_seconds(planned, stop_threshold_s=STOP_S) / 60,
                                                      abs=0.1)
        assert point.get("availability") == pytest.approx(operating_s / planned_s, abs=0.01)
        assert point.get("coverage") == pytest.approx(1.0)
    full = _truth_line(loaded.truth, LINES["line01"], planned, [(_ms(8), _ms(17))])
    line01 = report.one("kpi_line", line="line01")
    for name in ("availability", "performance", "oee", "utilization", "line_efficiency"):
        assert line01.get(name) == pytest.approx(full[name], abs=0.01), name
    assert line01.get("good_pieces") == full["pieces"]
    # performance is the operators' pace against the SAM (50 % in the simulator), not needle share
    assert 0.4 < line01.get("performance") < 0.6  # type: ignore[operator]
    assert line01.get("availability") > line01.get("utilization") + 0.3  # type: ignore[operator]  # handling counts
    assert "clipped" not in str(line01.get("flags")) and line01.get("low_coverage") is False
    stops = sum(float(p.get("down_min") or 0) for p in report.find("kpi_downtime", line="line01")
                if p.tag("reason").startswith("stop"))
    true_stops = sum(loaded.truth[m].stop_seconds(planned, stop_threshold_s=STOP_S) for m in LINES["line01"])
    assert stops == pytest.approx(true_stops / 60, abs=0.5)

    observed = [(_ms(8), OUTAGE[0]), (OUTAGE[1], _ms(17))]
    cut = _truth_line(loaded.truth, LINES["line02"], _planned_ms(OUTAGE), observed)
    line02 = report.one("kpi_line", line="line02")
    assert line02.get("coverage") == pytest.approx(390 / 450, abs=1e-6)  # 60 of 450 planned minutes lost
    for name in ("availability", "performance", "oee", "utilization", "line_efficiency"):
        assert line02.get(name) == pytest.approx(cut[name], abs=0.01), name
    for m in LINES["line02"]:
        point = report.one("kpi_machine", asset=m)
        true_down = loaded.truth[m].seconds(MachineState.DOWN, observed) / 60
        assert point.get("down_min") == pytest.approx(true_down, abs=0.01)  # the outage is not downtime
        assert point.get("unobserved_min") == pytest.approx(60.0)


def test_hourly_operating_and_stop_minutes_add_up_to_the_shift(loaded: Loaded) -> None:
    # A stop crossing an hour boundary is recognised in both hours (state look-back before the
    # window, events and aggregates look-ahead after it), so the hours sum to the shift.
    shift = compute_window(_source(loaded), master_data(), _shift_window(), label="shift")
    hours = [compute_window(_source(loaded), master_data(),
                            Window(DAY + timedelta(hours=h), DAY + timedelta(hours=h + 1)), label="1h")
             for h in range(8, 17)]
    crossing = 0
    for m in LINES["line01"]:
        for name in ("operating_min", "stop_min", "run_min"):
            total = sum(float(r.one("kpi_machine", asset=m).get(name) or 0) for r in hours)
            assert total == pytest.approx(float(shift.one("kpi_machine", asset=m).get(name) or 0), abs=1e-6), name
        edges = [_ms(h) for h in range(9, 17)]
        crossing += sum(1 for run in loaded.truth[m].stop_runs(STOP_S) if any(run[0] < e < run[1] for e in edges))
    assert crossing >= 1  # the data really has stops across hour boundaries


def test_energy_kpis_over_the_shift(loaded: Loaded) -> None:
    report = compute_window(_source(loaded), master_data(), _shift_window(), label="shift")
    pv = report.one("kpi_pv", asset="pv01")
    assert pv.get("energy_kwh") == pytest.approx(30 * 9, rel=1e-3)
    assert pv.get("performance_ratio") == pytest.approx((30 / 60) / 0.6, rel=1e-3)  # Yf/Yr per hour
    site = report.one("kpi_factory_energy", site="s1")
    assert site.get("consumption_kwh") == pytest.approx(20 * 9 + 30 * 9, rel=1e-3)
    assert site.get("green_share") == pytest.approx(270 / 450, rel=1e-3)


def _count_kpi_points(loaded: Loaded) -> int:
    client = InfluxQLClient(url=loaded.url)
    total = 0
    for name in ("kpi_machine", "kpi_line", "kpi_downtime", "kpi_pv", "kpi_factory_energy"):
        res = client.query(f'SELECT count("coverage") FROM "kpi"."{name}"', db=loaded.db)
        for s in res[0].get("series", []):
            total += int(s["values"][0][1])
    return total


def test_recomputing_a_window_rewrites_the_same_points(loaded: Loaded) -> None:
    writer = KpiPointWriter(InfluxV1Writer(url=loaded.url, database=loaded.db, retention_policy="kpi"))
    first = compute_window(_source(loaded), master_data(), _shift_window(), label="shift", shift="day")
    writer.write(first.points)
    after_one = _count_kpi_points(loaded)
    second = compute_window(_source(loaded), master_data(), _shift_window(), label="shift", shift="day")
    writer.write(second.points)
    assert after_one == len(first.points) > 0
    assert _count_kpi_points(loaded) == after_one
    assert second.points == first.points


@pytest.fixture
def new_york_process_tz() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.mark.usefixtures("new_york_process_tz")
def test_daily_totals_follow_the_enterprise_local_day(loaded: Loaded) -> None:
    window = window_containing(DAY + timedelta(hours=9), WindowSize.DAY, TZ)
    assert window.start == datetime(2026, 5, 5, 16, tzinfo=UTC)
    report: WindowReport = compute_window(_source(loaded), master_data(), window, label="1d")
    m1 = report.one("kpi_machine", asset="m1")
    assert m1.get("pieces") == loaded.truth["m1"].pieces(_ms(0), _ms(24)) + 5  # 00:30 today in, tomorrow's out
