"""Stubs on a 1 s register-refresh grid, polled with spread start over real Modbus TCP: what is
published equals the device state of the instant the registers were refreshed at."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from seamline.contracts.kinds import AssetKind
from seamline.contracts.messages import Quality
from seamline.contracts.topic import Topic
from seamline.edge_agent.metric_table import METRICS
from seamline.edge_agent.modbus.config import load_devices
from seamline.edge_agent.modbus.source import ModbusSource
from seamline.edge_agent.wire import DataPayload, DataSample
from seamline.firmware_stubs.energy.server import EnergyStubHost
from seamline.firmware_stubs.energy.sim_clock import ManualClock
from seamline.firmware_stubs.energy.site import build_site
from seamline.firmware_stubs.energy.vendor_map import DEFAULT_MAP_PATH
from seamline.localstack import free_port

pytestmark = pytest.mark.integration

NOON_SHANGHAI_MS = 1_750_478_400_000
WAIT_S = 15.0


class Sink:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: dict[str, list[DataSample]] = {}
        self.kinds: dict[str, AssetKind] = {}

    def emit(self, topic: Topic, message: DataPayload) -> None:
        with self.lock:
            self.samples.setdefault(topic.asset, []).extend(message.samples)
            self.kinds[topic.asset] = message.asset_kind

    def count(self, asset: str) -> int:
        with self.lock:
            return len(self.samples.get(asset, []))


def test_refresh_grid_devices_publish_their_truth_with_spread_start() -> None:
    clock = ManualClock(start_ms=NOON_SHANGHAI_MS + 250)
    site = build_site(pv=2, battery=0, meter=2, wind=1, seed=4, refresh_s=1.0)
    host = EnergyStubHost(clock=clock)
    kinds = {"PvInverter": "pv_inverter", "MetStation": "met_station", "Meter": "meter", "WindTurbine": "wind_turbine"}
    entries: list[dict[str, Any]] = []
    for dev in site.devices:
        ep = host.add(dev, port=free_port())
        kind = kinds[type(dev).__name__]
        entry: dict[str, Any] = dict(asset=dev.name, area="energy", asset_kind=kind, host="127.0.0.1", port=ep.port,
                                     poll_interval_s=0.1, timeout_s=0.5, retries=0)  # fmt: skip
        if kind == "wind_turbine":
            entry.update(protocol="register_map", map_file=str(DEFAULT_MAP_PATH))
        entries.append(entry)
    host.start()
    sink = Sink()
    src = ModbusSource(devices=load_devices(entries), enterprise="acme", site="keqiao", sink=sink, spread_start=True)
    try:
        src.start()
        clock.advance(30_400)  # to 12:00:30.650: the registers show 12:00:30
        deadline = time.monotonic() + WAIT_S
        want = {d.name: sink.count(d.name) + 2 for d in site.devices}
        while any(sink.count(a) < n for a, n in want.items()):
            assert time.monotonic() < deadline, "samples did not arrive"
            time.sleep(0.02)
        stats = src.stats()
    finally:
        src.stop()
        host.stop()
    assert stats.errors == 0 and stats.overruns == 0
    for dev in site.devices:
        assert dev.t_ms == NOON_SHANGHAI_MS + 30_000, dev.name
        last = sink.samples[dev.name][-1]
        assert last.quality is Quality.GOOD
        truth = dev.truth()
        got = {name: last.metrics.get(name) for name in METRICS[sink.kinds[dev.name]]}  # every metric of the kind
        for key in ("power_w", "ac_power_w", "ac_energy_wh", "import_energy_wh", "energy_wh", "ghi_w_m2"):
            if key in got and truth.get(key) is not None:
                tolerance = 50.0 if key.endswith("power_w") else 1.0  # half the coarsest register step
                assert got[key] == pytest.approx(truth[key], abs=tolerance), (dev.name, key)
