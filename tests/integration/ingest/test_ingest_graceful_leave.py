"""A gracefully stopped ingest worker on a Mosquitto ``$share`` subscription strands nothing.

Mosquitto 2.0.11 keeps routing a share group's messages to a member whose persistent session is
offline: with two workers and one stopped by SIGTERM, half of what gateways publish next waits in
the stopped worker's session until it returns. Two real ``seamline ingest`` processes, a real
Mosquitto and InfluxDB, the edge's spool + uplink + repair publishing 3 x 3 334 = 10 002 messages
after the stop, then the platform confirmer (``seamline ingest confirm``):

* ``mqtt.leave_share_on_stop: true`` (the default): the worker unsubscribes before it stops, the
  other one gets everything, 0 missing even before the repair;
* ``false`` (as before): about half of the new messages wait in the stopped worker's session
  (4 851 of 10 002 measured).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from seamline.ingest.config import load_config
from seamline.ingest.confirm import Confirmer, ConfirmSettings
from seamline.localstack import InfluxdProcess, MosquittoProcess
from tests.support.gateway_harness import Gateway, missing
from tests.support.ingest_harness import IngestProcess, create_raw_rp, ingest_config, wait_until

pytestmark = pytest.mark.integration

N = 3334  # seq values per machine, 3 machines


@pytest.fixture
def db(influxd: InfluxdProcess, influx_db: str) -> str:
    create_raw_rp(influxd.url, influx_db)
    return influx_db


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[IngestProcess]]:
    made: list[IngestProcess] = []
    yield made
    for w in made:
        w.kill()


def start_worker(tmp_path: Path, i: int, port: int, url: str, db: str, *, leave: bool) -> tuple[IngestProcess, Path]:
    cfg = ingest_config(tmp_path / f"ingest-{i}.yaml", mqtt_port=port, influx_url=url, database=db,
                        client_id=f"ingest-{i}",
                        mqtt={"shared": True, "share_group": "ingest", "leave_share_on_stop": leave})
    proc = IngestProcess(cfg, log_path=tmp_path / f"ingest-{i}.log")
    proc.start()
    proc.wait_subscribed()
    return proc, cfg


def settled_missing(url: str, db: str, n: int, *, stable_s: float = 2.0, timeout_s: float = 60.0) -> int:
    """What is missing once the remaining worker has written what it got: 0, or a figure that
    stayed the same for ``stable_s``."""
    deadline = time.monotonic() + timeout_s
    last = missing(url, db, n)
    while last and time.monotonic() < deadline:
        time.sleep(stable_s)
        now = missing(url, db, n)
        if now == last:
            break
        last = now
    return last


def repair(confirmer: Confirmer, url: str, db: str, n: int, *, timeout_s: float = 60.0) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        confirmer.round()
        if missing(url, db, n) == 0:
            return 0
        time.sleep(0.5)
    return missing(url, db, n)


def two_workers_one_stopped(tmp_path: Path, mosquitto: MosquittoProcess, influxd: InfluxdProcess, db: str,
                            workers: list[IngestProcess], gw: Gateway, *, leave: bool) -> list[Path]:
    """Two shared workers take the first 300 messages; the second is stopped with SIGTERM; then the
    gateway publishes the remaining 9 702 and its spool drains (every message PUBACKed)."""
    cfgs: list[Path] = []
    for i in (1, 2):
        proc, cfg = start_worker(tmp_path, i, mosquitto.port, influxd.url, db, leave=leave)
        workers.append(proc)
        cfgs.append(cfg)
    gw.uplink.start()
    gw.emit(range(100))
    wait_until(lambda: missing(influxd.url, db, 100) == 0, timeout_s=30, what="the first 300 stored")
    assert workers[1].terminate() == 143  # graceful: SIGTERM's exit code
    log = workers[1].log_text()
    assert ("left share group" in log) is leave, log[-2000:]
    gw.emit(range(100, N))
    wait_until(lambda: gw.spool.stats().messages == 0, timeout_s=60, what="the gateway's spool drained")
    return cfgs


def test_a_gracefully_stopped_shared_worker_leaves_its_group_and_strands_nothing(
    tmp_path: Path, mosquitto: MosquittoProcess, influxd: InfluxdProcess, db: str, workers: list[IngestProcess],
) -> None:
    gw = Gateway(tmp_path / "spool.sqlite", mosquitto.port)
    confirmer: Confirmer | None = None
    try:
        cfgs = two_workers_one_stopped(tmp_path, mosquitto, influxd, db, workers, gw, leave=True)
        before = settled_missing(influxd.url, db, N)
        confirmer = Confirmer(load_config(cfgs[0]), ConfirmSettings(interval_s=0.5, grace_s=1.0),
                              client_id="confirm-leave-test")
        confirmer.start()
        after = repair(confirmer, influxd.url, db, N)
        stats = confirmer.stats()
        print(f"leave_share_on_stop: missing before repair {before} of {3 * N}, after {after}, {stats}")
        assert before == 0  # nothing was routed to the stopped worker's session
        assert after == 0 and stats.lost_seqs == 0 and stats.open_hole_seqs == 0
        assert workers[0].running
    finally:
        if confirmer is not None:
            confirmer.close()
        gw.close()


def test_a_stopped_worker_that_stays_in_the_group_strands_its_share(
    tmp_path: Path, mosquitto: MosquittoProcess, influxd: InfluxdProcess, db: str, workers: list[IngestProcess],
) -> None:
    """What the leave avoids (``leave_share_on_stop: false``, the behaviour before): Mosquitto keeps
    routing about half of the new messages to the stopped worker's offline session."""
    gw = Gateway(tmp_path / "spool.sqlite", mosquitto.port)
    try:
        two_workers_one_stopped(tmp_path, mosquitto, influxd, db, workers, gw, leave=False)
        stranded = settled_missing(influxd.url, db, N)
        print(f"stayed in the share group: {stranded} of {3 * N - 300} new messages stranded")
        assert stranded > 0
    finally:
        gw.close()
