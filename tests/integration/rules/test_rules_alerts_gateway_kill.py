"""A gateway SIGKILLed: the whole path. A real edge agent (local and central Mosquitto), real
ingest into a real InfluxDB, a real ``seamline rules run`` evaluating every second, a real
Alertmanager with the generated config and the real ``seamline notify``.

The agent is killed with SIGKILL; the central broker publishes its Last Will (retained status
offline), ingest stores it, the rules raise ``gateway_offline``. Its machines go silent meanwhile,
long past the ``asset_silent`` threshold (lowered to 6 s for the test): no machine alert, because
a machine behind an offline gateway is no data, and Alertmanager would inhibit it anyway. The
spool replays the machines' samples and the agent returns: one resolve.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from seamline.contracts.assets import SewingMachineMetrics
from seamline.contracts.messages import Sample, SewingMachineData
from seamline.localstack import AlertmanagerProcess, InfluxdProcess, MosquittoProcess
from seamline.rules.alerts.builtin import BUILTIN_RULES
from tests.support.alerts_stack import GW, LINE, MACHINES, Influx, Stack, replica, wait_for
from tests.support.ingest_harness import IngestProcess, ingest_config

pytestmark = pytest.mark.integration
E, S = "f001", "s1"
SILENT_MIN = 0.1  # asset_silent threshold for the test: 6 s


def edge_config(tmp: Path, local: MosquittoProcess, central: MosquittoProcess) -> Path:
    cfg = {"gateway": {"id": GW, "enterprise": E, "site": S},
           "local": {"host": "127.0.0.1", "port": local.port, "client_id": "edge-gw-local"},
           "uplink": {"host": "127.0.0.1", "port": central.port, "keepalive_s": 5, "backoff_initial_s": 0.2,
                      "backoff_max_s": 1.0},
           "spool": {"path": str(tmp / "spool.sqlite")},
           "machines": [{"id": m, "line": LINE, "type": "default"} for m in MACHINES],
           "telemetry_interval_s": 1}
    path = tmp / "edge.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def start_agent(cfg: Path, log_path: Path) -> subprocess.Popen[bytes]:
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen([sys.executable, "-m", "seamline.cli", "edge", "run", "--config", str(cfg)],
                                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    finally:
        log.close()


def publish_samples(port: int, seq: int) -> None:
    """One aggregate per machine stamped now, as the agent (or its spool replay) sends them."""
    c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"replay-{seq}")
    c.connect("127.0.0.1", port)
    c.loop_start()
    now_ms = int(time.time() * 1000)
    for m in MACHINES:
        data = SewingMachineData(samples=[Sample[SewingMachineMetrics](
            ts_ms=now_ms, seq=seq, metrics=SewingMachineMetrics(current_a=1.0, period_s=60.0, run_s=60.0))])
        c.publish(f"seamline/v1/{E}/{S}/{LINE}/{m}/data", data.model_dump_json(), qos=1).wait_for_publish(10)
    c.loop_stop()
    c.disconnect()


def stored(influx: Influx, q: str) -> list[object]:
    return influx.query(q)


@pytest.fixture
def stack(tmp_path: Path, alertmanager_factory: Callable[..., AlertmanagerProcess]) -> Iterator[Stack]:
    s = Stack(tmp_path, alertmanager_factory)
    yield s
    s.close()


def test_gateway_sigkilled_one_notification_no_machine_alerts_one_resolve(
        tmp_path: Path, stack: Stack, influxd: InfluxdProcess, influx_db: str,
        mosquitto_factory: Callable[..., MosquittoProcess]) -> None:
    local, central = mosquitto_factory("local"), mosquitto_factory("central")
    influx = Influx(influxd.url, influx_db)
    ingest = IngestProcess(ingest_config(tmp_path / "ingest.yaml", mqtt_port=central.port, influx_url=influxd.url,
                                         database=influx_db), log_path=tmp_path / "ingest.log")
    ingest.start()
    ingest.wait_subscribed()
    cfg = edge_config(tmp_path, local, central)
    agent = start_agent(cfg, tmp_path / "agent.log")
    builtin = {r: {"enabled": False} for r in BUILTIN_RULES if r not in ("gateway_offline", "asset_silent",
                                                                         "machine_down")}
    builtin["gateway_offline"] = {"condition": {"threshold": 0}}
    builtin["asset_silent"] = {"condition": {"threshold": SILENT_MIN, "clear": SILENT_MIN / 2}}
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text(yaml.safe_dump({"interval_s": 1, "evaluation_delay_s": 0, "resend_interval_s": 60,
                                      "state_path": str(tmp_path / "state.sqlite3"),
                                      "alertmanager": {"peers": [stack.am.url]}, "builtin": builtin}))
    rules = replica(tmp_path, "rules-a", influx, alerts)
    status = f'SELECT "state" FROM "raw"."gateway_status" WHERE "gateway" = \'{GW}\''
    try:
        wait_for(lambda: stored(influx, status)[-1:] == ["online"], "the gateway's status online in InfluxDB")
        publish_samples(central.port, 1)
        wait_for(lambda: len(stored(influx, 'SELECT "seq" FROM "raw"."sewing_machine"')) == len(MACHINES),
                 "the machines' samples in InfluxDB")
        rules.start()
        agent.send_signal(signal.SIGKILL)
        agent.wait(10)
        killed = datetime.now(UTC)
        wait_for(lambda: stack.alertnames("firing") == ["gateway_offline"], "the gateway_offline notification")
        # the machines have been silent for well over the asset_silent threshold, the gateway still offline
        wait_for(lambda: (datetime.now(UTC) - killed).total_seconds() > 4 * SILENT_MIN * 60, "a silent spell")
        assert stored(influx, status)[-1] == "offline"
        publish_samples(central.port, 2)  # the spool's replay ...
        wait_for(lambda: len(stored(influx, 'SELECT "seq" FROM "raw"."sewing_machine"')) == 2 * len(MACHINES),
                 "the replayed samples in InfluxDB")
        agent = start_agent(cfg, tmp_path / "agent.log")  # ... and the gateway back
        wait_for(lambda: stack.alertnames("resolved") == ["gateway_offline"], "the gateway_offline resolve")
    finally:
        rules.stop()
        if agent.poll() is None:
            agent.send_signal(signal.SIGTERM)
            agent.wait(30)
        ingest.terminate()
    assert stack.alertnames("firing") == ["gateway_offline"]
    assert stack.alertnames("resolved") == ["gateway_offline"]
    labels = stack.messages("firing")[0].body["alerts"][0]["labels"]
    assert labels["gateway"] == GW and labels["enterprise"] == E and labels["site"] == S
    summary = stack.messages("firing")[0].body["alerts"][0]["annotations"]["summary"]
    assert GW in summary
