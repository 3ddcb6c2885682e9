"""Every panel query runs: the dashboards' InfluxQL, expanded the way Grafana expands it
(``$timeFilter``, ``$__interval``, template variables with the values their own queries return),
runs on the InfluxDB the end-to-end cluster run filled (the session's ``cluster`` fixture; its
data directory is served again by a fresh influxd), returns data, and has the columns its typed
statement promises. A query text naming a measurement, tag or field the storage schema lacks fails.

The scenario adds what the quick run does not produce by itself, through the producing code:
hourly KPI windows (``seamline rules backfill --window 1h``), a sequence gap (ingest's gap
tracker and point encoder), a gateway back online after the run (ingest's status point), a
quarter of an hour of an ingest worker's self-metrics (the run's workers live for seconds), and one
firing alert (``alert_state`` as the rules alert evaluator
will write it: that evaluator is being built, so this test writes its point in its place)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from seamline.contracts.messages import GatewayState, GatewayStatusMessage
from seamline.contracts.topic import MessageKind, Topic
from seamline.dashboards.catalog import Built, build_all, targets_of
from seamline.dashboards.datasource import MIN_INTERVAL
from seamline.dashboards.influxql import FamilyColumn, Outer, Statement
from seamline.dashboards.settings import DashboardSettings
from seamline.demo.plan import TZ
from seamline.demo.stack import DATABASE
from seamline.ingest.gaps import AssetKey, GapTracker
from seamline.ingest.metrics import IngestMetrics
from seamline.ingest.points import gap_line, message_lines
from seamline.localstack import InfluxdProcess
from seamline.storage.influxql import duration_s
from seamline.storage.line_protocol import encode_line
from seamline.storage.query_client import InfluxQLClient
from seamline.storage.schema import ALERT_STATE, ALL_MEASUREMENTS, TIME, Retention, Tag
from seamline.storage.writer_v1 import InfluxV1Writer
from tests.support.grafana_macros import Selection, expand

pytestmark = pytest.mark.e2e

SETTINGS = DashboardSettings(database=DATABASE, timezone=str(TZ))
MIN_INTERVAL_MS = duration_s(MIN_INTERVAL) * 1000


@dataclass(frozen=True, slots=True)
class Stage:
    client: InfluxQLClient
    from_ms: int
    to_ms: int


def _write(url: str, rp: Retention, lines: list[str]) -> None:
    writer = InfluxV1Writer(url=url, database=DATABASE, retention_policy=rp.value)
    writer.write(lines)
    writer.close()


def _backfill_hours(workdir: Path, url: str, start_ms: int, end_ms: int) -> None:
    doc = yaml.safe_load((workdir / "config" / "rules.yaml").read_text())
    doc["influx"]["url"] = url
    doc["capacity"] = {"enabled": False}
    cfg = workdir / "config" / "rules-dashboards-test.yaml"
    cfg.write_text(yaml.safe_dump(doc))
    iso = [datetime.fromtimestamp(ms / 1000, TZ).isoformat() for ms in (start_ms, end_ms)]
    proc = subprocess.run([sys.executable, "-m", "seamline.cli", "rules", "backfill", "--config", str(cfg),
                           "--from", iso[0], "--to", iso[1], "--window", "1h"], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]


def _worker_history(now_ms: int) -> list[str]:
    """A quarter of an hour of an ingest worker's self-metrics (ingest's own encoder), one point a
    minute: the quick run's workers lived for seconds, too short for a rate per interval."""
    metrics = IngestMetrics()
    lines = []
    for minute in range(15):
        metrics.messages_in.inc(600)
        metrics.points_written.inc(1800)
        metrics.quarantined.labels(reason="bad_json").inc(minute % 3)
        metrics.retries.inc(minute % 2)
        lines.append(metrics.to_line(worker="ingest-long", ts_ms=now_ms - (14 - minute) * 60_000))
    return lines


@pytest.fixture(scope="module")
def stage(cluster: dict[str, Any]) -> Iterator[Stage]:
    workdir = Path(cluster["workdir"]).resolve()
    server = InfluxdProcess(workdir=workdir / "influxdb")
    server.start()
    try:
        window = cluster["summary"]["kpis"]["window"]
        start, end = int(window["start_ms"]), int(window["end_ms"])
        _backfill_hours(workdir, server.url, start, end)
        tracker = GapTracker(max_assets=8)
        key = AssetKey(enterprise="f001", site="s1", area="line01", asset="m001")
        tracker.observe(key, 10, start + 1_800_000)
        gap = tracker.observe(key, 15, start + 1_860_000)
        assert gap is not None and gap.missing == 4
        _write(server.url, Retention.RAW, [gap_line(gap)])
        now_ms = int(time.time() * 1000)
        alert = {Tag.ALERTNAME: "machine_down", Tag.SEVERITY: "critical", Tag.ENTERPRISE: "f001", Tag.SITE: "s1",
                 Tag.ASSET: "m001"}
        _write(server.url, Retention.KPI, [encode_line(ALERT_STATE.name, alert, {"firing": 1}, now_ms - 60_000)])
        # after the run every gateway said offline; one comes back (its birth status, as ingest stores it)
        back = GatewayStatusMessage(gateway_id="gw-f001", state=GatewayState.ONLINE, ts_ms=now_ms, boot_id="b2")
        topic = Topic.gateway(enterprise="f001", site="s1", gateway_id="gw-f001", kind=MessageKind.STATUS)
        _write(server.url, Retention.RAW, message_lines(topic, back, received_ms=now_ms, gaps=None))
        _write(server.url, Retention.RAW, _worker_history(now_ms))
        yield Stage(InfluxQLClient(url=server.url, timeout_s=60), start - 3_600_000, now_ms + 60_000)
    finally:
        server.stop()


