"""The aggregate path's InfluxQL sums against a real InfluxDB 1.x: the same KPI points as the
reference path (every state event read) for every hour of a simulated shift and for the shift.

Eight machines of one enterprise, a day of the simulator's truth, written as split-capable edges
send it (60 s aggregates with edge_agent.stop_split's fields, every state change), line02's
gateway offline 14:00-15:00 and its data missing then. Both paths run compute_window on the same
InfluxDB; every point must match (fields within 1e-6 of their unit). Most machine-windows come
from sums; breakdowns, the outage and the hours around breaks go to the events, and a test that
only ever took the events path would prove nothing, so that share is asserted too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from seamline.firmware_stubs.sewing.shift import ShiftPattern
from seamline.localstack import InfluxdProcess
from seamline.rules.aggregate_kpi import DOWN_MISMATCH
from seamline.rules.aggregate_source import read_batch
from seamline.rules.engine import WindowReport, compute_window
from seamline.rules.kpi_points import KpiPoint
from seamline.rules.master_data import MasterData, parse_master_data
from seamline.rules.source import InfluxSource, SourceSettings
from seamline.rules.windows import Window
from seamline.storage.db_init import DbLayout, RetentionSpec, init_v1
from seamline.storage.query_client import InfluxQLClient
from seamline.storage.writer_v1 import InfluxV1Writer
from tests.support.synthetic import aggregate_lines, gateway_status_lines, machine_tags, simulate_truth, state_lines

TZ = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 5, 6, tzinfo=TZ)
LINES = {"line01": ["m1", "m2", "m3", "m4"], "line02": ["m5", "m6", "m7", "m8"]}
# Simulator seeds with breakdowns: 13 in the day, one from 10:56 to 11:36 (m8: down when 11:00 starts)
SEEDS = {"m1": 1, "m2": 2, "m3": 3, "m4": 1, "m5": 0, "m6": 2, "m7": 1, "m8": 0}
STOP_S = 300.0
TOL = 1e-6  # in each field's unit (min, fraction, pieces)

pytestmark = pytest.mark.integration


def _ms(h: float) -> int:
    return int((DAY + timedelta(hours=h)).timestamp() * 1000)


OUTAGE = (_ms(14), _ms(15))


def master_data() -> MasterData:
    shift = {"name": "day", "start": "08:00", "end": "17:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat"],
             "breaks": [{"start": "10:00", "end": "10:15"}, {"start": "12:00", "end": "13:00"}]}
    lines = [{"id": line, "operators": 4, "categories": ["shirt"], "machines": ms, "style": "shirt"}
             for line, ms in LINES.items()]
    return parse_master_data({
        "calendars": [{"id": "cal", "shifts": [shift]}],
        "styles": [{"id": "shirt", "category": "shirt", "sam_min": 12}],
        "enterprises": [{"id": "f001", "name": "F", "calendar": "cal", "sites": [{"id": "s1", "lines": lines}]}]})


@pytest.fixture(scope="module")
def loaded(influxd: InfluxdProcess) -> Iterator[str]:
    db = "aggregate_path"
    init_v1(InfluxQLClient(url=influxd.url), DbLayout(database=db, policies=(
        RetentionSpec(name="raw", duration="INF", default=True), RetentionSpec(name="kpi", duration="INF"))))
    writer = InfluxV1Writer(url=influxd.url, database=db, retention_policy="raw")
    start, end = _ms(7), _ms(18.5)
    for line, machines in LINES.items():
        skip = OUTAGE if line == "line02" else None
        for m in machines:
            truth = simulate_truth(m, start, end, seed=SEEDS[m], shift=ShiftPattern())
            tags = machine_tags("f001", "s1", line, m)
            writer.write(aggregate_lines(truth, tags, start, end, skip=skip, stop_split_s=STOP_S, idle_reasons=False))
            writer.write(state_lines(truth, tags, skip=skip, idle_reasons=False))
    writer.write(gateway_status_lines("f001", "s1", "gw2", [(start, True), (OUTAGE[0], False), (OUTAGE[1], True)]))
    writer.close()
    yield influxd.url
    influxd.query(f'DROP DATABASE "{db}"')


def _run(url: str, window: Window, *, aggregate_path: bool) -> WindowReport:
    source = InfluxSource(InfluxQLClient(url=url), SourceSettings(database="aggregate_path",
                                                                   aggregate_path=aggregate_path))
    return compute_window(source, master_data(), window, label="1h")


def _by_identity(report: WindowReport) -> dict[tuple[str, tuple[tuple[str, str], ...]], KpiPoint]:
    return {(p.measurement, tuple(sorted(p.tags))): p for p in report.points}


def _assert_same(ref: WindowReport, agg: WindowReport) -> None:
    a, b = _by_identity(ref), _by_identity(agg)
    assert set(a) == set(b)
    for key, p in a.items():
        fa, fb = dict(p.fields), dict(b[key].fields)
        assert set(fa) == set(fb), key
        for name, value in fa.items():
            other = fb[name]
            if isinstance(value, float) and isinstance(other, float):
                assert abs(value - other) <= TOL, (key, name, value, other)
            else:
                assert value == other, (key, name, value, other)


@pytest.mark.parametrize("hour", range(7, 18))
def test_every_hour_equals_the_reference(loaded: str, hour: int) -> None:
    window = Window(DAY + timedelta(hours=hour), DAY + timedelta(hours=hour + 1))
    ref, agg = _run(loaded, window, aggregate_path=False), _run(loaded, window, aggregate_path=True)
    _assert_same(ref, agg)
    assert ref.from_sums == 0
    if hour == 14:  # line02's gateway offline: its machines from their (missing) events
        assert dict(agg.from_events).get("gateway offline", 0) + dict(agg.from_events).get(
            "not every period observed", 0) >= 4


def test_most_machine_hours_come_from_sums_and_the_shift_matches(loaded: str) -> None:
    from_sums = sum(_run(loaded, Window(DAY + timedelta(hours=h), DAY + timedelta(hours=h + 1)),
                         aggregate_path=True).from_sums for h in range(8, 17))
    assert from_sums >= 0.5 * 8 * 9, from_sums
    shift = Window(DAY + timedelta(hours=8), DAY + timedelta(hours=17))
    _assert_same(_run(loaded, shift, aggregate_path=False), _run(loaded, shift, aggregate_path=True))


def test_breakdowns_come_from_the_sums_and_ingests_down_events(loaded: str) -> None:
    """A machine down in an hour is taken from its sums and its few ``machine_down`` events (their
    seconds equal the aggregates' down time), not handed to the event scan; the KPI points of those
    hours equal the reference (test_every_hour_equals_the_reference)."""
    source = InfluxSource(InfluxQLClient(url=loaded), SourceSettings(database="aggregate_path", aggregate_path=True))
    master = master_data()
    down_from_sums = refused = 0
    for h in range(8, 17):
        window = Window(DAY + timedelta(hours=h), DAY + timedelta(hours=h + 1))
        read = read_batch(source, master, master.enterprises, window, energy_kinds=())
        down_from_sums += sum(1 for t in read.totals.values() if t.down_s > 0)
        refused += read.refused[DOWN_MISMATCH]
    assert refused == 0
    assert down_from_sums >= 8, down_from_sums  # 12 here
