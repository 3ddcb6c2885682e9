"""Ground truth of the energy stubs over time: a recorder thread samples each device's true
running totals (PV and turbine energy, battery charge/discharge and stored energy, meter
counters) and each site's load components against simulated time, so the KPIs of any window can
be held against what the physics really produced.

The loads are the very profiles the meters integrate (``EnergyPlant.loads``): a component's
energy in a window is read from them exactly (:meth:`EnergyTruthRecorder.load_kwh`), and the
recorded timeline lets a test check that each meter counted the sum of its components.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field

from seamline.demo.energy import EnergyPlant
from seamline.firmware_stubs.clock import SimClock
from seamline.firmware_stubs.energy.devices import Battery, PvInverter, WindTurbine, _Base
from seamline.firmware_stubs.energy.meter import Meter

LOAD = "load"  # series name suffix of a site's load components: "<enterprise>-load"
TOTAL = "total"


def totals_of(dev: _Base) -> dict[str, float]:
    """The device's true running totals (Wh); the caller holds the device's lock."""
    if isinstance(dev, PvInverter | WindTurbine):
        return {"energy_wh": dev.energy.total_wh}
    if isinstance(dev, Battery) and dev.state is not None:
        s = dev.state
        return {"charge_wh": s.charged_wh, "discharge_wh": s.discharged_wh, "stored_wh": s.stored_wh,
                "capacity_wh": s.capacity_wh}
    if isinstance(dev, Meter):
        return {"import_wh": dev.imported.total_wh, "export_wh": dev.exported.total_wh}
    return {}


@dataclass(slots=True)
class EnergyTruthRecorder:
    plant: EnergyPlant
    clock: SimClock
    interval_wall_s: float = 0.05
    series: dict[str, list[tuple[int, dict[str, float]]]] = field(default_factory=dict)  # device name -> samples
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="energy-truth", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_wall_s):
            now = self.clock.now_ms()
            if now >= self.clock.start_ms:  # before the replay there is nothing to record; stepping the
                self.sample(now)            # physics then would only compete with the processes starting

    def sample(self, now: int) -> None:
        """Record every device's totals and every site's load components at ``now``."""
        for ent, site in self.plant.sites.items():
            for dev in site.devices:
                dev.advance_to(now)  # the same forward-only physics the Modbus reads drive
                with dev._lock:
                    t = totals_of(dev)
                if t:
                    self.series.setdefault(dev.name, []).append((now, t))
            load = self.plant.loads.get(ent)
            if load is not None:
                parts = load.site.parts_wh(now)
                self.series.setdefault(f"{ent}-{LOAD}", []).append((now, {**parts, TOTAL: sum(parts.values())}))

    def at(self, device: str, key: str, t_ms: int) -> float | None:
        """Linear interpolation of a running total at ``t_ms`` (None outside the recording)."""
        rows = self.series.get(device, [])
        times = [r[0] for r in rows]
        i = bisect.bisect_left(times, t_ms)
        if i == 0 or i >= len(rows):
            return rows[i][1][key] if rows and i < len(rows) and times[i] == t_ms else None
        (t0, a), (t1, b) = rows[i - 1], rows[i]
        return a[key] + (b[key] - a[key]) * (t_ms - t0) / (t1 - t0)

    def between(self, device: str, key: str, start_ms: int, end_ms: int) -> float | None:
        a, b = self.at(device, key, start_ms), self.at(device, key, end_ms)
        return None if a is None or b is None else b - a

    def load_kwh(self, enterprise: str, start_ms: int, end_ms: int) -> dict[str, float]:
        """Each load component's energy (kWh) of the site in ``[start_ms, end_ms)``, exact."""
        load = self.plant.loads[enterprise]
        return {name: p.energy_between_wh(start_ms, end_ms) / 1000.0 for name, p in load.site.parts.items()}

    def line_kwh(self, enterprise: str, line: str, start_ms: int, end_ms: int) -> float:
        """What the line's sub-meter draws (its machines and irons) in ``[start_ms, end_ms)``, kWh."""
        return self.plant.loads[enterprise].lines[line].total.energy_between_wh(start_ms, end_ms) / 1000.0