def _values(result: list[dict[str, Any]]) -> list[str]:
    return sorted({str(v[1]) for s in result[0].get("series", []) for v in s["values"]})


def _selections(stage: Stage, built: Built, *, all_values: bool) -> dict[str, Selection]:
    """Each variable's selection: its own query run with the earlier ones ("All" or the first value)."""
    out: dict[str, Selection] = {}
    for v in built.document["templating"]["list"]:
        default = (v.get("current") or {}).get("value")
        if v["type"] == "textbox":
            out[v["name"]] = Selection((str(default),), regex_escape=False)
            continue
        q = expand(v["query"], from_ms=stage.from_ms, to_ms=stage.to_ms, max_data_points=None,
                   min_interval_ms=MIN_INTERVAL_MS, variables=out)
        values = _values(stage.client.query(q, db=DATABASE))
        assert values, f"{built.uid}: variable {v['name']} has no values: {q}"
        multi = bool(v.get("multi") or v.get("includeAll"))
        if multi and all_values:
            out[v["name"]] = Selection(tuple(values), all_value=v.get("allValue"))
        elif multi:
            out[v["name"]] = Selection((values[0],))
        else:
            out[v["name"]] = Selection((default if default in values else values[0],), regex_escape=False)
    return out


_IDENT = re.compile(r'"((?:[^"\\]|\\.)+)"')
_SOURCE = re.compile(r'FROM "([^"]+)"\."([^"]+)"')
_ALIAS = re.compile(r'AS "([^"]+)"')
_FAMILY = re.compile(r"\(/\^(\w+)/\)")


def schema_problems(query: str) -> list[str]:
    """Names in a panel's query text that are not the deployment's RPs, schema measurements, their
    tags or fields, or the query's own aliases (read from the JSON text, not the typed statement)."""
    sources = _SOURCE.findall(query)
    problems = [f"retention policy {rp!r}" for rp, _ in sources if rp not in (SETTINGS.raw_rp, SETTINGS.kpi_rp)]
    problems += [f"measurement {m!r}" for _, m in sources if m not in ALL_MEASUREMENTS]
    known = {n for _, m in sources if m in ALL_MEASUREMENTS
             for n in (*ALL_MEASUREMENTS[m].tags, *ALL_MEASUREMENTS[m].fields)}
    known |= {p for rp, m in sources for p in (rp, m)} | set(_ALIAS.findall(query))
    problems += [f"tag or field {n!r}" for n in _IDENT.findall(query) if n not in known]
    families = {f for _, m in sources if m in ALL_MEASUREMENTS for f in ALL_MEASUREMENTS[m].families}
    problems += [f"field family {f!r}" for f in _FAMILY.findall(query) if f not in families]
    return problems


def test_the_schema_check_sees_a_wrong_name() -> None:
    good = 'SELECT mean("oee") AS "x" FROM "kpi"."kpi_line" WHERE "line" =~ /^$line$/'
    assert schema_problems(good) == []
    assert schema_problems(good.replace('"oee"', '"oee_pct"')) == ["tag or field 'oee_pct'"]
    assert schema_problems(good.replace('"line"', '"area"')) == ["tag or field 'area'"]
    assert schema_problems(good.replace("kpi_line", "kpi_lines"))[0] == "measurement 'kpi_lines'"


def _check_columns(statement: Statement | Outer, series: list[dict[str, Any]], where: str) -> None:
    want = statement.output
    tags = statement.inner.tags if isinstance(statement, Outer) and not statement.tags else statement.tags
    for s in series:
        cols = s["columns"]
        if isinstance(statement, Statement) and any(isinstance(c, FamilyColumn) for c in statement.columns):
            prefix = want[1].rstrip("*")
            assert cols[0] == TIME and len(cols) > 1 and all(c.startswith(prefix) for c in cols[1:]), (where, cols)
        else:
            assert tuple(cols) == want, (where, cols, want)
        if not isinstance(statement, Outer) or statement.tags:
            assert set(tags) <= set(s.get("tags") or {}), (where, s.get("tags"), tags)


def _has_values(series: list[dict[str, Any]]) -> bool:
    return any(v is not None for s in series for row in s.get("values", []) for v in row[1:])


def _run_all(stage: Stage, *, all_values: bool) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for built in build_all(SETTINGS):
        sel = _selections(stage, built, all_values=all_values)
        for panel, t in targets_of(built.model):
            where = f"{built.uid} / {panel.title} / {t.ref_id}"
            assert t.statement is not None and t.query == t.statement.render(), where
            assert schema_problems(t.query) == [], (where, schema_problems(t.query))
            q = expand(t.query, from_ms=stage.from_ms, to_ms=stage.to_ms, max_data_points=panel.max_data_points,
                       min_interval_ms=MIN_INTERVAL_MS, variables=sel)
            result = stage.client.query(q, db=DATABASE)  # raises QueryRefusedError on any InfluxQL error
            out[where] = result[0].get("series", [])
            _check_columns(t.statement, out[where], where)
    return out


def test_every_panel_query_returns_data_with_its_columns(stage: Stage) -> None:
    """With "All" selected (the dashboards' default), every query of every panel returns data."""
    results = _run_all(stage, all_values=True)
    empty = sorted(w for w, series in results.items() if not _has_values(series))
    print(f"\n{len(results)} panel queries ran; {len(results) - len(empty)} returned data")
    assert len(results) >= 50
    assert empty == [], "\n".join(empty)


def test_every_panel_query_runs_with_single_values(stage: Stage) -> None:
    """The first value of each variable (escaped into the regex as Grafana does) runs too."""
    results = _run_all(stage, all_values=False)
    assert len(results) >= 50
    assert sum(_has_values(s) for s in results.values()) > len(results) // 2
