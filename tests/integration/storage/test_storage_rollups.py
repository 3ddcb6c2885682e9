"""Rollups against the real InfluxDB 1.x with continuous queries on: ``seamline db init`` creates the
retention policies and CQs (idempotent, replaced when changed), a running CQ rolls raw telemetry up
as its aggregations say, and ``seamline db rollup`` backfills a past range."""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seamline.cli import main
from seamline.localstack import InfluxdProcess
from seamline.storage.db_init import DbLayout, init_v1
from seamline.storage.line_protocol import encode_line
from seamline.storage.query_client import InfluxQLClient
from seamline.storage.rollups import RollupSpec
from tests.support.ingest_harness import wait_until

pytestmark = pytest.mark.integration

TAGS = {"enterprise": "e1", "site": "s1", "area": "line1"}


@pytest.fixture(scope="module")
def cq_influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxdProcess]:
    """Its own server: the session's runs with continuous queries off."""
    server = InfluxdProcess(workdir=tmp_path_factory.mktemp("influxd-cq"), continuous_queries=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def db(cq_influxd: InfluxdProcess) -> Iterator[str]:
    name = f"roll_{uuid.uuid4().hex[:10]}"
    yield name
    cq_influxd.query(f'DROP DATABASE "{name}"')


def _write(server: InfluxdProcess, db: str, lines: list[str]) -> None:
    req = urllib.request.Request(f"{server.url}/write?db={db}&rp=raw&precision=ms", data="\n".join(lines).encode())
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 204


def _rows(server: InfluxdProcess, q: str, db: str) -> list[dict[str, Any]]:
    res: Any = server.query(q, db=db)
    out = []
    for s in res["results"][0].get("series", []):
        out += [{**s.get("tags", {}), **dict(zip(s["columns"], v, strict=True))} for v in s["values"]]
    return out


def _cq_names(server: InfluxdProcess, db: str) -> list[str]:
    res: Any = server.query("SHOW CONTINUOUS QUERIES")
    return sorted(row[0] for s in res["results"][0]["series"] if s["name"] == db for row in s.get("values", []))


def test_db_init_creates_rollup_policies_and_queries_idempotently(
    cq_influxd: InfluxdProcess, db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "init", "--url", cq_influxd.url, "--database", db]) == 0  # the default rollups
    show = f'SHOW RETENTION POLICIES ON "{db}"'
    rps = {r["name"]: (r["duration"], r["default"]) for r in _rows(cq_influxd, show, db)}
    assert rps["raw"] == ("2160h0m0s", True)
    assert rps["rollup_1h"] == ("17520h0m0s", False) and rps["rollup_1d"] == ("0s", False)
    names = _cq_names(cq_influxd, db)
    kinds = ("battery", "met_station", "meter", "pv_inverter", "sewing_machine", "wind_turbine")
    assert [n.rsplit("_", 1)[0] for n in names] == sorted(f"rollup_{e}_{k}" for e in ("1d", "1h") for k in kinds)
    assert "rollups: rollup_1h kept 730d, rollup_1d kept INF" in capsys.readouterr().out
    assert main(["db", "init", "--url", cq_influxd.url, "--database", db]) == 0
    assert "ready (0 change(s)" in capsys.readouterr().out
    assert _cq_names(cq_influxd, db) == names

    cfg = tmp_path / "rules.yaml"  # hourly kept a year, daily rollups no longer wanted
    cfg.write_text(f"influx:\n  url: {cq_influxd.url}\n  database: {db}\n  rollups:\n"
                   "    - {every: 1h, duration: 365d, resample_for: 3h}\n")
    assert main(["db", "init", "--config", str(cfg)]) == 0
    after = _cq_names(cq_influxd, db)
    assert len(after) == len(kinds) and all(n.startswith("rollup_1h_") for n in after)
    assert not set(after) & set(names)  # a changed definition is a new CQ
    rps = {r["name"]: r["duration"] for r in _rows(cq_influxd, f'SHOW RETENTION POLICIES ON "{db}"', db)}
    assert rps["rollup_1h"] == "8760h0m0s" and "rollup_1d" in rps  # a policy (and its data) is never dropped
    assert main(["db", "init", "--config", str(cfg), "--no-rollups"]) == 0
    assert _cq_names(cq_influxd, db) == []


def test_a_running_continuous_query_rolls_raw_telemetry_up(cq_influxd: InfluxdProcess, db: str) -> None:
    spec = RollupSpec(every="10s", duration="1d", resample_for="120s")
    init_v1(InfluxQLClient(url=cq_influxd.url), DbLayout(database=db, rollups=(spec,)))
    t0 = (int(time.time() * 1000) // 10_000 - 6) * 10_000  # six 10 s intervals back
    lines, want = [], {}
    for m in ("m1", "m2"):
        for i in range(30):  # a 2 s aggregate every 2 s over the 60 s
            ts = t0 + i * 2000
            run_s = 0.5 + (i % 3) * 0.5 + (m == "m2")
            lines.append(encode_line("sewing_machine", {**TAGS, "asset": m},
                                     {"run_s": run_s, "idle_s": 2 - min(2.0, run_s), "current_max_a": float(i % 7),
                                      "samples": 2, "seq": i}, ts))
            key = (m, ts // 10_000 * 10_000)
            s, n, mx = want.get(key, (0.0, 0, 0.0))
            want[key] = (s + run_s, n + 1, max(mx, float(i % 7)))
    _write(cq_influxd, db, lines)
    q = 'SELECT run_s, seq, current_max_a, samples FROM "rollup_10s"."sewing_machine" GROUP BY asset'

    def rolled() -> dict[tuple[str, int], tuple[float, int, float]]:
        return {(r["asset"], r["time"]): (round(r["run_s"], 9), r["seq"], r["current_max_a"])
                for r in _rows(cq_influxd, q, db)}

    expected = {k: (round(s, 9), n, mx) for k, (s, n, mx) in want.items()}
    wait_until(lambda: rolled() == expected, timeout_s=60, what="the CQ's rollup of every interval", poll_s=0.5)
    assert rolled() == expected
    assert {r["samples"] for r in _rows(cq_influxd, q, db)} == {10}  # five 2-sample aggregates per 10 s


def test_db_rollup_backfills_a_past_range(
    cq_influxd: InfluxdProcess, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "init", "--url", cq_influxd.url, "--database", db]) == 0
    hour = 3_600_000
    h0 = (int(time.time() * 1000) // hour - 5) * hour  # long before the CQs' resample window
    tags = {"enterprise": "e1", "site": "s1", "area": "energy", "asset": "grid"}
    lines = [encode_line("meter", tags, {"power_w": 1000.0 * (k % 4), "import_energy_wh": 500.0 * k, "seq": k},
                         h0 + k * 60_000) for k in range(180)]  # three hours, one a minute
    _write(cq_influxd, db, lines)
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(h0 / 1000))
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((h0 + 3 * hour) / 1000))
    assert main(["db", "rollup", "--url", cq_influxd.url, "--database", db, "--start", start, "--end", end,
                 "--every", "1h"]) == 0
    assert f"database {db}: 3 rollup points written (rollup_1h)" in capsys.readouterr().out
    got = _rows(cq_influxd, 'SELECT power_w, import_energy_wh, seq FROM "rollup_1h"."meter"', db)
    assert [(r["time"], r["power_w"], r["import_energy_wh"], r["seq"]) for r in got] == [
        (h0 + h * hour, 1500.0, 500.0 * (60 * h + 59), 60) for h in range(3)]
    assert main(["db", "rollup", "--url", cq_influxd.url, "--database", db, "--start", end, "--end", start]) == 2
