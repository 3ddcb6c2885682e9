"""A gateway install: the wheel of this checkout in a fresh virtualenv with only ``seamline[edge]``,
and the real ``seamline edge run`` from it against real Mosquitto brokers and a real Modbus TCP stub.

The venv is built once per module (wheel ~5 s, install ~3 s from pip's cache); the brokers, the
stub (in this process, the main venv) and the sewing nodes (the simulator, also here) are the
test's. Nothing of the checkout is on the gateway's ``sys.path``: commands run from a temporary
directory with no PYTHON* variables.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from seamline.contracts.messages import BirthMessage, PvInverterData, SewingMachineData, parse_data
from seamline.firmware_stubs.energy.devices import PvInverter
from seamline.firmware_stubs.energy.server import EnergyStubHost
from seamline.firmware_stubs.energy.sim_clock import ManualClock
from seamline.firmware_stubs.sewing.machine import MachineProfile, simulate_machine
from seamline.firmware_stubs.sewing.payload import SampleRow, encode_samples
from seamline.localstack import MosquittoProcess, free_port
from tests.support.gateway_install import GatewayVenv, gateway_venv

pytestmark = pytest.mark.integration

# What the other extras bring; a gateway must not carry any of it.
NOT_ON_A_GATEWAY = ("numpy", "pandas", "scipy", "ortools", "influxdb_client", "apscheduler")
ENT, SITE, LINE = "acme", "plant1", "line1"
MACHINES = ("m001", "m002")
T0 = 1_767_225_600_000  # a whole minute (device time of the simulated nodes)
SPAN_MS = 3 * 60 * 1000  # three minutes: the first two periods close while the third arrives
BATCH = 10  # samples per node message
NOON_SHANGHAI_MS = 1_750_478_400_000
WAIT_S = 60.0  # upper bound on 2 busy CI cores; every wait ends as soon as its condition holds
CMD_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> GatewayVenv:
    return gateway_venv(with_pip=False, cache_dir=tmp_path_factory.mktemp("gateway-venv"))


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, env=_env(), capture_output=True, text=True, timeout=CMD_TIMEOUT_S)


def test_gateway_install_has_none_of_the_platform(gateway: GatewayVenv, tmp_path: Path) -> None:
    code = (
        "import importlib.util, json, seamline.edge_agent.service\n"
        f"print(json.dumps({{'found': [m for m in {NOT_ON_A_GATEWAY!r} if importlib.util.find_spec(m)],"
        " 'seamline': seamline.__file__}))"
    )
    done = run(tmp_path, str(gateway.python), "-c", code)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["found"] == []
    assert Path(report["seamline"]).is_relative_to(gateway.site_packages)  # the wheel, not the checkout


def test_a_command_of_another_extra_names_that_extra(gateway: GatewayVenv, tmp_path: Path) -> None:
    done = run(tmp_path, str(gateway.seamline), "ingest", "--help")
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "pip install 'seamline[ingest]'" in lines[0]


class Central:
    """Everything published on the central broker, recorded from the moment of construction."""

    def __init__(self, port: int) -> None:
        self.lock = threading.Lock()
        self.messages: list[tuple[str, bytes]] = []
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="test-central")
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_connect = lambda c, *_: c.subscribe("seamline/v1/#", qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(WAIT_S), "central broker subscription not acknowledged"

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((msg.topic, bytes(msg.payload)))

    def on(self, topic: str) -> list[bytes]:
        with self.lock:
            return [p for t, p in self.messages if t == topic]

    def aggregates(self, machine: str) -> list[SewingMachineData]:
        msgs = [parse_data(p) for p in self.on(f"seamline/v1/{ENT}/{SITE}/{LINE}/{machine}/data")]
        return [d for d in msgs if isinstance(d, SewingMachineData)]

    def pv_samples(self) -> list[PvInverterData]:
        msgs = [parse_data(p) for p in self.on(f"seamline/v1/{ENT}/{SITE}/energy/pv1/data")]
        return [d for d in msgs if isinstance(d, PvInverterData)]

    def wait(self, what: str, cond: Callable[[], bool]) -> None:
        deadline = time.monotonic() + WAIT_S
        while not cond():
            assert time.monotonic() < deadline, f"no {what} on the central broker within {WAIT_S:.0f} s"
            time.sleep(0.1)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def pv_stub() -> Iterator[int]:
    """A SunSpec PV inverter over Modbus TCP on a free loopback port (stub in this process)."""
    host = EnergyStubHost(clock=ManualClock(start_ms=NOON_SHANGHAI_MS))
    port = host.add(PvInverter(name="pv1"), port=free_port()).port
    host.start()
    try:
        yield port
    finally:
        host.stop()


def publish_nodes(port: int) -> None:
    """Three minutes of device time of each machine, 10 samples a message, as fast as QoS 1 allows."""
    nodes = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="test-nodes")
    nodes.connect("127.0.0.1", port)
    nodes.loop_start()
    try:
        for i, m in enumerate(MACHINES):
            run_ = simulate_machine(profile=MachineProfile(machine_id=m), start_ms=T0, end_ms=T0 + SPAN_MS, seed=i)
            rows = [SampleRow(s.ts_ms, s.seq, s.current_a, s.speed_spm, s.stitches_total, s.pieces_total)
                    for s in run_.samples]
            for k in range(0, len(rows), BATCH):
                info = nodes.publish(f"seamline/v1/{ENT}/{SITE}/{LINE}/{m}/data", encode_samples(rows[k:k + BATCH]),
                                     qos=1)
                info.wait_for_publish(WAIT_S)
    finally:
        nodes.loop_stop()
        nodes.disconnect()


def write_config(tmp_path: Path, local: MosquittoProcess, central: MosquittoProcess, modbus_port: int) -> Path:
    (tmp_path / "spool").mkdir(exist_ok=True)  # the installer's (systemd StateDirectory's) job, not the agent's
    cfg = {
        "gateway": {"id": "gw-install", "enterprise": ENT, "site": SITE},
        "local": {"host": "127.0.0.1", "port": local.port, "client_id": "edge-install"},
        "uplink": {"host": "127.0.0.1", "port": central.port},
        "spool": {"path": str(tmp_path / "spool" / "spool.sqlite")},
        "modbus": [{"asset": "pv1", "area": "energy", "asset_kind": "pv_inverter", "host": "127.0.0.1",
                    "port": modbus_port, "poll_interval_s": 0.5, "timeout_s": 1.0}],
    }
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_edge_agent_runs_from_the_gateway_install(
    gateway: GatewayVenv, mosquitto_factory: Callable[..., MosquittoProcess], pv_stub: int, tmp_path: Path
) -> None:
    local, central = mosquitto_factory("local"), mosquitto_factory("central")
    config = write_config(tmp_path, local, central, pv_stub)
    checked = run(tmp_path, str(gateway.seamline), "edge", "check-config", str(config))
    assert checked.returncode == 0, checked.stderr
    assert f"{config}: OK" in checked.stdout and "modbus devices 1" in checked.stdout

    watch = Central(central.port)
    log_path = tmp_path / "agent.log"
    with open(log_path, "wb") as log:
        agent = subprocess.Popen([str(gateway.seamline), "edge", "run", "--config", str(config)],
                                 cwd=tmp_path, env=_env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        birth_topic = f"seamline/v1/{ENT}/{SITE}/_gateway/gw-install/birth"
        watch.wait("birth", lambda: bool(watch.on(birth_topic)))
        publish_nodes(local.port)

        watch.wait("two closed periods of every machine",
                   lambda: all(len(watch.aggregates(m)) >= 2 for m in MACHINES))
        watch.wait("two PV inverter samples", lambda: len(watch.pv_samples()) >= 2)
        # The same process (exec keeps the PID) now runs the agent without pydantic's library mapped.
        maps = Path(f"/proc/{agent.pid}/maps").read_text()
        assert "_pydantic_core" not in maps, "the running agent loaded pydantic"
        assert "edge_agent.runtime" in Path(f"/proc/{agent.pid}/cmdline").read_bytes().decode()
    finally:
        agent.send_signal(signal.SIGTERM)
        code = agent.wait(timeout=WAIT_S)
        watch.close()
    log_text = log_path.read_text(errors="replace")
    assert code == 143, log_text  # a graceful stop on SIGTERM
    for m in MACHINES:
        periods = [d.samples[0] for d in watch.aggregates(m)]
        assert [s.ts_ms for s in periods[:2]] == [T0, T0 + 60_000]
        assert all(s.metrics.period_s == 60.0 for s in periods[:2])
    pv = [s for d in watch.pv_samples() for s in d.samples]
    assert all(s.metrics.ac_power_w is not None and s.metrics.ac_power_w > 0 for s in pv), pv
    births = [BirthMessage.model_validate_json(p) for p in watch.on(birth_topic)]
    assert {"pv1"} <= {a.asset for a in births[-1].assets}
    assert "Traceback" not in log_text
