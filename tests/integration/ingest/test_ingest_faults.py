"""Ingest against InfluxDB faults (through the fault-injecting shim): nothing lost, exact counts."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from seamline.localstack import InfluxdProcess, MosquittoProcess
from tests.support.influx_shim import InfluxShim
from tests.support.ingest_harness import (
    IngestProcess,
    Publisher,
    count_points,
    create_raw_rp,
    ingest_config,
    sewing_traffic,
    wait_count,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def db(influxd: InfluxdProcess, influx_db: str) -> str:
    create_raw_rp(influxd.url, influx_db)
    return influx_db


@pytest.fixture
def shim(influxd: InfluxdProcess) -> Iterator[InfluxShim]:
    with InfluxShim(upstream_url=influxd.url) as s:
        yield s


@pytest.fixture
def config(tmp_path: Path, mosquitto: MosquittoProcess, shim: InfluxShim, db: str) -> Path:
    return ingest_config(tmp_path / "ingest.yaml", mqtt_port=mosquitto.port, influx_url=shim.url, database=db)


@pytest.fixture
def ingest(tmp_path: Path, config: Path) -> Iterator[IngestProcess]:
    proc = IngestProcess(config, log_path=tmp_path / "ingest.log")
    proc.start()
    proc.wait_subscribed()
    yield proc
    proc.kill()


def test_503_with_retry_after_is_waited_out(
    ingest: IngestProcess, shim: InfluxShim, publisher: Publisher, influxd: InfluxdProcess, db: str
) -> None:
    shim.plan.fail_next(4, 503, retry_after_s=0.3)
    publisher.publish_all(sewing_traffic(3000, assets=3))
    assert wait_count(influxd.url, db, "sewing_machine", 3000) == 3000
    assert shim.count("write:503") == 4


def test_outage_with_ingest_killed_meanwhile_loses_nothing(
    ingest: IngestProcess, shim: InfluxShim, publisher: Publisher, influxd: InfluxdProcess, db: str
) -> None:
    traffic = sewing_traffic(5000, assets=5)
    publisher.publish_all(traffic[:1000])
    wait_count(influxd.url, db, "sewing_machine", 1000)
    shim.stop()  # connection refused from now on
    publisher.publish_all(traffic[1000:])
    time.sleep(3)  # ingest retries, holds its batch, acks nothing
    assert count_points(influxd.url, db, "sewing_machine") == 1000
    ingest.kill()  # un-acked messages stay with the broker
    ingest.start()
    ingest.wait_subscribed()
    time.sleep(1)
    shim.start()
    assert wait_count(influxd.url, db, "sewing_machine", 5000, timeout_s=60) == 5000


def test_outage_then_recovery_with_graceful_stop(
    ingest: IngestProcess, shim: InfluxShim, publisher: Publisher, influxd: InfluxdProcess, db: str
) -> None:
    shim.stop()
    publisher.publish_all(sewing_traffic(2000, assets=2))
    time.sleep(2)
    shim.start()
    assert wait_count(influxd.url, db, "sewing_machine", 2000, timeout_s=60) == 2000
    assert ingest.terminate() == 143  # graceful SIGTERM: 128 + 15, what the systemd unit expects


def test_lines_refused_by_influx_are_quarantined_then_replayed(
    ingest: IngestProcess, shim: InfluxShim, publisher: Publisher, influxd: InfluxdProcess, db: str, config: Path
) -> None:
    shim.plan.reject_lines(lambda line: ",asset=m3," in line)
    publisher.publish_all(sewing_traffic(1000, assets=4))  # 250 per asset
    assert wait_count(influxd.url, db, "sewing_machine", 750) == 750
    wait_until(lambda: "db_rejected=250" in _cli(config, "list", "--limit", "1"), timeout_s=30,
               what="250 quarantined lines")
    shim.plan.reject_lines(None)
    # stdout: the result; stderr (not a terminal): plain progress lines
    assert _cli(config, "replay", "--reason", "db_rejected").splitlines() == [
        "replayed 250, still failing 0", "quarantine replay: 250/250 entries"]
    assert count_points(influxd.url, db, "sewing_machine") == 1000
    assert "empty" in _cli(config, "list")


def test_refused_lines_are_retried_automatically_once_influx_takes_them(
    tmp_path: Path, mosquitto: MosquittoProcess, shim: InfluxShim, publisher: Publisher, influxd: InfluxdProcess,
    db: str,
) -> None:
    config = ingest_config(tmp_path / "ingest-retry.yaml", mqtt_port=mosquitto.port, influx_url=shim.url,
                           database=db, quarantine={"retry_initial_s": 0.5, "retry_max_s": 2.0})
    proc = IngestProcess(config, log_path=tmp_path / "ingest-retry.log")
    proc.start()
    try:
        proc.wait_subscribed()
        shim.plan.reject_lines(lambda line: ",asset=m3," in line)
        publisher.publish_all(sewing_traffic(1000, assets=4))
        assert wait_count(influxd.url, db, "sewing_machine", 750) == 750
        wait_until(lambda: "db_rejected=250" in _cli(config, "list", "--limit", "1"), timeout_s=30,
                   what="250 quarantined lines")
        shim.plan.reject_lines(None)  # the cause went away; nobody runs a replay
        assert wait_count(influxd.url, db, "sewing_machine", 1000, timeout_s=60) == 1000
        wait_until(lambda: "empty" in _cli(config, "list"), timeout_s=30, what="an empty quarantine")
    finally:
        proc.kill()


def test_413_splits_batches(
    ingest: IngestProcess, shim: InfluxShim, publisher: Publisher, influxd: InfluxdProcess, db: str
) -> None:
    shim.plan.max_body_bytes(20_000)
    publisher.publish_all(sewing_traffic(2000, assets=2))
    assert wait_count(influxd.url, db, "sewing_machine", 2000) == 2000
    assert shim.count("write:413") > 0


def test_413_for_every_request_quarantines_nothing_and_resumes_when_the_limit_is_raised(
    ingest: IngestProcess, shim: InfluxShim, publisher: Publisher, influxd: InfluxdProcess, db: str, config: Path
) -> None:
    """A body limit below one line (a misconfigured proxy): valid lines are never quarantined for
    the database's limits; ingest holds them (acks nothing) until the limit is raised."""
    shim.plan.max_body_bytes(1)
    publisher.publish_all(sewing_traffic(600, assets=2))
    wait_until(lambda: shim.count("write:413") >= 8, timeout_s=30, what="413 answers")
    assert count_points(influxd.url, db, "sewing_machine") == 0
    shim.plan.max_body_bytes(None)
    assert wait_count(influxd.url, db, "sewing_machine", 600, timeout_s=90) == 600
    assert "empty" in _cli(config, "list")


@pytest.mark.parametrize("body", ['{"error":"injected by influx_shim"}', "<html>400 Bad Request</html>"])
def test_a_whole_batch_400_naming_no_line_is_retried_as_a_server_fault(
    ingest: IngestProcess, shim: InfluxShim, publisher: Publisher, influxd: InfluxdProcess, db: str, config: Path,
    body: str,
) -> None:
    shim.plan.fail_next(3, 400, body=body)
    publisher.publish_all(sewing_traffic(900, assets=3))
    assert wait_count(influxd.url, db, "sewing_machine", 900, timeout_s=60) == 900
    assert shim.count("write:400") == 3
    assert "empty" in _cli(config, "list")


def _cli(config: Path, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "seamline.ingest.cli", "quarantine", *args, "--config", str(config)],
        capture_output=True, text=True, check=True, timeout=60,
    )
    return out.stdout + out.stderr
