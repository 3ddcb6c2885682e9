"""Edge poller <-> energy stubs over real Modbus TCP on loopback."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from seamline.contracts.messages import Quality
from seamline.contracts.topic import Topic
from seamline.edge_agent.modbus.config import load_devices
from seamline.edge_agent.modbus.profile import ModbusDevice
from seamline.edge_agent.modbus.source import ModbusSource
from seamline.edge_agent.wire import DataPayload, DataSample
from seamline.firmware_stubs.energy.counters import EnergyCounter
from seamline.firmware_stubs.energy.devices import Battery, MetStation, PvInverter, WindTurbine, _Base
from seamline.firmware_stubs.energy.meter import Meter
from seamline.firmware_stubs.energy.server import CommsFault, EnergyStubHost
from seamline.firmware_stubs.energy.sim_clock import ManualClock
from seamline.firmware_stubs.energy.vendor_map import DEFAULT_MAP_PATH
from seamline.localstack import free_port

pytestmark = pytest.mark.integration

NOON_SHANGHAI_MS = 1_750_478_400_000  # 2025-06-21 12:00 +08:00
WAIT_S = 15.0  # generous: 2 shared cores; loops exit as soon as the condition holds


@dataclass
class RecordingSink:
    messages: list[tuple[Topic, DataPayload]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def emit(self, topic: Topic, message: DataPayload) -> None:
        with self.lock:
            self.messages.append((topic, message))

    def samples(self, asset: str) -> list[DataSample]:
        with self.lock:
            return [s for t, m in self.messages if t.asset == asset for s in m.samples]


def wait_for(cond: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


@dataclass
class Park:
    clock: ManualClock
    host: EnergyStubHost
    devices: dict[str, _Base]
    configs: list[ModbusDevice]


@pytest.fixture
def park() -> Iterator[Park]:
    clock = ManualClock(start_ms=NOON_SHANGHAI_MS)
    host = EnergyStubHost(clock=clock)
    wt = WindTurbine(name="wt1", seed=7, energy=EnergyCounter(offset_wh=2**32 - 3000.0))
    devices: dict[str, _Base] = {
        "pv1": PvInverter(name="pv1", missing_points={"cabinet_temp_c"}),
        "met1": MetStation(name="met1"),
        "bat1": Battery(name="bat1", demand_w=lambda _t: -30_000.0),
        "meter1": Meter(name="meter1", net_power_w=lambda _t: 45_678.0),
        "wt1": wt,
    }
    kinds = {"pv1": "pv_inverter", "met1": "met_station", "bat1": "battery", "meter1": "meter", "wt1": "wind_turbine"}
    entries = []
    for name, dev in devices.items():
        ep = host.add(dev, port=free_port())
        entry: dict[str, Any] = dict(
            asset=name, area="energy", asset_kind=kinds[name], host="127.0.0.1", port=ep.port,
            poll_interval_s=0.1, timeout_s=0.4, retries=0, offline_after=2, reconnect_max_s=0.5,
        )  # fmt: skip
        if name == "wt1":
            entry.update(protocol="register_map", map_file=str(DEFAULT_MAP_PATH))
        entries.append(entry)
    host.start()
    try:
        yield Park(clock, host, devices, load_devices(entries))
    finally:
        host.stop()


def _close(a: float, b: float, resolution: float) -> bool:
    return abs(a - b) <= resolution / 2 + 1e-9


def test_published_values_equal_ground_truth_and_discovery_finds_every_model(park: Park) -> None:
    sink = RecordingSink()
    src = ModbusSource(devices=park.configs, enterprise="acme", site="keqiao", sink=sink)
    park.clock.advance(60_000)  # one simulated minute of charging etc., then the clock holds still
    src.start()
    try:
        wait_for(lambda: all(len(sink.samples(a)) >= 2 for a in park.devices))
        stats = src.stats()
    finally:
        src.stop()
    assert stats.discovered == {"pv1": (1, 103, 120), "met1": (1, 307, 302, 303), "bat1": (1, 802), "meter1": (1, 203)}
    # resolution of each encoded value (10**sf of the stub's registers)
    resolution = {
        "pv1": {"ac_power_w": 10, "ac_energy_wh": 1, "dc_power_w": 10, "dc_voltage_v": 0.1, "ac_voltage_v": 0.1,
                "ac_current_a": 0.01, "ac_frequency_hz": 0.01, "operating_state": 0, "rated_power_w": 10},
        "met1": {"poa_irradiance_w_m2": 1, "ghi_w_m2": 1, "ambient_temp_c": 0.1, "module_temp_c": 0.1,
                 "wind_speed_m_s": 1},
        "bat1": {"soc_pct": 0.1, "soh_pct": 0.1, "power_w": 10, "operating_state": 0},
        "meter1": {"power_w": 100, "import_energy_wh": 1, "export_energy_wh": 1, "voltage_v": 0.1,
                   "frequency_hz": 0.01},
        "wt1": {"wind_speed_m_s": 0.01, "power_w": 1, "rotor_speed_rpm": 0.1, "status": 0, "energy_wh": 1},
    }  # fmt: skip
    for asset, dev in park.devices.items():
        sample = sink.samples(asset)[-1]
        assert sample.quality is Quality.GOOD
        truth = dev.truth()
        got = dict(sample.metrics)
        for metric, res in resolution[asset].items():
            want = truth[metric]
            assert want is not None, (asset, metric)
            assert got.get(metric) is not None, (asset, metric)
            assert _close(got[metric], want, res), (asset, metric, got[metric], want)
    pv = sink.samples("pv1")[-1].metrics
    assert pv.get("cabinet_temp_c") is None  # the stub serves the int16 sentinel 0x8000: missing, not 0
    bat = sink.samples("bat1")[-1].metrics
    assert bat["capacity_wh"] == pytest.approx(200_000 * 0.97)
    assert bat["power_w"] == pytest.approx(-30_000.0)  # charging
    seqs = [s.seq for s in sink.samples("pv1")]
    assert seqs == list(range(len(seqs)))


def test_silent_device_goes_offline_without_delaying_the_others(park: Park) -> None:
    park.host.set_comms_fault("meter1", CommsFault.SILENT)
    sink = RecordingSink()
    src = ModbusSource(devices=park.configs, enterprise="acme", site="keqiao", sink=sink)
    src.start()
    try:
        wait_for(lambda: len(sink.samples("meter1")) >= 3)
        stats = src.stats()
    finally:
        src.stop()
    dead = sink.samples("meter1")
    assert all(s.quality is Quality.STALE for s in dead)
    assert all(dict(s.metrics) == {} for s in dead)
    assert stats.offline_devices == ("meter1",)
    for asset in ("pv1", "met1", "bat1", "wt1"):
        healthy = sink.samples(asset)
        assert all(s.quality is Quality.GOOD for s in healthy), asset
        assert [s.seq for s in healthy] == list(range(len(healthy)))
        # each meter poll waits out a 0.4 s timeout; healthy ones keep their 0.1 s cycle meanwhile
        assert len(healthy) >= 2 * len(dead), (asset, len(healthy), len(dead))


def test_closed_device_recovers_after_comms_return(park: Park, caplog: pytest.LogCaptureFixture) -> None:
    """...and the log says so once per state change, with the cause, not once per failed poll."""
    caplog.set_level(logging.INFO, logger="seamline.edge_agent.modbus")
    park.host.set_comms_fault("bat1", CommsFault.CLOSED)
    sink = RecordingSink()
    src = ModbusSource(devices=park.configs, enterprise="acme", site="keqiao", sink=sink)
    src.start()
    try:
        wait_for(lambda: len(sink.samples("bat1")) >= 3)
        assert src.stats().offline_devices == ("bat1",)
        park.host.set_comms_fault("bat1", None)
        wait_for(lambda: sink.samples("bat1")[-1].quality is Quality.GOOD)
        assert src.stats().offline_devices == ()
    finally:
        src.stop()
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("bat1:")]
    assert len(said) == 2, said
    assert said[0].startswith("bat1: offline after 2 failed polls (") and "reconnecting with backoff" in said[0]
    assert said[1].startswith("bat1: online again after ")


def test_turbine_energy_counter_rollover_is_unwrapped(park: Park) -> None:
    wt = park.devices["wt1"]
    assert isinstance(wt, WindTurbine)
    sink = RecordingSink()
    cfg = [c for c in park.configs if c.asset == "wt1"]
    src = ModbusSource(devices=cfg, enterprise="acme", site="keqiao", sink=sink)
    src.start()
    try:
        wait_for(lambda: len(sink.samples("wt1")) >= 1)
        first = sink.samples("wt1")[-1].metrics["energy_wh"]
        for _ in range(10):  # 10 simulated minutes in 1-minute jumps, each seen by a poll
            target = len(sink.samples("wt1")) + 2
            park.clock.advance(60_000)
            wait_for(lambda: len(sink.samples("wt1")) >= target)  # noqa: B023 - used before the next turn
    finally:
        src.stop()
    truth_raw = wt.truth()["energy_wh"]
    unwrapped = wt.unwrapped_energy_wh()
    assert unwrapped > 2**32, "the stub's counter must have wrapped during the test"
    assert truth_raw is not None and truth_raw < 2**31  # the register itself wrapped to a small value
    energies = [s.metrics["energy_wh"] for s in sink.samples("wt1")]
    assert energies[-1] == unwrapped
    assert first is not None and first < 2**32
    assert all(b >= a for a, b in itertools.pairwise(energies))  # never backwards


def test_rtu_framing_over_tcp() -> None:
    from pymodbus import FramerType

    clock = ManualClock(start_ms=NOON_SHANGHAI_MS)
    host = EnergyStubHost(clock=clock)
    meter = Meter(name="meter9", unit_id=7, net_power_w=lambda _t: -12_300.0)
    ep = host.add(meter, port=free_port(), framer=FramerType.RTU)
    host.start()
    sink = RecordingSink()
    cfg = load_devices([dict(asset="meter9", area="energy", asset_kind="meter", host="127.0.0.1", port=ep.port,
                             unit_id=7, framer="rtu", poll_interval_s=0.1, timeout_s=0.5)])  # fmt: skip
    src = ModbusSource(devices=cfg, enterprise="acme", site="keqiao", sink=sink)
    try:
        src.start()
        wait_for(lambda: len(sink.samples("meter9")) >= 2)
    finally:
        src.stop()
        host.stop()
    last = sink.samples("meter9")[-1]
    assert last.quality is Quality.GOOD
    assert last.metrics["power_w"] == -12_300.0
