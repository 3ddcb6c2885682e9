"""The clustered broker with end-to-end repair: three NATS nodes (R3 stream, MQTT 3.1.1), gateways
(the edge's real spool + uplink + repair, with a failover list) and an ingest worker on the
JetStream source; the node the worker is attached to is killed for good mid-stream. nats-server
2.9.10 may PUBACK messages its stream never stores then (test_ingest_nats_cluster.py xfails with
the count); with the confirmer (``seamline ingest confirm``) connected to a surviving node's MQTT
listener, the gateways re-send the holes and every committed seq ends up stored exactly once.

Over MQTT 3.1.1 a replay carries no ``seamline-replay`` user property: replays must still collapse
(same series and timestamp) — the stored point count equals the committed message count."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from seamline.ingest.quarantine import QuarantineStore
from seamline.localstack import InfluxdProcess
from seamline.localstack.nats import NatsCluster
from tests.support.ingest_harness import IngestProcess, count_points, create_raw_rp, wait_until
from tests.support.nats_chaos import MEASUREMENT, create_stream, delete_stream_messages, make_gateways, stream_keys
from tests.support.nats_repair import attached_node, confirm_config, deaf_gateways_only, repair

pytestmark = pytest.mark.integration

ROUNDS = 60  # commits per gateway, 0.1 s apart
PER_ASSET = 10  # messages per asset and commit
LOSS_AT = 15  # round at which the stream loses DELETED, the worker starts and its node is killed
DELETED = (201, 350)  # stream sequences lost: 150 data messages of rounds 6-11, every asset's middle


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    c = NatsCluster(tmp_path / "nats")
    c.start()
    yield c
    c.stop()


@pytest.fixture
def db(influxd: InfluxdProcess, influx_db: str) -> str:
    create_raw_rp(influxd.url, influx_db)
    return influx_db


def worker_config(tmp_path: Path, cluster: NatsCluster, influxd: InfluxdProcess, db: str, *, mqtt_node: int) -> Path:
    """The worker's config; its ``mqtt`` block (a node's MQTT listener) is what the confirmer uses."""
    return confirm_config(tmp_path / "w0.yaml", cluster, influxd, db, mqtt_node=mqtt_node)


def test_node_killed_for_good_holes_are_resent_and_nothing_is_lost(
    tmp_path: Path, cluster: NatsCluster, influxd: InfluxdProcess, db: str
) -> None:
    create_stream(cluster.servers)
    gws = make_gateways(3, cluster.mqtt_addresses, tmp_path, repair=True)
    worker = IngestProcess(worker_config(tmp_path, cluster, influxd, db, mqtt_node=0),
                           log_path=tmp_path / "w0.log")
    for g in gws:
        g.uplink.start()
    try:
        base_ms = int(time.time() * 1000) - 3_600_000
        for r in range(ROUNDS):
            if r == LOSS_AT:
                # the first rounds wait in the stream; it loses some of them for sure (the node kill
                # below may or may not make nats-server lose more), then the worker starts
                wait_until(lambda: all(g.spool.stats().messages == 0 for g in gws), timeout_s=30,
                           what="the first rounds PUBACKed")
                deleted = delete_stream_messages(cluster.servers, *DELETED)
                worker.start()
                worker.wait_subscribed(timeout_s=60)
                killed = attached_node(worker, cluster)
                cluster.kill(killed)  # for good: not restarted
            for g in gws:
                g.emit(PER_ASSET, base_ms)
            time.sleep(0.1)
        survivor = next(i for i in range(len(cluster.nodes)) if i != killed)
        cfg = worker_config(tmp_path, cluster, influxd, db, mqtt_node=survivor)  # the confirmer's
        committed = sum(sum(g.next_seq.values()) for g in gws)
        wait_until(lambda: all(g.spool.stats().messages == 0 for g in gws), timeout_s=90, what="spools drained")
        captured = sum(1 for k in stream_keys(cluster.servers) if k[0].endswith(".data"))
        wait_until(lambda: count_points(influxd.url, db, MEASUREMENT) >= captured, timeout_s=120,
                   what=f"{captured} points (all the stream captured)")
        fixed = repair(cfg, influxd.url, db, gws)
        before, after, points, stats = fixed.before, fixed.after, fixed.points, fixed.stats
        replayed = {g.name: g.repair.counters for g in gws if g.repair}
        print(f"\nNATS node {killed} killed for good, {deleted} stream messages deleted: committed {committed}, "
              f"the stream captured {captured}, "
              f"missing before repair {before}, after {after}, points {points}; {stats}; gateways {replayed}")
        assert before > 0 and deleted == DELETED[1] - DELETED[0] + 1  # the repair had holes to fill
        deaf_gateways_only(gws, influxd.url, db, after)
        assert after == 0 and stats.lost_seqs == 0
        assert points == committed  # replays collapsed: one point per asset and seq, no MQTT 5 marker needed
        # the stream captured the confirms and resends too (seamline.v1.>): skipped, not quarantined
        store = QuarantineStore(tmp_path / "w0-quarantine.sqlite", max_rows=1000)
        try:
            assert store.counts().get("unsupported_kind", 0) == 0, store.counts()
        finally:
            store.close()
    finally:
        for g in gws:
            g.uplink.stop(timeout_s=5)
            g.spool.close()
        worker.kill()
