"""A simulated SunSpec 203 meter (three-phase wye): a site's grid connection, a line's sub-meter
or the meter on a battery's feeder. Counters in Wh (TotWh_SF 0), power in 100 W steps.

What it counts, by what it is wired to:

- ``load`` (a :class:`LoadSource`, e.g. a factory's simulated components or one line's): each
  step adds exactly the load's energy since the previous step, less what on-site supply behind
  the meter (``supply_w``: PV + battery, W) delivered over the step; a negative balance is export.
  Energy-exact, so the counters equal the sum of the simulated components whatever the step grid;
- ``feeder`` (e.g. a battery's ``feeder_at``): the feeder's own lifetime energies, exactly;
- otherwise ``net_power_w`` (W, + import) held over each step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from seamline.firmware_stubs.energy import sunspec_image
from seamline.firmware_stubs.energy.counters import EnergyCounter
from seamline.firmware_stubs.energy.devices import INITIAL_COUNTER_WH, Truth, _Base, _common
from seamline.firmware_stubs.energy.factory_load import LoadSource
from seamline.firmware_stubs.energy.feeder import FeederFlow


@dataclass
class Meter(_Base):
    """W_SF = 2 (100 W steps): a park connection swings by MW, int16 must hold +-3.2 MW."""

    net_power_w: Callable[[int], float] = lambda _ts: 0.0
    feeder: Callable[[int], FeederFlow] | None = None
    load: LoadSource | None = None
    supply_w: Callable[[int], float] = lambda _ts: 0.0
    imported: EnergyCounter = field(default_factory=lambda: EnergyCounter(offset_wh=INITIAL_COUNTER_WH))
    exported: EnergyCounter = field(default_factory=lambda: EnergyCounter(offset_wh=INITIAL_COUNTER_WH))
    _power_w: float = 0.0
    _feeder_seen: FeederFlow | None = None
    _load_seen_wh: float | None = None

    def _step(self, ts_ms: int, dt_s: float) -> None:
        if self.feeder is not None:
            self._step_feeder(self.feeder(ts_ms))
        elif self.load is not None:
            self._step_load(self.load, ts_ms, dt_s)
        else:
            self._power_w = self.net_power_w(ts_ms)
            self._count(self._power_w * dt_s / 3600.0)

    def _count(self, net_wh: float) -> None:
        if net_wh >= 0:
            self.imported = self.imported.add(net_wh)
        else:
            self.exported = self.exported.add(-net_wh)

    def _step_load(self, load: LoadSource, ts_ms: int, dt_s: float) -> None:
        drawn_wh = load.energy_wh(ts_ms)
        seen = drawn_wh if self._load_seen_wh is None else self._load_seen_wh  # the first step: its zero
        self._load_seen_wh = drawn_wh
        supply = self.supply_w(ts_ms)
        self._power_w = load.power_w_at(ts_ms) - supply
        self._count(drawn_wh - seen - supply * dt_s / 3600.0)

    def _step_feeder(self, flow: FeederFlow) -> None:
        seen = self._feeder_seen or flow  # the first step only takes the feeder's reading as its zero
        self.imported = self.imported.add(max(0.0, flow.import_wh - seen.import_wh))
        self.exported = self.exported.add(max(0.0, flow.export_wh - seen.export_wh))
        self._power_w = flow.power_w
        self._feeder_seen = FeederFlow(flow.power_w, max(flow.import_wh, seen.import_wh),
                                       max(flow.export_wh, seen.export_wh))

    def truth(self) -> Truth:
        with self._lock:
            values = {
                "power_w": self._power_w, "import_energy_wh": float(self.imported.register_value),
                "export_energy_wh": float(self.exported.register_value), "voltage_v": 230.0, "frequency_hz": 50.0,
            }  # fmt: skip
            return self._blank(values)

    def totals_wh(self) -> tuple[float, float]:
        """(imported, exported) Wh counted since the simulation started (unwrapped, unrounded)."""
        with self._lock:
            return self.imported.total_wh, self.exported.total_wh

    def _build_image(self) -> list[int]:
        t = self.truth()
        m203 = {
            "A": abs(t["power_w"] or 0.0) / 690.0, "AphA": 0.0, "AphB": 0.0, "AphC": 0.0, "A_SF": -1,
            "PhV": t["voltage_v"], "PhVphA": 230.0, "PhVphB": 230.0, "PhVphC": 230.0, "PPV": 400.0,
            "PhVphAB": 400.0, "PhVphBC": 400.0, "PhVphCA": 400.0, "V_SF": -1, "Hz": t["frequency_hz"], "Hz_SF": -2,
            "W": t["power_w"], "W_SF": 2, "TotWhExp": t["export_energy_wh"], "TotWhImp": t["import_energy_wh"],
            "TotWh_SF": 0, "Evt": 0,
        }  # fmt: skip
        return sunspec_image.device_image([_common("SL-M203", self.name), sunspec_image.encode_model(203, m203)])
