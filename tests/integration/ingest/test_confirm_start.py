"""The confirmer (``seamline ingest confirm``) started before its broker is up waits and tries
again with backoff, one warning line per attempt, and confirms once the broker is there; asked to
stop while it waits, it stops. Real Mosquitto and InfluxDB on free ports."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from seamline.ingest.config import load_config
from seamline.ingest.confirm import Confirmer, ConfirmSettings
from seamline.localstack import InfluxdProcess, MosquittoProcess
from seamline.localstack.ports import free_port
from tests.support.ingest_harness import create_raw_rp, ingest_config

pytestmark = pytest.mark.integration
LOGGER = "seamline.ingest.confirm"


def _confirmer(tmp_path: Path, port: int, influxd: InfluxdProcess, db: str) -> Confirmer:
    create_raw_rp(influxd.url, db)
    cfg = ingest_config(tmp_path / "ingest.yaml", mqtt_port=port, influx_url=influxd.url, database=db)
    return Confirmer(load_config(cfg), ConfirmSettings(interval_s=0.3, grace_s=1.0))


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def _wait_for(predicate: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_waits_for_a_broker_that_comes_up_later(tmp_path: Path, influxd: InfluxdProcess, influx_db: str,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    port = free_port()
    confirmer, stop, codes = _confirmer(tmp_path, port, influxd, influx_db), threading.Event(), []
    worker = threading.Thread(target=lambda: codes.append(confirmer.run(stop)), daemon=True)
    worker.start()
    assert _wait_for(lambda: sum("cannot start" in m for m in _messages(caplog)) >= 2, 15.0), _messages(caplog)
    assert worker.is_alive()
    broker = MosquittoProcess(workdir=tmp_path / "mqtt", port=port)
    broker.start()
    try:
        assert _wait_for(lambda: any(m.startswith("confirm: ") and "cannot start" not in m
                                     for m in _messages(caplog)), 40.0), _messages(caplog)
    finally:
        stop.set()
        worker.join(10)
        broker.stop()
    assert codes == [0]
    waits = [m for m in _messages(caplog) if "cannot start" in m]
    assert all(f"127.0.0.1:{port}" in m and "trying again in" in m for m in waits), waits


def test_stops_while_waiting_for_the_broker(tmp_path: Path, influxd: InfluxdProcess, influx_db: str,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    confirmer, stop, codes = _confirmer(tmp_path, free_port(), influxd, influx_db), threading.Event(), []
    worker = threading.Thread(target=lambda: codes.append(confirmer.run(stop)), daemon=True)
    worker.start()
    assert _wait_for(lambda: any("cannot start" in m for m in _messages(caplog)), 15.0)
    stop.set()
    worker.join(10)
    assert not worker.is_alive() and codes == [0]


def test_one_attempt_without_a_stop_event_raises_one_line(tmp_path: Path, influxd: InfluxdProcess,
                                                          influx_db: str) -> None:
    from seamline.mqtt_connect import MqttConnectError

    confirmer = _confirmer(tmp_path, free_port(), influxd, influx_db)
    with pytest.raises(MqttConnectError, match=r"cannot connect to mqtt://127\.0\.0\.1"):
        confirmer.start()
