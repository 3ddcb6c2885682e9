"""Issue 12: a gateway whose broker ACL refuses a topic keeps what it published there in its local
quarantine instead of deleting it. Real Mosquitto with a password file and an ACL confining the
gateway to its enterprise and site, the real ingest subscriber writing to the real InfluxDB: the
gateway's client sees the refusal (PUBACK 0x87), the refused messages are in the spool's
quarantine and listed by ``seamline edge quarantine list``, and nothing of them is stored."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
import yaml

from seamline.cli import main
from seamline.contracts.assets import AssetKind
from seamline.edge_agent.spool import OutMessage, Priority, SqliteSpool
from seamline.edge_agent.uplink import Uplink, UplinkSettings
from seamline.localstack import InfluxdProcess, MosquittoProcess
from seamline.localstack.mosquitto import BrokerOptions
from seamline.security.passwd import render
from seamline.storage.influxql import quote_ident
from seamline.storage.schema import Tag, telemetry
from tests.support.ingest_harness import (
    IngestProcess,
    count_points,
    create_raw_rp,
    ingest_config,
    wait_count,
    wait_until,
)

pytestmark = pytest.mark.integration

OWN, OTHER = ("f001", "s1"), ("f002", "s1")
GOOD, FORGED = 40, 7
GW_PASSWORD, INGEST_PASSWORD = "gw-pass-4711", "ingest-pass-0815"
ACL = """user gw01
topic write seamline/v1/f001/s1/#

user ingest
topic read seamline/v1/#
"""


def _sample(seq: int, now_ms: int) -> bytes:
    return orjson.dumps({"asset_kind": "sewing_machine",
                         "samples": [{"ts_ms": now_ms + seq, "seq": seq, "metrics": {"current_a": 1.0}}]})


def test_refused_publish_is_quarantined_locally_and_nothing_is_stored(
    mosquitto_factory: Callable[..., MosquittoProcess], influxd: InfluxdProcess, influx_db: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    passwd.write_text(render([("gw01", GW_PASSWORD), ("ingest", INGEST_PASSWORD)]))
    acl.write_text(ACL)
    broker = mosquitto_factory("acl", BrokerOptions(password_file=passwd, acl_file=acl))
    create_raw_rp(influxd.url, influx_db)
    cfg = ingest_config(tmp_path / "ingest.yaml", mqtt_port=broker.port, influx_url=influxd.url,
                        database=influx_db, mqtt={"username": "ingest", "password": INGEST_PASSWORD})
    ingest = IngestProcess(cfg, log_path=tmp_path / "ingest.log")
    ingest.start()
    try:
        ingest.wait_subscribed()
        now_ms = int(time.time() * 1000)
        own = f"seamline/v1/{OWN[0]}/{OWN[1]}/line07/m001/data"
        other = f"seamline/v1/{OTHER[0]}/{OTHER[1]}/line07/m001/data"
        msgs = [OutMessage(own, _sample(i, now_ms), Priority.AGGREGATE) for i in range(GOOD)]
        msgs[5:5] = [OutMessage(other, _sample(1000 + i, now_ms), Priority.AGGREGATE) for i in range(FORGED)]
        spool_path = tmp_path / "spool.sqlite"
        spool = SqliteSpool(spool_path, max_bytes=1_000_000)
        spool.commit(msgs)
        settings = UplinkSettings(host="127.0.0.1", port=broker.port, client_id="gw01", username="gw01",
                                  password=GW_PASSWORD, backoff_initial_s=0.1, backoff_max_s=0.5)
        will = OutMessage(f"seamline/v1/{OWN[0]}/{OWN[1]}/_gateway/gw01/status", b'{"gateway_id": "gw01", '
                          b'"state": "offline"}', Priority.STATE, retain=True)
        up = Uplink(settings=settings, spool=spool, will=will, on_connect_messages=list)
        up.start()
        try:
            wait_until(lambda: spool.stats().messages == 0, timeout_s=30, what="spool drained")
            stats = up.stats
        finally:
            up.stop()
        # the client saw the refusals, by reason, and kept every refused message
        assert (stats.acked_total, stats.rejected_total) == (GOOD, FORGED)
        assert stats.rejected_by_reason == {"broker_0x87": FORGED}
        kept = spool.quarantined()
        assert [m.topic for m in kept] == [other] * FORGED
        assert sorted(orjson.loads(m.payload)["samples"][0]["seq"] for m in kept) == list(range(1000, 1000 + FORGED))
        assert spool.quarantine_stats().rejected_by_reason == {"broker_0x87": FORGED}
        spool.close()
        # what was allowed is stored; what was refused is not
        measurement = telemetry(AssetKind.SEWING_MACHINE).name
        wait_count(influxd.url, influx_db, measurement, GOOD, timeout_s=30)
        assert count_points(influxd.url, influx_db, measurement) == GOOD
        res = influxd.query(f"SHOW TAG VALUES FROM {quote_ident(measurement)} WITH KEY = {quote_ident(Tag.ENTERPRISE)}",
                            db=influx_db)
        assert [v[1] for v in res["results"][0]["series"][0]["values"]] == [OWN[0]]  # type: ignore[index]
    finally:
        ingest.kill()
    edge_cfg = tmp_path / "edge.yaml"
    edge_cfg.write_text(yaml.safe_dump({"gateway": {"id": "gw01", "enterprise": OWN[0], "site": OWN[1]},
                                        "uplink": {"host": "127.0.0.1", "port": broker.port},
                                        "spool": {"path": str(spool_path)}}))
    capsys.readouterr()
    assert main(["edge", "quarantine", "list", "--config", str(edge_cfg)]) == 0
    out = capsys.readouterr().out
    assert f"{FORGED} message(s) in quarantine" in out and f"refused by reason: broker_0x87 {FORGED}" in out
    assert out.count(other) == FORGED
