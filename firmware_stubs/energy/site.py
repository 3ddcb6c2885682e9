"""Wire a site of simulated energy devices: PV inverters (+ one met station when there is PV),
batteries dispatched by the site's energy management (each optionally with a meter on its AC
feeder), grid meters drawing the site's load less PV and battery, a sub-meter per line when the
load has lines, wind turbines (on their own connection: not behind the site's meter)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from seamline.firmware_stubs.energy.devices import STEP_S, Battery, MetStation, PvInverter, WindTurbine, _Base
from seamline.firmware_stubs.energy.dispatch import setpoint_w
from seamline.firmware_stubs.energy.factory_load import LoadSource
from seamline.firmware_stubs.energy.load_config import BatteryDispatchConfig, TariffConfig
from seamline.firmware_stubs.energy.meter import Meter


class NoLoad:
    """A site that draws nothing (a pure generation site)."""

    def power_w_at(self, ts_ms: int) -> float:
        return 0.0

    def energy_wh(self, ts_ms: int) -> float:
        return 0.0


@dataclass(frozen=True, slots=True)
class Dispatch:
    """The site's battery energy management: strategy and the tariff it follows."""

    config: BatteryDispatchConfig
    tariff: TariffConfig


@dataclass
class Site:
    pv: list[PvInverter] = field(default_factory=list)
    met: list[MetStation] = field(default_factory=list)
    batteries: list[Battery] = field(default_factory=list)
    meters: list[Meter] = field(default_factory=list)
    turbines: list[WindTurbine] = field(default_factory=list)
    # (battery, the meter on its AC feeder): sub-meters, not part of the grid connection
    feeders: list[tuple[Battery, Meter]] = field(default_factory=list)
    # (line id, the sub-meter on its distribution board): part of the grid meter's load
    line_meters: list[tuple[str, Meter]] = field(default_factory=list)
    load: LoadSource = field(default_factory=NoLoad)
    dispatch: Dispatch | None = None
    # PV park output (W) at the last instant asked: every meter and battery step needs it, and
    # with devices on one refresh grid they all ask for the same instant.
    _pv_at: tuple[int, float] | None = None
    pv_park_computations: int = 0

    @property
    def devices(self) -> list[_Base]:
        return [*self.pv, *self.met, *self.batteries, *self.meters, *self.feeder_meters,
                *(m for _, m in self.line_meters), *self.turbines]

    @property
    def feeder_meters(self) -> list[Meter]:
        return [m for _, m in self.feeders]

    def feeder_meter_of(self, battery: Battery) -> Meter | None:
        return next((m for b, m in self.feeders if b is battery), None)

    def line_of(self, meter: _Base) -> str | None:
        """The line a sub-meter measures (None for any other device)."""
        return next((line for line, m in self.line_meters if m is meter), None)

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
        """Each battery's share of what the energy management asks (W, + discharge)."""
        if self.dispatch is None:
            return 0.0
        want = setpoint_w(self.dispatch.config, self.dispatch.tariff, ts_ms=ts_ms,
                          load_w=self.load.power_w_at(ts_ms), pv_w=self._pv_w(ts_ms))
        return want / max(1, len(self.batteries))

    def _supply_w(self, ts_ms: int) -> float:
        """On-site supply behind the grid meter (W): PV output plus battery discharge (− charge)."""
        bat = 0.0
        for b in self.batteries:
            b.advance_to(ts_ms)
            bat += b.power_w()
        return self._pv_w(ts_ms) + bat


def _battery(name: str, site: Site, step_s: float, refresh_s: float | None) -> Battery:
    b = Battery(name=name, demand_w=site._battery_demand_w, step_s=step_s, refresh_s=refresh_s)
    if site.dispatch is not None:
        c = site.dispatch.config
        b.nameplate_wh, b.soh_pct, b.max_power_w = c.nameplate_kwh * 1000.0, c.soh_pct, c.max_power_kw * 1000.0
        b.soc_min_pct, b.soc_max_pct, b.initial_soc_pct = c.soc_min_pct, c.soc_max_pct, c.initial_soc_pct
        b.one_way_efficiency = c.one_way_efficiency
    return b


def build_site(
    *, pv: int, battery: int, meter: int, wind: int, seed: int, step_s: float = STEP_S, refresh_s: float | None = None,
    battery_meters: bool = False, load: LoadSource | None = None, line_loads: Mapping[str, LoadSource] | None = None,
    dispatch: Dispatch | None = None,
) -> Site:
    """Devices named pv1.., met1, bat1.., meter1.., wt1..; deterministic from ``seed``.
    ``step_s``: physics step (s); ``refresh_s``: register refresh grid (s, None = every read).
    ``battery_meters``: each battery gets a meter on its AC feeder, named after it (bat1 -> bat1m),
    importing what the battery charges and exporting what it discharges. ``load``: what the site
    draws (default nothing); ``line_loads``: a sub-meter per line (line01 -> line01m) drawing that
    load; ``dispatch``: the batteries' energy management (default: they hold)."""
    site = Site(load=load or NoLoad(), dispatch=dispatch)
    site.pv = [PvInverter(name=f"pv{i + 1}", clouds_seed=seed, step_s=step_s, refresh_s=refresh_s) for i in range(pv)]
    if pv:
        site.met = [MetStation(name="met1", clouds_seed=seed, step_s=step_s, refresh_s=refresh_s)]
    site.batteries = [_battery(f"bat{i + 1}", site, step_s, refresh_s) for i in range(battery)]
    site.meters = [
        Meter(name=f"meter{i + 1}", load=site.load, supply_w=site._supply_w, step_s=step_s, refresh_s=refresh_s)
        for i in range(meter)
    ]
    if battery_meters:
        site.feeders = [
            (b, Meter(name=f"{b.name}m", feeder=b.feeder_at, step_s=step_s, refresh_s=refresh_s))
            for b in site.batteries
        ]
    site.line_meters = [(line, Meter(name=f"{line}m", load=ld, step_s=step_s, refresh_s=refresh_s))
                        for line, ld in sorted((line_loads or {}).items())]
    site.turbines = [
        WindTurbine(name=f"wt{i + 1}", seed=seed * 1000 + i, step_s=step_s, refresh_s=refresh_s) for i in range(wind)
    ]
    return site
