"""Wire a park of simulated energy devices: PV inverters (+ one met station when there is PV),
batteries doing self-consumption (each optionally with a meter on its AC feeder), a grid meter
seeing load - PV - battery, wind turbines."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from seamline.firmware_stubs.energy.devices import STEP_S, Battery, Meter, MetStation, PvInverter, WindTurbine, _Base
from seamline.firmware_stubs.energy.solar import TZ

FACTORY_BASE_LOAD_W = 40_000.0  # lights, compressors, IT around the clock
FACTORY_SHIFT_LOAD_W = 80_000.0  # ~200 sewing machines + irons during the 08:00-18:00 shift


def factory_load_w(ts_ms: int) -> float:
    """Factory demand (W): base load plus a smooth shift block 08:00-18:00 local."""
    local = datetime.fromtimestamp(ts_ms / 1000.0, tz=UTC).astimezone(TZ)
    h = local.hour + local.minute / 60.0
    shift = 0.0 if not 8.0 <= h <= 18.0 else math.sin(math.pi * (h - 8.0) / 10.0) ** 0.3
    return FACTORY_BASE_LOAD_W + FACTORY_SHIFT_LOAD_W * shift


@dataclass
class Site:
    pv: list[PvInverter] = field(default_factory=list)
    met: list[MetStation] = field(default_factory=list)
    batteries: list[Battery] = field(default_factory=list)
    meters: list[Meter] = field(default_factory=list)
    turbines: list[WindTurbine] = field(default_factory=list)
    # (battery, the meter on its AC feeder): sub-meters, not part of the grid connection
    feeders: list[tuple[Battery, Meter]] = field(default_factory=list)
    # PV park output (W) at the last instant asked: every meter and battery step needs it, and
    # with devices on one refresh grid they all ask for the same instant.
    _pv_at: tuple[int, float] | None = None
    pv_park_computations: int = 0

    @property
    def devices(self) -> list[_Base]:
        return [*self.pv, *self.met, *self.batteries, *self.meters, *self.feeder_meters, *self.turbines]

    @property
    def feeder_meters(self) -> list[Meter]:
        return [m for _, m in self.feeders]

    def feeder_meter_of(self, battery: Battery) -> Meter | None:
        return next((m for b, m in self.feeders if b is battery), None)

    def _pv_w(self, ts_ms: int) -> float:
        cached = self._pv_at
        if cached is not None and cached[0] == ts_ms:
            return cached[1]
        total = 0.0
        for inv in self.pv:
            inv.advance_to(ts_ms)
            total += inv.ac_power_w()
        self._pv_at = (ts_ms, total)
        self.pv_park_computations += 1
        return total

    def _battery_demand_w(self, ts_ms: int) -> float:
        n = max(1, len(self.batteries))
        return (factory_load_w(ts_ms) - self._pv_w(ts_ms)) / n  # + discharge when load > PV

    def _net_w(self, ts_ms: int) -> float:
        bat = 0.0
        for b in self.batteries:
            b.advance_to(ts_ms)
            bat += b.power_w()
        return factory_load_w(ts_ms) - self._pv_w(ts_ms) - bat


def build_site(
    *, pv: int, battery: int, meter: int, wind: int, seed: int, step_s: float = STEP_S, refresh_s: float | None = None,
    battery_meters: bool = False,
) -> Site:
    """Devices named pv1.., met1, bat1.., meter1.., wt1..; deterministic from ``seed``.
    ``step_s``: physics step (s); ``refresh_s``: register refresh grid (s, None = every read).
    ``battery_meters``: each battery gets a meter on its AC feeder, named after it (bat1 -> bat1m),
    importing what the battery charges and exporting what it discharges."""
    site = Site()
    site.pv = [PvInverter(name=f"pv{i + 1}", clouds_seed=seed, step_s=step_s, refresh_s=refresh_s) for i in range(pv)]
    if pv:
        site.met = [MetStation(name="met1", clouds_seed=seed, step_s=step_s, refresh_s=refresh_s)]
    site.batteries = [
        Battery(name=f"bat{i + 1}", demand_w=site._battery_demand_w, step_s=step_s, refresh_s=refresh_s)
        for i in range(battery)
    ]
    site.meters = [
        Meter(name=f"meter{i + 1}", net_power_w=site._net_w, step_s=step_s, refresh_s=refresh_s) for i in range(meter)
    ]
    if battery_meters:
        site.feeders = [
            (b, Meter(name=f"{b.name}m", feeder=b.feeder_at, step_s=step_s, refresh_s=refresh_s))
            for b in site.batteries
        ]
    site.turbines = [
        WindTurbine(name=f"wt{i + 1}", seed=seed * 1000 + i, step_s=step_s, refresh_s=refresh_s) for i in range(wind)
    ]
    return site
