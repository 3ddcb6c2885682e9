"""The alert evaluator's InfluxQL against a real InfluxDB: each built-in rule's scenario
(tests/support/alert_scenarios.py) written as points into RP raw / kpi, read back through
InfluxFacts (one request), gives the same readings as the scenario's facts - so the rules that
fire on the scenarios in the unit tests fire on stored data too, and the statements are valid."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from seamline.localstack import InfluxdProcess
from seamline.rules.alerts.evaluator import readings_for
from seamline.rules.alerts.facts import InfluxFacts
from seamline.rules.alerts.kpi_windows import KpiWindows
from seamline.rules.alerts.queries import COMMON, queries_for
from seamline.rules.alerts.readings import Platform, Topology
from seamline.rules.master_data import load_master_data
from seamline.storage.line_protocol import encode_line
from seamline.storage.query_client import InfluxQLClient
from seamline.storage.schema import Retention, measurement
from seamline.storage.writer_v1 import InfluxV1Writer
from tests.support.alert_scenarios import SCENARIOS, START, Scenario, facts_at, rule
from tests.support.alerts_stack import Influx

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
MASTER = load_master_data(REPO / "rules" / "master_data.sample.yaml")
PLATFORM = Platform("platform", "ingest")


@pytest.mark.parametrize("sc", SCENARIOS, ids=lambda s: s.rule_id)
def test_scenario_read_back_from_influxdb_gives_the_same_readings(
        sc: Scenario, influxd: InfluxdProcess, influx_db: str) -> None:
    Influx(influxd.url, influx_db)  # retention policies raw and kpi
    as_of = START + timedelta(minutes=30)
    facts = facts_at(sc, as_of)
    by_rp: dict[str, list[str]] = {}
    for q, series in facts.items():
        rp = measurement(q.measurement).retention.value
        for s in series:
            for row in s.rows:
                fields = {k: v for k, v in row.items() if k != "time" and v is not None}
                by_rp.setdefault(rp, []).append(encode_line(q.measurement, dict(s.tags), fields, int(row["time"])))
    for rp, lines in by_rp.items():
        w = InfluxV1Writer(url=influxd.url, database=influx_db, retention_policy=rp)
        w.write(lines)
        w.close()
    r = rule(sc.rule_id)
    source = InfluxFacts(InfluxQLClient(url=influxd.url), database=influx_db, raw_rp=Retention.RAW.value,
                         kpi_rp=Retention.KPI.value)
    queries = [*COMMON, *queries_for(r.condition)]
    stored = source.read(queries, ["f001", "f002"], as_of, platform=True)
    assert source.requests == 1 and source.statements == len(queries)
    windows = KpiWindows(MASTER)

    def readings(f: object) -> list[object]:
        got = readings_for(r, f, as_of, windows, Topology.of(f, as_of), PLATFORM)  # type: ignore[arg-type]
        return sorted(got, key=repr)

    expected = readings(facts)
    assert expected, "the scenario gives the rule something to read"
    assert readings(stored) == expected
