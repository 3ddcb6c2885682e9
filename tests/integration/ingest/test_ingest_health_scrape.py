"""``/metrics`` of a running ingest worker while what it needs is away: the broker (connected 0,
the failure logged with its cause) and InfluxDB (write errors and retries counted while failing);
sequence gaps counted as they are detected; the consumer lag (now minus the newest device time
written) while InfluxDB is there (issue 14)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from seamline.localstack import InfluxdProcess, MosquittoProcess, free_port
from tests.support.ingest_harness import (
    IngestProcess,
    Publisher,
    create_raw_rp,
    ingest_config,
    sewing_payload,
    sewing_topic,
    wait_until,
)
from tests.support.metrics_scrape import scrape

pytestmark = pytest.mark.integration


def test_broker_away_then_influx_away(tmp_path: Path, mosquitto: MosquittoProcess, publisher: Publisher) -> None:
    port, dead_broker = free_port(), free_port()
    cfg = ingest_config(tmp_path / "away.yaml", mqtt_port=dead_broker, influx_url="http://127.0.0.1:1",
                        database="seamline", metrics={"port": port, "interval_s": 0.5})
    proc = IngestProcess(cfg, log_path=tmp_path / "away.log")
    proc.start()
    try:
        wait_until(lambda: "cannot connect to MQTT broker" in proc.log_text(), timeout_s=30, what="failure logged")
        assert scrape(port)["seamline_ingest_mqtt_connected"] == 0.0
    finally:
        assert proc.terminate() == 143
    # the broker is there, InfluxDB is not: every write fails, and the counters say so while it does
    cfg = ingest_config(tmp_path / "ingest.yaml", mqtt_port=mosquitto.port, influx_url="http://127.0.0.1:1",
                        database="seamline", metrics={"port": port, "interval_s": 0.5})
    proc = IngestProcess(cfg, log_path=tmp_path / "ingest.log")
    proc.start()
    try:
        proc.wait_subscribed()
        assert scrape(port)["seamline_ingest_mqtt_connected"] == 1.0
        now_ms = int(time.time() * 1000)
        publisher.publish_all([(sewing_topic("g1"), sewing_payload(0, now_ms - 3000)),
                               (sewing_topic("g1"), sewing_payload(4, now_ms - 2000))])  # seq 1..3 missing
        wait_until(lambda: scrape(port).get("seamline_ingest_seq_gaps_total") == 1.0, timeout_s=20, what="gap")
        wait_until(lambda: scrape(port).get('seamline_ingest_write_errors_total{class="retryable"}', 0) >= 2
                   and scrape(port).get("seamline_ingest_write_retries_total", 0) >= 1,
                   timeout_s=60, what="write errors and retries counted while InfluxDB is away")
        m = scrape(port)
        assert m["seamline_ingest_messages_acked_total"] == 0.0  # nothing acked that was not written
        assert m["seamline_ingest_consumer_lag_seconds"] != m["seamline_ingest_consumer_lag_seconds"]  # NaN: none
    finally:
        proc.terminate()


def test_consumer_lag_is_now_minus_the_newest_written_device_time(
    tmp_path: Path, mosquitto: MosquittoProcess, publisher: Publisher, influxd: InfluxdProcess, influx_db: str,
) -> None:
    create_raw_rp(influxd.url, influx_db)
    port = free_port()
    cfg = ingest_config(tmp_path / "ingest.yaml", mqtt_port=mosquitto.port, influx_url=influxd.url,
                        database=influx_db, metrics={"port": port, "interval_s": 0.5})
    proc = IngestProcess(cfg, log_path=tmp_path / "ingest.log")
    proc.start()
    try:
        proc.wait_subscribed()
        newest_ms = int(time.time() * 1000) - 120_000  # two minutes old, as after a gateway's outage
        publisher.publish_all([(sewing_topic("g1"), sewing_payload(0, newest_ms - 5000)),
                               (sewing_topic("g1"), sewing_payload(1, newest_ms))])
        wait_until(lambda: scrape(port).get("seamline_ingest_messages_acked_total") == 2.0, timeout_s=30,
                   what="both messages written and acked")
        before_s = time.time()
        m = scrape(port)
        assert m["seamline_ingest_newest_written_timestamp_seconds"] == newest_ms / 1000
        assert m["seamline_ingest_consumer_lag_seconds"] >= before_s - newest_ms / 1000 >= 120.0
        assert m["seamline_ingest_write_errors_total{class=\"retryable\"}"] == 0.0
    finally:
        assert proc.terminate() == 143


def test_database_missing_counts_permanent_errors_while_it_lasts(
    tmp_path: Path, mosquitto: MosquittoProcess, publisher: Publisher, influxd: InfluxdProcess,
) -> None:
    """InfluxDB answers but the database is not there (404): nothing is acked, and the scrape says
    why while it lasts — permanent write errors and retries counted, not only once it is fixed."""
    port = free_port()
    cfg = ingest_config(tmp_path / "ingest.yaml", mqtt_port=mosquitto.port, influx_url=influxd.url,
                        database="t_never_created", metrics={"port": port, "interval_s": 0.5})
    proc = IngestProcess(cfg, log_path=tmp_path / "ingest.log")
    proc.start()
    try:
        proc.wait_subscribed()
        publisher.publish_all([(sewing_topic("g1"), sewing_payload(0, int(time.time() * 1000) - 1000))])
        wait_until(lambda: scrape(port).get('seamline_ingest_write_errors_total{class="permanent"}', 0) >= 2
                   and scrape(port).get("seamline_ingest_write_retries_total", 0) >= 1,
                   timeout_s=60, what="permanent write errors and retries counted while the database is missing")
        m = scrape(port)
        assert m["seamline_ingest_messages_acked_total"] == 0.0
        assert m['seamline_ingest_write_errors_total{class="retryable"}'] == 0.0  # the class says what to fix
    finally:
        proc.terminate()
