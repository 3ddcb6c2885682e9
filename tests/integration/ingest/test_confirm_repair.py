"""End-to-end confirmation and repair against real servers: a gateway's spool + uplink (the edge
agent's own classes) publish to a real Mosquitto, a real ingest process writes to a real InfluxDB,
and the platform confirmer (``seamline ingest confirm``'s class) confirms what is stored, asks
for holes, and counts what the gateway reports lost.

* broker restarted mid-stream while ingest holds a shared subscription (Mosquitto 2.0.11 does not
  restore ``$share`` subscriptions, so messages PUBACKed around the restart are dropped): after
  repair every seq is stored;
* InfluxDB unreachable for a while under Mosquitto's default queue limit (1000 queued per session):
  the broker drops what exceeds its queue; after repair every seq is stored;
* a gateway spool too small for an outage: exactly the spool policy's drops come back as
  definitively lost, with their ranges.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seamline.contracts import seqranges
from seamline.ingest.config import load_config
from seamline.ingest.confirm import Confirmer, ConfirmSettings
from seamline.localstack import InfluxdProcess, MosquittoProcess
from seamline.localstack.mosquitto import BrokerOptions
from tests.support.gateway_harness import ASSETS, Gateway, missing, stored
from tests.support.influx_shim import InfluxShim
from tests.support.ingest_harness import IngestProcess, create_raw_rp, influx_query, ingest_config, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def db(influxd: InfluxdProcess, influx_db: str) -> str:
    create_raw_rp(influxd.url, influx_db)
    return influx_db


def start_ingest(tmp_path: Path, port: int, url: str, db: str, **overrides: Any) -> tuple[IngestProcess, Path]:
    cfg = ingest_config(tmp_path / "ingest.yaml", mqtt_port=port, influx_url=url, database=db, **overrides)
    proc = IngestProcess(cfg, log_path=tmp_path / "ingest.log")
    proc.start()
    proc.wait_subscribed()
    return proc, cfg


def repair_until_complete(confirmer: Confirmer, url: str, db: str, n: int, *, timeout_s: float = 30.0) -> int:
    """Confirmer rounds until nothing is missing (or the timeout); returns what is still missing."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        confirmer.round()
        if missing(url, db, n) == 0:
            return 0
        time.sleep(0.5)
    return missing(url, db, n)


@pytest.fixture
def confirmer_factory() -> Iterator[Any]:
    made: list[Confirmer] = []

    def make(cfg: Path) -> Confirmer:
        c = Confirmer(load_config(cfg), ConfirmSettings(interval_s=0.5, grace_s=1.0))
        c.start()
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def test_broker_restart_with_shared_subscriptions_loses_nothing_after_repair(
    tmp_path: Path, mosquitto: MosquittoProcess, influxd: InfluxdProcess, db: str, confirmer_factory: Any,
) -> None:
    n = 1500
    ingest, cfg = start_ingest(tmp_path, mosquitto.port, influxd.url, db, mqtt={"shared": True})
    gw = Gateway(tmp_path / "spool.sqlite", mosquitto.port)
    gw.uplink.start()
    try:
        feeder = threading.Thread(target=gw.emit, args=(range(n),))
        feeder.start()
        wait_until(lambda: gw.spool.stats().put_total >= n, timeout_s=30, what="a third of the stream")
        mosquitto.restart()
        feeder.join(60)
        wait_until(lambda: gw.spool.stats().messages == 0, timeout_s=30, what="the spool drained")
        time.sleep(2)  # ingest's last batches
        before = missing(influxd.url, db, n)
        confirmer = confirmer_factory(cfg)
        after = repair_until_complete(confirmer, influxd.url, db, n)
        stats = confirmer.stats()
        print(f"broker restart: missing before repair {before}, after {after}, {stats}")
        assert after == 0
        assert stats.lost_seqs == 0
        assert stats.repaired_seqs <= before  # the rest came back as unconfirmed replays
    finally:
        gw.close()
        ingest.kill()


def test_influxdb_away_under_default_queue_limits_loses_nothing_after_repair(
    tmp_path: Path, mosquitto_factory: Any, influxd: InfluxdProcess, db: str, confirmer_factory: Any,
) -> None:
    n = 1500
    broker = mosquitto_factory("default-limits", BrokerOptions(max_inflight_messages=20, max_queued_messages=1000))
    with InfluxShim(upstream_url=influxd.url) as shim:
        ingest, cfg = start_ingest(tmp_path, broker.port, shim.url, db, mqtt={"shared": False})
        gw = Gateway(tmp_path / "spool.sqlite", broker.port)
        gw.uplink.start()
        try:
            gw.emit(range(100))
            wait_until(lambda: missing(influxd.url, db, 100) == 0, timeout_s=30, what="the first 100 stored")
            shim.stop()  # the database is away: ingest stops acknowledging, the broker queues then drops
            gw.emit(range(100, n))
            wait_until(lambda: gw.spool.stats().messages == 0, timeout_s=30, what="the spool drained (PUBACKs)")
            time.sleep(2)
            shim.start()
            time.sleep(8)  # ingest writes what the broker kept
            before = missing(influxd.url, db, n)
            confirmer = confirmer_factory(cfg)
            after = repair_until_complete(confirmer, influxd.url, db, n)
            stats = confirmer.stats()
            print(f"influx away: missing before repair {before}, after {after}, {stats}")
            assert after == 0
            assert stats.lost_seqs == 0
        finally:
            gw.close()
            ingest.kill()


def test_a_spool_too_small_for_an_outage_reports_exactly_its_drops_as_lost(
    tmp_path: Path, mosquitto: MosquittoProcess, influxd: InfluxdProcess, db: str, confirmer_factory: Any,
) -> None:
    n = 600
    ingest, cfg = start_ingest(tmp_path, mosquitto.port, influxd.url, db, mqtt={"shared": False})
    gw = Gateway(tmp_path / "spool.sqlite", mosquitto.port, max_bytes=64 * 1024)
    gw.uplink.start()
    try:
        gw.emit(range(100))
        wait_until(lambda: missing(influxd.url, db, 100) == 0, timeout_s=30, what="the first 100 stored")
        gw.uplink.stop(timeout_s=3.0)  # the uplink is down (outage); the agent keeps committing
        gw.emit(range(100, n))
        dropped = gw.spool.stats().dropped_total
        assert dropped > 0
        gw.uplink = gw.new_uplink()
        gw.uplink.start()
        wait_until(lambda: gw.spool.stats().messages == 0, timeout_s=30, what="the spool drained")
        time.sleep(2)
        confirmer = confirmer_factory(cfg)
        deadline = time.monotonic() + 30
        while confirmer.stats().lost_seqs < dropped and time.monotonic() < deadline:
            confirmer.round()
            time.sleep(0.5)
        confirmer.round()
        stats = confirmer.stats()
        have = stored(influxd.url, db)
        holes = {a: seqranges.gaps(have[a]) for a in ASSETS}
        res = influx_query(influxd.url, 'SELECT "from_seq", "to_seq" FROM "raw"."seq_lost" GROUP BY "asset"', db=db)
        lost = {s["tags"]["asset"]: seqranges.merge((int(v[1]), int(v[2])) for v in s["values"])
                for s in res["results"][0].get("series", [])}
        print(f"small spool: dropped {dropped}, lost ranges {lost}, {stats}")
        assert stats.lost_seqs == dropped == missing(influxd.url, db, n)
        assert lost == holes
        assert stats.open_hole_seqs == 0
    finally:
        gw.close()
        ingest.kill()
