"""The report's sources against faithful fakes: InfluxQL statements and their decoding, retained
messages folded and checked against their topics, the plan summary file, Alertmanager's alerts,
and how ``gather`` asks each of them."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from seamline.alertmanager.client import AlertState
from seamline.contracts.topic import MessageKind, Topic
from seamline.matching.retained import BrokerUnavailableError
from seamline.report.alert_source import NoAlertSource, records_from
from seamline.report.gather import Sources, gather
from seamline.report.inputs import PlanInput
from seamline.report.kpi_source import CLUSTER_WINDOWS, InfluxKpiReader, day_selects
from seamline.report.plan_source import PlanSummaryFile, parse_plan_summary
from seamline.report.retained_source import BrokerSettings, RetainedPlatformReader, fold_platform
from seamline.rules.master_data import parse_master_data
from seamline.storage.query import CountingClient
from seamline.storage.query_errors import QueryUnavailableError
from tests.support import report_inputs as ri


@dataclass
class FakeInfluxQL:
    """Answers each statement of a batch from ``series`` by measurement (as InfluxDB would: one
    result per statement, ``epoch=ms``); the first ``fail`` requests are refused as unavailable."""

    series: dict[str, list[dict[str, Any]]]
    fail: int = 0
    requests: list[str] = field(default_factory=list)

    def query(self, q: str, *, db: str | None = None) -> list[dict[str, Any]]:
        self.requests.append(q)
        if self.fail:
            self.fail -= 1
            raise QueryUnavailableError("influx: connection refused")
        out = []
        for i, stmt in enumerate(q.split(";\n")):
            name = stmt.split(" FROM ")[1].split(".")[1].split(" ")[0].strip('"')
            out.append({"statement_id": i, "series": self.series.get(name, [])})
        return out


def series(tags: dict[str, str], columns: list[str], *rows: list[Any]) -> dict[str, Any]:
    return {"name": "x", "tags": tags, "columns": ["time", *columns], "values": [list(r) for r in rows]}


def test_statements_filter_the_window_tag_on_the_server() -> None:
    line, down, energy = (s.render() for s in day_selects("kpi", ("f001",), 10, 20, ("1d", "shift", "1h")))
    assert line.startswith('SELECT "utilization", "line_efficiency", "oee"') and 'FROM "kpi"."kpi_line"' in line
    assert """("window" = '1d' OR "window" = 'shift' OR "window" = '1h')""" in line
    assert """("window" = '1d')""" in down and 'GROUP BY "enterprise", "site", "line", "asset", "reason"' in down
    assert 'FROM "kpi"."kpi_factory_energy"' in energy and "time >= 10ms AND time < 20ms" in energy


def test_kpi_points_are_decoded_and_downtime_summed_over_machines() -> None:
    t0 = ri.local_ms(ri.DAY, 0)
    line_tags = {"enterprise": "f001", "site": "s1", "line": "line01"}
    cols = ["oee", "good_pieces", "coverage", "low_coverage", "flags"]
    fake = FakeInfluxQL({
        "kpi_line": [
            series(line_tags | {"window": "1d", "shift": ""}, cols,
                   [t0, 0.4, 240.0, 0.7, True, "clipped,low_coverage"]),
            series(line_tags | {"window": "1h", "shift": ""}, cols, [t0 + 8 * 3_600_000, None, 30.0, 1.0, False, ""])],
        "kpi_downtime": [series(line_tags | {"asset": a, "reason": "breakdown.needle"}, ["down_min", "coverage"],
                                [t0, m, c]) for a, m, c in (("m1", 5.0, 1.0), ("m2", 7.5, 0.8))],
        "kpi_factory_energy": [series({"enterprise": "f001", "site": "s1"},
                                      ["consumption_kwh", "kwh_per_piece", "green_share", "coverage", "low_coverage"],
                                      [t0, 120.0, 0.5, 0.0, 1.0, False])],
    })
    client = CountingClient(fake, database="seamline")
    kpis = InfluxKpiReader(client=client, kpi_rp="kpi").read([ri.master().enterprise("f001")], ri.DAY)
    day, hour = kpis.lines
    assert (day.window, day.shift, day.start_ms, day.figures.oee, day.figures.coverage) == ("1d", None, t0, 0.4, 0.7)
    assert day.figures.low_coverage and day.figures.flags == ("clipped", "low_coverage")
    assert hour.figures.oee is None and hour.figures.good_pieces == 30.0
    (down,) = kpis.downtime
    assert (down.reason, down.down_min, down.coverage) == ("breakdown.needle", 12.5, 0.8)
    assert kpis.energy[0].green_share == 0.0 and kpis.statements == 3
    assert f"time >= {t0}ms AND time < {t0 + 86_400_000}ms" in fake.requests[0]


def test_enterprises_are_read_per_time_zone_in_bounded_batches() -> None:
    doc = ri.master_doc([f"f{i}" for i in range(5)])
    doc["enterprises"][4]["timezone"] = "Europe/Berlin"
    master = parse_master_data(doc)
    fake = FakeInfluxQL({})
    reader = InfluxKpiReader(client=CountingClient(fake, database="d"), kpi_rp="kpi", windows=CLUSTER_WINDOWS,
                             batch_enterprises=3)
    reader.read(master.enterprises, date(2026, 5, 6))
    assert len(fake.requests) == 3  # Berlin alone; Shanghai in batches of 3 and 1
    berlin = int(datetime(2026, 5, 6, tzinfo=master.enterprise("f4").tz).timestamp() * 1000)
    (alone,) = [q for q in fake.requests if '"enterprise" = \'f4\'' in q]
    assert f"time >= {berlin}ms" in alone
    assert all("""("window" = '1d')""" in q and "'1h'" not in q for q in fake.requests)


def test_an_unavailable_influxdb_is_retried_with_backoff_then_the_error_is_raised() -> None:
    slept: list[float] = []
    fake = FakeInfluxQL({}, fail=2)
    reader = InfluxKpiReader(client=CountingClient(fake, database="d"), kpi_rp="kpi", attempts=3, sleep=slept.append,
                             rng=random.Random(1))
    reader.read([ri.master().enterprise("f001")], ri.DAY)
    assert len(fake.requests) == 3 and len(slept) == 2 and 0.5 <= slept[0] <= 1.0 and 1.0 <= slept[1] <= 2.0
    fake.fail = 5
    with pytest.raises(QueryUnavailableError):
        reader.read([ri.master().enterprise("f001")], ri.DAY)


def _topic(kind: MessageKind, ent: str = "f001", line: str = "line01") -> str:
    return str(Topic.line(enterprise=ent, site="s1", line=line, kind=kind))


def test_retained_payloads_are_validated_and_held_to_their_topic() -> None:
    cap = ri.capacity("f001", "line01", first=date(2026, 5, 7))
    alloc = ri.allocation("f001", "line01", [("PO-1", date(2026, 5, 8), 5)])
    state = fold_platform(
        {_topic(MessageKind.CAPACITY): cap.model_dump_json().encode(),
         _topic(MessageKind.CAPACITY, line="line02"): cap.model_dump_json().encode(),  # says line01
         _topic(MessageKind.CAPACITY, ent="f002"): b'{"schema_version": 1}'},
        {_topic(MessageKind.ALLOCATION): alloc.model_dump_json().encode()}, source="mqtt://b:1")
    assert state.capacity == (cap,) and state.allocations == (alloc,)
    assert len(state.rejected) == 2
    assert any("payload is for f001/s1/line01" in r for r in state.rejected)
    assert any(r.startswith("seamline/v1/f002/s1/line01/_line/capacity: ") for r in state.rejected)


def test_the_platform_reader_asks_for_one_enterprise_and_retries_a_down_broker() -> None:
    asked: list[str] = []
    failures = [2]

    def collect(url: str, topic_filter: str, **kw: Any) -> tuple[dict[str, bytes], int]:
        asked.append(topic_filter)
        assert kw["max_messages"] == 7 and kw["username"] == "report"
        if failures[0]:
            failures[0] -= 1
            raise BrokerUnavailableError("cannot connect")
        return {}, 1

    slept: list[float] = []
    settings = BrokerSettings(url="mqtt://b:1", username="report", max_messages=7, attempts=3)
    state = RetainedPlatformReader(settings=settings, collect=collect, sleep=slept.append).read("f001")
    assert state.problem is None and state.overflow == 2 and len(slept) == 2
    assert asked[-2:] == ["seamline/v1/f001/+/+/_line/capacity", "seamline/v1/f001/+/+/_line/allocation"]
    failures[0] = 9
    down = RetainedPlatformReader(settings=settings, collect=collect, sleep=slept.append).read(None)
    assert down.problem == "cannot connect" and down.capacity == ()
    assert asked[-1] == "seamline/v1/+/+/+/_line/capacity"


def test_the_plan_summary_file(tmp_path: Path) -> None:
    assert PlanSummaryFile(None).read() == PlanInput(source=None)
    missing = PlanSummaryFile(tmp_path / "nope.json").read()
    assert missing.summary is None and missing.problem is not None and missing.problem.startswith("cannot read")
    good = tmp_path / "plan.json"
    good.write_text(ri.plan_summary().model_dump_json())
    assert PlanSummaryFile(good).read().summary == ri.plan_summary()
    bad = parse_plan_summary(b'{"schema_version": 2}', source="x")
    assert bad.summary is None and bad.problem is not None and "schema_version" in bad.problem


def test_alerts_overlapping_the_day_of_the_asked_enterprises() -> None:
    start = datetime(2026, 5, 5, 16, tzinfo=UTC)
    end, now = start + timedelta(days=1), start + timedelta(days=1, hours=2)

    def state(ent: str | None, began: datetime | None, ends: datetime, am_state: str = "active") -> AlertState:
        labels = {"alertname": "machine_down", "severity": "critical", "site": "s1"} | (
            {"enterprise": ent} if ent else {})
        return AlertState(labels=labels, state=am_state, silenced_by=(), inhibited_by=(), ends_at=ends,
                          annotations={"summary": "停机", "summary_en": "down", "value": "25"}, starts_at=began)

    states = [state("f001", start + timedelta(hours=3), now + timedelta(minutes=4)),  # firing, began that day
              state("f001", start - timedelta(days=2), now + timedelta(minutes=4), "suppressed"),  # began before
              state("f001", end + timedelta(minutes=30), now + timedelta(minutes=4)),  # began after the day
              state("f002", start + timedelta(hours=1), now + timedelta(minutes=4)),  # another enterprise
              state(None, start + timedelta(hours=1), now + timedelta(minutes=4)),  # not a seamline alert
              state("f001", start + timedelta(hours=1), start + timedelta(hours=2))]  # resolved within the day
    got = records_from(states, start=start, end=end, enterprises=frozenset({"f001"}), now=now)
    assert [(r.state, r.starts_at - start) for r in got] == [
        ("firing", timedelta(hours=3)), ("resolved", timedelta(hours=1)), ("suppressed", timedelta(days=-2))]
    assert got[0].summary == "停机" and got[0].summary_en == "down" and got[0].value == "25"
    assert got[1].ends_at == start + timedelta(hours=2) and got[0].ends_at is None
    assert len(records_from(states, start=start, end=end, enterprises=None, now=now)) == 4


def test_gather_asks_each_source_for_the_local_day() -> None:
    kpis, platform = ri.FakeKpiReader(ri.day_kpis()), ri.FakePlatformReader(ri.platform())
    alerts = ri.FakeAlertSource(ri.alerts())
    sources = Sources(kpis=kpis, platform=platform, plan=ri.FakePlanReader(PlanInput(source=None)), alerts=alerts,
                      clock=lambda: ri.NOW)
    got = gather(sources, ri.master(), ri.DAY, "f001")
    assert kpis.asked == [(("f001",), ri.DAY)] and platform.asked == ["f001"]
    start, end, ents = alerts.asked[0]
    assert start == datetime(2026, 5, 6, tzinfo=ri.TZ) and end - start == timedelta(days=1)
    assert ents == frozenset({"f001"}) and [a.enterprise for a in got.alerts.alerts] == ["f001"]
    assert got.generated_at == ri.NOW and {p.enterprise for p in got.kpis.lines} == {"f001"}
    cluster = gather(sources, ri.master(), ri.DAY, None)
    assert kpis.asked[-1][0] == ("f001", "f002") and platform.asked[-1] is None
    assert len(cluster.alerts.alerts) == 2
    assert NoAlertSource().read(start=start, end=end, enterprises=None).source is None
