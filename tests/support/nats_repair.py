"""End-to-end repair on the NATS cluster: what InfluxDB holds per asset against what the gateways
committed, and the confirmer (``seamline ingest confirm``) run until no hole is left. Shared by
the chaos tests on the cluster (test_ingest_nats_cluster.py, test_ingest_nats_repair.py)."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from seamline.contracts import seqranges
from seamline.ingest.config import load_config
from seamline.ingest.confirm import Confirmer, ConfirmSettings, ConfirmStats
from seamline.localstack import InfluxdProcess
from seamline.localstack.nats import NatsCluster
from seamline.mqtt_connect import MqttConnectError
from tests.support.ingest_harness import IngestProcess, count_points, influx_query, ingest_config
from tests.support.nats_chaos import MEASUREMENT, Gateway

REPAIR_TIMEOUT_S = 60.0  # a full repair took 4 confirmer rounds (~5 s) when every gateway heard the confirmer


def attached_node(worker: IngestProcess, cluster: NatsCluster) -> int:
    """The node the worker's JetStream connection is on now (its last 'connected' log line)."""
    ports = re.findall(r"JetStream: (?:re)?connected to 127\.0\.0\.1:(\d+)", worker.log_text())
    return [n.port for n in cluster.nodes].index(int(ports[-1]))


def confirm_config(path: Path, cluster: NatsCluster, influxd: InfluxdProcess, db: str, *, mqtt_node: int,
                   client_id: str = "w0") -> Path:
    """An ingest config on the JetStream source whose ``mqtt`` block (node ``mqtt_node``'s MQTT
    listener, 3.1.1) is what the confirmer uses."""
    return ingest_config(path, mqtt_port=cluster.nodes[mqtt_node].mqtt_port, influx_url=influxd.url,
                         database=db, client_id=client_id, source="jetstream",
                         jetstream={"servers": cluster.servers, "ack_wait_s": 5.0},
                         mqtt={"shared": False, "protocol": "3.1.1"}, gaps={"enabled": False})


def stored_seqs(url: str, db: str) -> dict[str, list[tuple[int, int]]]:
    res = influx_query(url, f'SELECT "seq" FROM "raw"."{MEASUREMENT}" GROUP BY "asset"', db=db)
    return {s["tags"]["asset"]: seqranges.from_values(int(v[1]) for v in s["values"])
            for s in res["results"][0].get("series", []) or []}


def missing(url: str, db: str, gws: list[Gateway]) -> int:
    """Committed seqs (per gateway and asset) that InfluxDB does not hold."""
    have = stored_seqs(url, db)
    return sum(n - seqranges.count(have.get(asset, [])) for g in gws for asset, n in g.next_seq.items())


@dataclass(frozen=True)
class RepairOutcome:
    before: int  # seqs missing when the confirmer started
    after: int  # seqs still missing when it stopped
    points: int  # points stored after the repair (duplicates collapse: == committed when whole)
    stats: ConfirmStats


def _started(confirmer: Confirmer, timeout_s: float = 30.0) -> Confirmer:
    """Start the confirmer, which tries again with backoff (a surviving nats-server closes new MQTT
    connections before CONNACK for a while after a node of its cluster was killed), for at most
    ``timeout_s``."""
    give_up = threading.Event()
    timer = threading.Timer(timeout_s, give_up.set)
    timer.start()
    try:
        if not confirmer.start(give_up):
            raise MqttConnectError(f"the confirmer did not start within {timeout_s} s")
    finally:
        timer.cancel()
    return confirmer


def repair(cfg: Path, url: str, db: str, gws: list[Gateway], *, timeout_s: float = REPAIR_TIMEOUT_S,
           client_id: str = "confirm-nats") -> RepairOutcome:
    """Run the confirmer (rounds 0.5 s apart, grace 1 s) until no committed seq is missing or
    ``timeout_s`` passed; then wait 2 s so that replays still in flight show as extra points."""
    before = missing(url, db, gws)
    confirmer = _started(Confirmer(load_config(cfg), ConfirmSettings(interval_s=0.5, grace_s=1.0),
                                   client_id=client_id))
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and missing(url, db, gws):
            confirmer.round()
            time.sleep(0.5)
        after = missing(url, db, gws)
        stats = confirmer.stats()
        time.sleep(2.0)
        return RepairOutcome(before=before, after=after, points=count_points(url, db, MEASUREMENT), stats=stats)
    finally:
        confirmer.close()


def known_gateways(url: str, db: str) -> set[str]:
    """The gateways the confirmer can map assets to: those whose birth ingest stored (``asset_info``)."""
    res = influx_query(url, 'SELECT last("gateway") FROM "raw"."asset_info" GROUP BY "asset"', db=db)
    return {str(v[1]) for s in res["results"][0].get("series", []) or [] for v in s["values"] if v[1]}


def deaf_gateways_only(gws: list[Gateway], url: str, db: str, after: int) -> None:
    """nats-server 2.9.10 refuses MQTT subscriptions (SUBACK 0x80) while its cluster recovers from
    the lost node (2 of 3 runs); before the uplink subscribed again after a refusal, that gateway
    heard no confirm or resend and could not repair (47 and 150 seq left). It may also lose a
    gateway's births with the rest of what its stream held: the confirmer then cannot map that
    gateway's assets and sends it nothing (a birth is only sent again on reconnect). If what is
    still missing is all a gateway's that heard no confirm, xfail with the count and the reason;
    anything else fails the test."""
    if not after:
        return
    deaf = [g for g in gws if g.repair is not None and g.repair.counters.confirms == 0]
    if deaf and missing(url, db, deaf) == after:
        known = known_gateways(url, db)
        unknown = [g.name for g in deaf if g.name not in known]
        pytest.xfail(f"{after} seq still missing, all of gateway(s) {[g.name for g in deaf]} that received no "
                     f"confirm; no birth stored (the confirmer cannot map their assets) for {unknown}, the "
                     "others' MQTT subscription died with the NATS node")
