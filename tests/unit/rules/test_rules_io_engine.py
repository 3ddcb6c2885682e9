"""compute_window over an in-memory WindowSource: coverage, outages, replays, batching."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from seamline.contracts.messages import MachineState, Quality
from seamline.rules.engine import batches, compute_window
from seamline.rules.kpi.sewing import Aggregate
from seamline.rules.kpi.state_time import StateEvent
from seamline.rules.master_data import MasterData, parse_master_data
from seamline.rules.source import AssetKey, EnergySeries, MachineSeries, PolledSample, WindowData
from seamline.rules.windows import Window

TZ = ZoneInfo("Asia/Shanghai")
T8 = datetime(2026, 5, 6, 8, tzinfo=TZ)  # shift 08:00-10:00, no breaks
WIN = Window(T8, T8 + timedelta(hours=2))


def master(machines: int = 2, enterprises: int = 1, *, sam_min: float = 1.0, stop_threshold_s: float = 300.0
           ) -> MasterData:
    shift = {"name": "day", "start": "08:00", "end": "10:00", "days": ["wed"]}
    ents = [{"id": f"e{i}", "name": "E", "calendar": "c", "sites": [{"id": "s1", "lines": [
        {"id": "l1", "operators": 2, "categories": ["x"], "machines": [f"m{j}" for j in range(machines)],
         "style": "st"}]}]} for i in range(enterprises)]
    return parse_master_data({"calendars": [{"id": "c", "shifts": [shift]}],
                              "styles": [{"id": "st", "category": "x", "sam_min": sam_min}], "enterprises": ents,
                              "kpi": {"coverage_threshold": 0.9, "stop_threshold_s": stop_threshold_s}})


def aggs(minutes: Iterable[int], *, run_s: float = 45.0, pieces: int = 1, off_s: float = 0.0,
         quality: Quality = Quality.GOOD) -> tuple[Aggregate, ...]:
    return tuple(Aggregate(ts_s=WIN.start_s + 60 * k, period_s=60.0, run_s=run_s, idle_s=60 - run_s - off_s,
                           off_s=off_s, pieces=pieces, quality=quality) for k in minutes)


def at(minute: float, state: MachineState, reason: str = "none") -> StateEvent:
    return StateEvent(WIN.start_s + minute * 60, state, reason)


class FakeSource:
    def __init__(self, data: WindowData) -> None:
        self.data = data
        self.statements = 0
        self.asked: list[list[str]] = []

    def fetch(self, enterprises: Sequence[str], window: Window, *, energy_kinds: Iterable[str]) -> WindowData:
        self.statements += 5
        self.asked.append(list(enterprises))
        return self.data


def key(m: str, ent: str = "e0") -> AssetKey:
    return AssetKey(ent, "s1", "l1", m)


def test_full_data_gives_exact_utilization_and_efficiency() -> None:
    data = WindowData(WIN, machines={key("m0"): MachineSeries(key("m0"), aggs(range(120))),
                                     key("m1"): MachineSeries(key("m1"), aggs(range(120), run_s=30.0))})
    report = compute_window(FakeSource(data), master(), WIN, label="shift")
    assert report.one("kpi_machine", asset="m0").get("utilization") == pytest.approx(0.75)
    line = report.one("kpi_line", line="l1")
    assert line.get("utilization") == pytest.approx((0.75 + 0.5) / 2)
    assert line.get("line_efficiency") == pytest.approx(240 * 1.0 / (2 * 120))
    assert line.get("coverage") == 1.0 and line.get("low_coverage") is False
    assert report.statements == 5


def test_gateway_outage_lowers_coverage_not_utilization() -> None:
    minutes = [k for k in range(120) if not 30 <= k < 60]
    events = ((WIN.start_s + 1800, False), (WIN.start_s + 3600, True))
    data = WindowData(WIN, machines={key("m0"): MachineSeries(key("m0"), aggs(minutes)),
                                     key("m1"): MachineSeries(key("m1"), aggs(minutes))},
                      gateway_events={("e0", "s1", "gw"): events})
    report = compute_window(FakeSource(data), master(), WIN, label="shift")
    m0 = report.one("kpi_machine", asset="m0")
    assert m0.get("utilization") == pytest.approx(0.75)
    assert m0.get("down_min") == 0.0 and m0.get("unobserved_min") == pytest.approx(30.0)
    assert m0.get("coverage") == pytest.approx(0.75) and m0.get("low_coverage") is True
    assert "low_coverage" in str(report.one("kpi_line").get("flags"))


def test_live_data_inside_an_offline_interval_is_dropped_but_replayed_data_counts() -> None:
    offline = ((WIN.start_s, False), (WIN.start_s + 3600, True))  # first hour offline
    data = WindowData(WIN, machines={
        key("m0"): MachineSeries(key("m0"), aggs(range(120))),
        key("m1"): MachineSeries(key("m1"), aggs(range(60), quality=Quality.HISTORICAL) + aggs(range(60, 120)))},
        gateway_events={("e0", "s1", "gw"): offline})
    report = compute_window(FakeSource(data), master(), WIN, label="shift")
    assert report.one("kpi_machine", asset="m0").get("coverage") == pytest.approx(0.5)
    assert report.one("kpi_machine", asset="m1").get("coverage") == pytest.approx(1.0)


def test_a_machine_without_data_is_no_data_not_downtime() -> None:
    data = WindowData(WIN, machines={key("m0"): MachineSeries(key("m0"), aggs(range(120)))})
    report = compute_window(FakeSource(data), master(), WIN, label="shift")
    silent = report.one("kpi_machine", asset="m1")
    assert silent.get("down_min") == 0.0 and silent.get("utilization") is None
    assert set(str(silent.get("flags")).split(",")) >= {"no_data", "low_coverage"}
    assert report.one("kpi_line").get("coverage") == pytest.approx(0.5)
    assert report.low_coverage == 2


def test_downtime_by_reason_and_mtbf_from_state_events() -> None:
    down = (StateEvent(WIN.start_s + 600, MachineState.DOWN, "breakdown.motor"),
            StateEvent(WIN.start_s + 1200, MachineState.IDLE, "repaired"))
    a = aggs(range(120))
    data = WindowData(WIN, machines={key("m0"): MachineSeries(key("m0"), a, down),
                                     key("m1"): MachineSeries(key("m1"), a)})
    report = compute_window(FakeSource(data), master(), WIN, label="shift", shift="day")
    dt = report.one("kpi_downtime", asset="m0", reason="breakdown.motor")
    assert dt.get("down_min") == pytest.approx(10.0)
    assert dt.tag("shift") == "day" and dt.tag("window") == "shift"
    assert report.one("kpi_machine", asset="m0").get("breakdowns") == 1.0


def test_batches_never_split_an_enterprise_and_bound_machines() -> None:
    groups = list(batches(master(machines=3, enterprises=5), limit=7))
    assert [[e.id for e in g] for g in groups] == [["e0", "e1"], ["e2", "e3"], ["e4"]]
    src = FakeSource(WindowData(WIN))
    compute_window(src, master(machines=3, enterprises=5), WIN, batch_machines=7)
    assert src.asked == [["e0", "e1"], ["e2", "e3"], ["e4"]]


def _energy_master() -> MasterData:
    assets = [{"id": "wt1", "kind": "wind_turbine", "area": "park", "rated_power_kw": 2000,
               "power_curve": [{"wind_speed_m_s": 3, "power_kw": 0}, {"wind_speed_m_s": 12, "power_kw": 2000}],
               "availability_contract": "k"},
              {"id": "b1", "kind": "battery", "area": "roof", "capacity_kwh": 100}]
    return parse_master_data({
        "calendars": [{"id": "c", "shifts": [{"name": "d", "start": "08:00", "end": "10:00", "days": ["wed"]}]}],
        "availability_contracts": [{"id": "k", "status_map": {1: "full_performance", 9: "forced_outage"},
                                    "available": ["full_performance"]}],
        "enterprises": [{"id": "e0", "name": "E", "calendar": "c",
                         "sites": [{"id": "s1", "energy_assets": assets}]}]})


def _polled(asset: str, area: str, kind: str, values: Callable[[int], dict[str, float]]) -> EnergySeries:
    k = AssetKey("e0", "s1", area, asset)
    samples = tuple(PolledSample(WIN.start_s + 60 * i, i, Quality.GOOD, values(i)) for i in range(121))
    return EnergySeries(k, kind, samples)


def test_wind_and_battery_kpis_from_polled_counters() -> None:
    wind = _polled("wt1", "park", "wind_turbine", lambda i: {
        "energy_wh": 1000.0 * 1000 * i / 60, "status": 1.0 if i < 60 else 9.0, "wind_speed_m_s": 7.5})
    bat = _polled("b1", "roof", "battery", lambda i: {
        "charge_energy_wh": 500.0 * min(i, 60), "discharge_energy_wh": 400.0 * max(0, i - 60),
        "soc_pct": 50.0 + 0.5 * min(i, 60) - 0.5 * max(0, i - 60)})
    data = WindowData(WIN, energy={wind.key: wind, bat.key: bat})
    report = compute_window(FakeSource(data), _energy_master(), WIN, label="shift")
    wt = report.one("kpi_wind", asset="wt1")
    assert wt.get("energy_kwh") == pytest.approx(2000.0)  # 1 000 kW for 2 h
    assert wt.get("capacity_factor") == pytest.approx(0.5)
    assert wt.get("availability") == pytest.approx(0.5)  # second hour forced outage
    assert wt.get("lost_energy_kwh") == pytest.approx(1000.0)  # curve gives 1 000 kW at 7.5 m/s
    b = report.one("kpi_battery", asset="b1")
    assert b.get("charge_kwh") == pytest.approx(30.0)
    assert b.get("discharge_kwh") == pytest.approx(24.0)
    assert b.get("round_trip_efficiency") == pytest.approx(0.8)
    assert report.energy_assets == 2


def _stop_data() -> WindowData:
    # m0 sews (45 s a minute, 1 piece) except a 10-minute no-work wait at 30..40; m1 sews all shift
    m0 = aggs([*range(30), *range(40, 120)]) + aggs(range(30, 40), run_s=0.0, pieces=0)
    events = (at(-5, MachineState.IDLE), at(0, MachineState.RUNNING), at(30, MachineState.IDLE, "no_work"),
              at(40, MachineState.RUNNING), at(125, MachineState.IDLE))  # look-back and look-ahead events
    return WindowData(WIN, machines={key("m0"): MachineSeries(key("m0"), tuple(sorted(m0, key=lambda a: a.ts_s)),
                                                              events),
                                     key("m1"): MachineSeries(key("m1"), aggs(range(120)),
                                                              (at(0, MachineState.RUNNING),))})


def test_stops_lower_availability_and_oee_runs_on_operating_time() -> None:
    report = compute_window(FakeSource(_stop_data()), master(sam_min=0.5), WIN, label="shift")
    m0 = report.one("kpi_machine", asset="m0")
    assert (m0.get("operating_min"), m0.get("stop_min")) == (110.0, 10.0)
    assert m0.get("availability") == pytest.approx(110 / 120)
    assert m0.get("utilization") == pytest.approx(110 * 45 / (120 * 60))
    assert report.one("kpi_downtime", asset="m0", reason="stop.no_work").get("down_min") == 10.0
    line = report.one("kpi_line", line="l1")
    assert line.get("availability") == pytest.approx(230 / 240)  # Σ operating / Σ planned-observed
    assert line.get("performance") == pytest.approx(230 * 0.5 / 230)  # pieces × SAM / Σ operating minutes
    assert line.get("oee") == pytest.approx(230 / 240 * 0.5)
    assert line.get("utilization") == pytest.approx(230 * 45 / (240 * 60))  # needle time, unchanged
    assert (line.get("operating_min"), line.get("stop_min"), line.get("flags")) == (230.0, 10.0, "")


def test_stop_threshold_comes_from_master_data() -> None:
    report = compute_window(FakeSource(_stop_data()), master(sam_min=0.5, stop_threshold_s=900), WIN)
    assert report.one("kpi_machine", asset="m0").get("operating_min") == 120.0  # a 10-min wait is no stop
    assert report.find("kpi_downtime", asset="m0") == []


def test_time_before_the_first_known_event_falls_back_to_the_aggregates() -> None:
    # No event before the window (beyond the look-back): off for 30 min by the aggregates, then on.
    a = aggs(range(30), run_s=0.0, off_s=60.0, pieces=0) + aggs(range(30, 120))
    data = WindowData(WIN, machines={key("m0"): MachineSeries(key("m0"), a, (at(30, MachineState.IDLE),
                                                                             at(31, MachineState.RUNNING))),
                                     key("m1"): MachineSeries(key("m1"), a)})
    report = compute_window(FakeSource(data), master(), WIN)
    for m in ("m0", "m1"):
        point = report.one("kpi_machine", asset=m)
        assert (point.get("operating_min"), point.get("stop_min")) == (90.0, 0.0), m
        assert point.get("availability") == pytest.approx(0.75)
