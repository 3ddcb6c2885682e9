"""``seamline db init`` / ``db query`` against the real InfluxDB 1.x: layout created, idempotent,
corrected when a duration changes, and the influx: section of an ingest or rules config honoured
(the same block in both)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seamline.cli import main
from seamline.localstack import InfluxdProcess
from seamline.storage.db_init import DbLayout, RetentionSpec, init_v1
from seamline.storage.influxql import duration_s
from seamline.storage.query_client import InfluxQLClient
from seamline.storage.writer_v1 import InfluxV1Writer
from tests.support.influx_shim import InfluxShim

pytestmark = pytest.mark.integration


@pytest.fixture
def db_name(influxd: InfluxdProcess) -> Iterator[str]:
    name = f"init_{uuid.uuid4().hex[:10]}"
    yield name
    influxd.query(f'DROP DATABASE "{name}"')


def policies(influxd: InfluxdProcess, db: str) -> dict[str, tuple[str, bool]]:
    res: Any = influxd.query(f'SHOW RETENTION POLICIES ON "{db}"')
    s = res["results"][0]["series"][0]
    return {row[0]: (row[1], row[4]) for row in s["values"]}


def test_init_creates_layout_and_is_idempotent(influxd: InfluxdProcess, db_name: str) -> None:
    client = InfluxQLClient(url=influxd.url)
    layout = DbLayout(database=db_name)
    first = init_v1(client, layout)
    assert first[0] == f'CREATE DATABASE "{db_name}"' and len(first) == 3
    got = policies(influxd, db_name)
    assert got["raw"] == ("2160h0m0s", True)
    assert got["kpi"] == ("0s", False)
    assert got["autogen"][1] is False
    assert init_v1(client, layout) == []  # second run: nothing to do


def test_init_corrects_a_changed_duration(influxd: InfluxdProcess, db_name: str) -> None:
    client = InfluxQLClient(url=influxd.url)
    init_v1(client, DbLayout(database=db_name))
    changed = DbLayout(
        database=db_name,
        policies=(RetentionSpec(name="raw", duration="30d", default=True), RetentionSpec(name="kpi", duration="520w")),
    )
    actions = init_v1(client, changed)
    assert actions == [
        f'ALTER RETENTION POLICY "raw" ON "{db_name}" DURATION 30d DEFAULT',
        f'ALTER RETENTION POLICY "kpi" ON "{db_name}" DURATION 520w',
    ]
    assert policies(influxd, db_name)["raw"] == ("720h0m0s", True)
    assert policies(influxd, db_name)["kpi"] == ("87360h0m0s", False)
    assert init_v1(client, changed) == []


def test_cli_init_from_config_then_query(
    influxd: InfluxdProcess, db_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "ingest.yaml"
    cfg.write_text(f"influx:\n  url: {influxd.url}\n  database: {db_name}\n  retention_policy: raw\n")
    assert main(["db", "init", "--config", str(cfg), "--raw-duration", "14d"]) == 0
    assert policies(influxd, db_name)["raw"] == ("336h0m0s", True)
    assert main(["db", "init", "--config", str(cfg), "--raw-duration", "14d"]) == 0
    assert "ready (0 change(s)" in capsys.readouterr().out
    w = InfluxV1Writer(url=influxd.url, database=db_name)  # no rp: lands in the default, raw
    w.write([f"m,asset=a1 f=2.5 {int(time.time() * 1000)}"])
    w.close()
    assert main(["db", "query", "--url", influxd.url, "--database", db_name, "SELECT f, asset FROM raw.m"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "# m" and out[1] == "time\tf\tasset"
    assert len(out) == 3 and out[2].split("\t")[1:] == ["2.5", "a1"]


def test_cli_init_from_a_rules_config_uses_its_policy_names_and_durations(
    influxd: InfluxdProcess, db_name: str, tmp_path: Path
) -> None:
    cfg = tmp_path / "rules.yaml"
    cfg.write_text(f"master_data: m.yaml\ninflux:\n  url: {influxd.url}\n  database: {db_name}\n"
                   "  raw_rp: telemetry\n  kpi_rp: derived\n  raw_duration: 30d\n  kpi_duration: 520w\n")
    assert main(["db", "init", "--config", str(cfg)]) == 0
    got = policies(influxd, db_name)
    assert got["telemetry"] == ("720h0m0s", True) and got["derived"] == ("87360h0m0s", False)


def test_cli_query_on_a_v2_server_sends_the_token(
    influxd: InfluxdProcess, db_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init_v1(InfluxQLClient(url=influxd.url), DbLayout(database=db_name))
    buckets = {f"{db_name}/raw": (db_name, "raw"), f"{db_name}/kpi": (db_name, "kpi")}
    with InfluxShim(upstream_url=influxd.url, token="tok", buckets=buckets) as shim:
        cfg = tmp_path / "ingest.yaml"
        cfg.write_text(f"influx: {{version: 2, url: '{shim.url}', database: {db_name}, token: tok}}\n")
        assert main(["db", "query", "--config", str(cfg), "SHOW RETENTION POLICIES"]) == 0
        assert "raw" in capsys.readouterr().out and shim.count("query") == 1
        cfg.write_text(f"influx: {{version: 2, url: '{shim.url}', database: {db_name}, token: wrong}}\n")
        assert main(["db", "query", "--config", str(cfg), "SHOW RETENTION POLICIES"]) == 1
        err = capsys.readouterr().err
        assert "HTTP 401" in err and "wrong" not in err and shim.count("query:401") == 1


def test_cli_usage_errors_exit_2(tmp_path: Path) -> None:
    assert main(["db", "init", "--url", "http://127.0.0.1:1", "--raw-duration", "ninety days"]) == 2
    assert main(["db", "init", "--config", str(tmp_path / "missing.yaml")]) == 2
    assert main(["db", "init", "--url", "http://127.0.0.1:1", "--password-env", "SEAMLINE_NOT_SET_X"]) == 2
    assert main(["db", "init", "--url", "http://127.0.0.1:1", "--influx-version", "2"]) == 2  # no token


def test_cli_unreachable_server_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    from seamline.localstack import free_port

    assert main(["db", "init", "--url", f"http://127.0.0.1:{free_port()}"]) == 1
    assert "cannot reach InfluxDB" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "seconds"), [("90d", 7_776_000), ("INF", 0), ("0s", 0), ("2160h0m0s", 7_776_000), ("1w2d", 777_600)]
)
def test_duration_parsing(text: str, seconds: int) -> None:
    assert duration_s(text) == seconds
