"""seamline ingest as a subprocess against real Mosquitto and InfluxDB: 0 lost, exact counts."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from seamline.contracts.messages import AssetInfo, BirthMessage, GatewayStatusMessage, StateChangeMessage
from seamline.localstack import InfluxdProcess, MosquittoProcess, free_port
from tests.support.ingest_harness import (
    IngestProcess,
    Publisher,
    count_points,
    create_raw_rp,
    ingest_config,
    sewing_topic,
    sewing_traffic,
    wait_count,
    wait_until,
)

pytestmark = pytest.mark.integration

NOW_MS = int(time.time() * 1000)
GW = "seamline/v1/acme/s1/_gateway/gw1"


@pytest.fixture
def db(influxd: InfluxdProcess, influx_db: str) -> str:
    create_raw_rp(influxd.url, influx_db)
    return influx_db


@pytest.fixture
def metrics_port() -> int:
    return free_port()


@pytest.fixture
def ingest(
    tmp_path: Path, mosquitto: MosquittoProcess, influxd: InfluxdProcess, db: str, metrics_port: int
) -> Iterator[IngestProcess]:
    cfg = ingest_config(tmp_path / "ingest.yaml", mqtt_port=mosquitto.port, influx_url=influxd.url, database=db,
                        metrics={"port": metrics_port, "interval_s": 0.5})
    proc = IngestProcess(cfg, log_path=tmp_path / "ingest.log")
    proc.start()
    proc.wait_subscribed()
    yield proc
    proc.kill()


def test_every_message_kind_is_stored_with_exact_counts(
    ingest: IngestProcess, publisher: Publisher, influxd: InfluxdProcess, db: str, metrics_port: int
) -> None:
    traffic = sewing_traffic(1000, assets=5, n_samples=3)
    states = [
        (sewing_topic(f"m{i}", kind="state"),
         StateChangeMessage(ts_ms=NOW_MS - 1000 + i, seq=600, state="running").model_dump_json().encode())
        for i in range(5)
    ]
    birth = BirthMessage(
        gateway_id="gw1", ts_ms=NOW_MS, agent_version="0.1", boot_id="b1",
        assets=[AssetInfo(asset=f"m{i}", area="line1", asset_kind="sewing_machine") for i in range(5)],
    )
    from tests.support.ingest_harness import sewing_payload

    others = [
        *states,
        (sewing_topic("gap1"), sewing_payload(0, NOW_MS - 5000)),
        (sewing_topic("gap1"), sewing_payload(5, NOW_MS - 4000)),  # seq 1..4 never sent
        (f"{GW}/birth", birth.model_dump_json().encode()),
        (f"{GW}/status", GatewayStatusMessage(gateway_id="gw1", state="offline").model_dump_json().encode()),
    ]
    publisher.publish_all([*traffic, *others])
    assert wait_count(influxd.url, db, "sewing_machine", 3002) == 3002
    wait_until(lambda: count_points(influxd.url, db, "gateway_status", "state") == 1, timeout_s=20, what="status")
    assert count_points(influxd.url, db, "machine_state") == 5
    assert count_points(influxd.url, db, "gateway_birth", "boot_id") == 1
    assert count_points(influxd.url, db, "asset_info", "gateway") == 5
    r = influxd.query(f'SELECT * FROM "{db}"."raw"."seq_gap"', db=db)
    rows = r["results"][0]["series"][0]  # type: ignore[index]
    assert [dict(zip(rows["columns"], v, strict=True)) for v in rows["values"]] == [
        {"time": NOW_MS - 4000, "area": "line1", "asset": "gap1", "enterprise": "acme", "site": "s1",
         "from_seq": 0, "to_seq": 5, "missing": 4}
    ]
    # tags from the topic, numeric types as the contract says
    r = influxd.query(f'SHOW FIELD KEYS FROM "{db}"."raw"."sewing_machine"', db=db)
    types = dict(r["results"][0]["series"][0]["values"])  # type: ignore[index]
    assert types == {"current_a": "float", "pieces_total": "integer", "quality": "string", "seq": "integer",
                     "speed_spm": "float", "stitches_total": "integer"}
    # 1000 data + 5 state + 2 gap-asset data + birth + status = 1009 messages, 1009 acks
    metrics = _scrape(metrics_port)
    wait_until(lambda: _scrape(metrics_port).get("seamline_ingest_messages_acked_total") == 1009.0, timeout_s=10,
               what="1009 acks")
    metrics = _scrape(metrics_port)
    assert metrics["seamline_ingest_messages_total"] == 1009.0
    assert metrics["seamline_ingest_points_written_total"] >= 3002 + 5 + 1 + 5 + 1 + 1
    wait_until(lambda: count_points(influxd.url, db, "seamline_ingest", "messages_total") > 0, timeout_s=10,
               what="self-metrics points")
    assert ingest.terminate() == 143  # graceful SIGTERM: 128 + 15, what the systemd unit expects
    assert "0 left for redelivery" in ingest.log_text()


def test_sigkill_mid_stream_and_restart_loses_nothing(
    ingest: IngestProcess, publisher: Publisher, influxd: InfluxdProcess, db: str
) -> None:
    traffic = sewing_traffic(20_000, assets=20)
    publisher.publish_all(traffic[:10_000])
    wait_until(lambda: count_points(influxd.url, db, "sewing_machine") > 0, timeout_s=30, what="first points")
    ingest.kill()
    publisher.publish_all(traffic[10_000:])  # queued by the broker for the persistent session
    ingest.start()
    assert wait_count(influxd.url, db, "sewing_machine", 20_000, timeout_s=90) == 20_000
    # replayed duplicates are the same points; nothing is reported missing
    assert count_points(influxd.url, db, "seq_gap", "missing") == 0


@pytest.mark.parametrize("shared", [False, True])
def test_broker_restart_loses_nothing(
    shared: bool, tmp_path: Path, mosquitto: MosquittoProcess, influxd: InfluxdProcess, db: str
) -> None:
    cfg = ingest_config(tmp_path / "ingest.yaml", mqtt_port=mosquitto.port, influx_url=influxd.url, database=db,
                        mqtt={"shared": shared})
    ingest = IngestProcess(cfg, log_path=tmp_path / "ingest.log")
    ingest.start()
    ingest.wait_subscribed()
    try:
        traffic = sewing_traffic(6000, assets=6)
        pub = Publisher("127.0.0.1", mosquitto.port, client_id="pub-a")
        pub.publish_all(traffic[:3000])
        pub.close()
        mosquitto.restart()  # persistence on: the session, its subscription and queue survive
        if shared:
            # Mosquitto 2.0.11 forgets $share subscriptions on restart until the worker
            # re-subscribes (see MqttConfig.shared): publish only after the reconnect.
            wait_until(lambda: ingest.log_text().count("MQTT connected") == 2, timeout_s=30, what="reconnect")
            time.sleep(0.3)
        pub = Publisher("127.0.0.1", mosquitto.port, client_id="pub-b")
        pub.publish_all(traffic[3000:])
        pub.close()
        assert wait_count(influxd.url, db, "sewing_machine", 6000, timeout_s=60) == 6000
        assert ingest.running
    finally:
        ingest.kill()


def test_publishing_while_ingest_is_still_away_after_a_broker_restart_loses_nothing(
    tmp_path: Path, mosquitto: MosquittoProcess, influxd: InfluxdProcess, db: str
) -> None:
    """The gateways do not wait for ingest: right after the broker is back they publish, while
    ingest is still in its reconnect backoff. The persistent session queues it (shared: false)."""
    cfg = ingest_config(tmp_path / "ingest.yaml", mqtt_port=mosquitto.port, influx_url=influxd.url, database=db,
                        mqtt={"shared": False, "reconnect_min_s": 6, "reconnect_max_s": 8})
    ingest = IngestProcess(cfg, log_path=tmp_path / "ingest.log")
    ingest.start()
    ingest.wait_subscribed()
    try:
        traffic = sewing_traffic(2000, assets=4)
        mosquitto.restart()
        pub = Publisher("127.0.0.1", mosquitto.port, client_id="pub-away")
        pub.publish_all(traffic)
        pub.close()
        away = ingest.log_text().count("MQTT connected") == 1  # published before ingest came back
        assert wait_count(influxd.url, db, "sewing_machine", 2000, timeout_s=60) == 2000
        assert away, "ingest reconnected before the publish ended: the test did not test the gap"
        wait_until(lambda: ingest.log_text().count("MQTT connected") == 2, timeout_s=30, what="one reconnect")
    finally:
        ingest.kill()


def _bad_payloads() -> list[tuple[str, bytes, str]]:
    """(topic, payload, expected reason) - ten kinds of garbage."""
    good_topic = sewing_topic("m0")
    ok_sample = {"ts_ms": NOW_MS, "seq": 1, "metrics": {"current_a": 1.0}}
    return [
        (good_topic, b"{not json", "bad_json"),
        (good_topic, b'{"asset_kind":"meter","samples":[{"ts_ms":%d,"seq":1,"metrics":{"power_w":NaN}}]}' % NOW_MS,
         "non_finite"),
        (good_topic, orjson.dumps({"schema_version": 9, "asset_kind": "sewing_machine", "samples": [ok_sample]}),
         "schema_version"),
        (good_topic, orjson.dumps({"asset_kind": "toaster", "samples": [ok_sample]}), "unknown_asset_kind"),
        (good_topic, orjson.dumps({"asset_kind": "sewing_machine", "samples": [{**ok_sample, "seq": "x"}]}),
         "invalid_payload"),
        (good_topic,
         orjson.dumps({"asset_kind": "sewing_machine", "samples": [{**ok_sample, "ts_ms": NOW_MS + 86_400_000}]}),
         "ts_out_of_window"),
        (f"{GW}/data", orjson.dumps({"asset_kind": "sewing_machine", "samples": [ok_sample]}), "kind_mismatch"),
        # topics our filters match but the grammar refuses
        ("seamline/v1/acme/s1/_x/m0/data", b"{}", "bad_topic"),
        ("seamline/v1/acme/s1/line1/ m0/data", b"{}", "bad_topic"),
        (good_topic, b" " * 3000, "oversized"),  # over the configured 2 000 bytes
    ]


def test_malformed_storm_is_quarantined_and_good_data_stored(
    tmp_path: Path, mosquitto: MosquittoProcess, influxd: InfluxdProcess, db: str, publisher: Publisher
) -> None:
    cfg = ingest_config(tmp_path / "ingest.yaml", mqtt_port=mosquitto.port, influx_url=influxd.url, database=db,
                        validation={"max_payload_bytes": 2000}, mqtt={"client_id": "ingest-storm"})
    proc = IngestProcess(cfg, log_path=tmp_path / "ingest.log")
    proc.start()
    proc.wait_subscribed()
    try:
        bad = _bad_payloads()
        good = sewing_traffic(2000, assets=4)
        storm: list[tuple[str, bytes]] = []
        expected: dict[str, int] = {}
        for i in range(10_000):
            topic, payload, reason = bad[i % len(bad)]
            storm.append((topic, payload))
            expected[reason] = expected.get(reason, 0) + 1
            if i % 5 == 0:
                storm.append(good[i // 5])
        pid = proc.pid
        publisher.publish_all(storm, timeout_s=60)
        assert wait_count(influxd.url, db, "sewing_machine", 2000, timeout_s=120) == 2000
        wait_until(lambda: len(_quarantine_json(tmp_path / "ingest.yaml")) >= 10_000, timeout_s=60,
                   what="10 000 quarantined")
        listing = _quarantine_json(tmp_path / "ingest.yaml")
        counts: dict[str, int] = {}
        for row in listing:
            counts[row["reason"]] = counts.get(row["reason"], 0) + 1
        assert counts == expected
        assert proc.running and proc.pid == pid  # never restarted
        assert proc.log_text().count("MQTT connected") == 1
    finally:
        proc.kill()


def _quarantine_json(config: Path) -> list[dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-m", "seamline.ingest.cli", "quarantine", "list", "--config", str(config),
         "--json", "--limit", "100000"],
        capture_output=True, check=True, timeout=60,
    )
    return [json.loads(line) for line in out.stdout.splitlines()]


def _scrape(port: int) -> dict[str, float]:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and "{" not in line:
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out
