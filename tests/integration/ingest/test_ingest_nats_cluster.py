"""A clustered broker: three NATS nodes (JetStream R3 stream, MQTT 3.1.1 listener each), gateways
(the edge's real uplink + spool + repair) with a failover list, ingest workers competing on one
durable consumer. A node killed (SIGKILL) mid-stream and restarted, or the node a worker is attached
to killed: ingest stores every message the stream captured; nats-server 2.9.10 may PUBACK messages
its stream never stores (README "A clustered broker": printed, not asserted), so the confirmer then
runs until no hole is left: 0 missing, one point per asset and seq (replays collapse). Delivery p50
and p99 during the failover (before the repair) are printed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from seamline.localstack import InfluxdProcess
from seamline.localstack.nats import NatsCluster
from tests.support.ingest_harness import IngestProcess, count_points, create_raw_rp, ingest_config, wait_until
from tests.support.nats_chaos import (
    MEASUREMENT,
    DeliveryClock,
    Gateway,
    consumer_state,
    make_gateways,
    percentile,
    stream_keys,
)
from tests.support.nats_repair import attached_node, confirm_config, deaf_gateways_only, known_gateways, repair

pytestmark = pytest.mark.integration

ROUNDS = 60  # commits per gateway, 0.1 s apart
PER_ASSET = 10  # messages per asset and commit


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


def start_worker(tmp_path: Path, name: str, cluster: NatsCluster, influxd: InfluxdProcess, db: str) -> IngestProcess:
    cfg = ingest_config(tmp_path / f"{name}.yaml", mqtt_port=1, influx_url=influxd.url, database=db, client_id=name,
                        source="jetstream", jetstream={"servers": cluster.servers, "ack_wait_s": 5.0},
                        metrics={"worker": name, "interval_s": 1.0}, gaps={"enabled": False})
    proc = IngestProcess(cfg, log_path=tmp_path / f"{name}.log")
    proc.start()
    proc.wait_subscribed(timeout_s=60)
    return proc


def stream(gws: list[Gateway], clock: DeliveryClock, *, chaos_at: int, chaos: object) -> int:
    base_ms = int(time.time() * 1000) - 3_600_000
    for r in range(ROUNDS):
        if r == chaos_at:
            chaos()  # type: ignore[operator]
        for g in gws:
            clock.committed += g.emit(PER_ASSET, base_ms)
        time.sleep(0.1)
    return sum(sum(g.next_seq.values()) for g in gws)


def run(tmp_path: Path, cluster: NatsCluster, influxd: InfluxdProcess, db: str, workers: list[IngestProcess],
        chaos: object, killed: list[int], *, chaos_at: int = 15) -> None:
    """Stream through the chaos, check ingest stored all the stream captured, then repair: the
    confirmer on a node never killed until no committed seq is missing; 0 missing, one point each."""
    gws = make_gateways(3, cluster.mqtt_addresses, tmp_path, repair=True)
    clock = DeliveryClock(influxd.url, db)
    for g in gws:
        g.uplink.start()
    clock.start()
    try:
        expected = stream(gws, clock, chaos_at=chaos_at, chaos=chaos)
        wait_until(lambda: all(g.spool.stats().messages == 0 for g in gws), timeout_s=90, what="spools drained")
        captured = sum(1 for k in stream_keys(cluster.servers) if k[0].endswith(".data"))  # duplicates aside
        try:
            wait_until(lambda: count_points(influxd.url, db, MEASUREMENT) >= captured, timeout_s=120,
                       what=f"{captured} points (all the stream captured)")
        except TimeoutError as exc:
            stored = count_points(influxd.url, db, MEASUREMENT)
            raise AssertionError(f"{exc}: stored {stored}; {consumer_state(cluster.servers)}") from None
        time.sleep(1.0)
        clock.stop()
        stored = count_points(influxd.url, db, MEASUREMENT)
        assert stored == captured  # ingest stores all the stream holds (workers compete, acks after writes)
        spared = next(i for i in range(len(cluster.nodes)) if i not in killed)
        cfg = confirm_config(tmp_path / "confirm.yaml", cluster, influxd, db, mqtt_node=spared,
                             client_id="confirm")
        fixed = repair(cfg, influxd.url, db, gws)
        lat = clock.latencies_s()
        # not asserted: what nats-server PUBACKed but its R3 stream never stored (README "A clustered broker")
        print(f"\nnode(s) {killed} killed: committed {expected}, the stream captured {captured} "
              f"(nats-server lost {expected - captured} it had PUBACKed), stored {stored}; "
              f"delivery during failover p50 {percentile(lat, 0.5):.2f} s p99 {percentile(lat, 0.99):.2f} s; "
              f"missing before repair {fixed.before}, after {fixed.after}, points {fixed.points}; {fixed.stats}; "
              f"births stored for {sorted(known_gateways(influxd.url, db))}")
        deaf_gateways_only(gws, influxd.url, db, fixed.after)
        assert fixed.after == 0 and fixed.stats.lost_seqs == 0
        assert fixed.points == expected  # 0 duplicates: one point per asset and seq after the replays
    finally:
        clock.stop()
        for g in gws:
            g.uplink.stop(timeout_s=5)
            g.spool.close()
        for w in workers:
            w.kill()


def test_node_killed_mid_stream_and_restarted_loses_nothing(
    tmp_path: Path, cluster: NatsCluster, influxd: InfluxdProcess, db: str
) -> None:
    workers = [start_worker(tmp_path, f"w{i}", cluster, influxd, db) for i in range(2)]
    killed: list[int] = []

    def chaos() -> None:
        killed.append(0)
        cluster.kill(0)  # gateway 0's preferred node
        time.sleep(3)
        cluster.start_node(0)

    run(tmp_path, cluster, influxd, db, workers, chaos, killed)


def test_node_a_worker_is_attached_to_killed_loses_nothing(
    tmp_path: Path, cluster: NatsCluster, influxd: InfluxdProcess, db: str
) -> None:
    workers = [start_worker(tmp_path, "w0", cluster, influxd, db)]
    killed: list[int] = []

    def chaos() -> None:
        node = attached_node(workers[0], cluster)
        killed.append(node)
        cluster.kill(node)

    run(tmp_path, cluster, influxd, db, workers, chaos, killed)
    assert "reconnected" in workers[0].log_text() or workers[0].log_text().count("connected to") > 1
