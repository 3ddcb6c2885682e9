"""Factory energy KPIs: site consumption, kWh per piece, share covered by on-site green generation;
per line (where the line has a sub-meter) its consumption and kWh per piece.

Energy balance of a site (kWh over one window)::

    consumption = grid import − grid export + on-site generation + battery discharge − battery charge
    green share = (generation − export) / consumption, clipped to [0, 1]

i.e. exported energy is assumed to be green surplus (it leaves while generation runs), and a
battery charged from the grid is not tracked separately (its losses count as consumption).
"""

from __future__ import annotations

from dataclasses import dataclass

from seamline.rules.coverage import Coverage
from seamline.rules.kpi.result import Flag, KpiResult, KpiValue, build, ratio
from seamline.rules.windows import Window


@dataclass(frozen=True, slots=True)
class SiteEnergy:
    """Energies of one site over one window, all kWh, all ≥ 0."""

    grid_import_kwh: float
    grid_export_kwh: float = 0.0
    generation_kwh: float = 0.0
    battery_charge_kwh: float = 0.0
    battery_discharge_kwh: float = 0.0

    def __post_init__(self) -> None:
        for name in ("grid_import_kwh", "grid_export_kwh", "generation_kwh", "battery_charge_kwh",
                     "battery_discharge_kwh"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")

    @property
    def consumption_kwh(self) -> float:
        return (self.grid_import_kwh - self.grid_export_kwh + self.generation_kwh
                + self.battery_discharge_kwh - self.battery_charge_kwh)


def kwh_per_piece(consumption_kwh: float, pieces: int) -> float | None:
    """Consumption per good piece (kWh/piece); ``None`` without pieces."""
    return consumption_kwh / pieces if pieces > 0 else None


def factory_energy_kpi(
    energy: SiteEnergy,
    good_pieces: int,
    window: Window,
    *,
    coverage: Coverage,
    coverage_threshold: float,
) -> KpiResult:
    """Consumption, kWh per piece and green share. ``coverage`` is the weakest coverage of the
    meters and assets that fed ``energy`` (the caller takes the minimum)."""
    consumption = energy.consumption_kwh
    green, clipped = ratio("green_share", energy.generation_kwh - energy.grid_export_kwh, consumption)
    values = (
        KpiValue("consumption_kwh", "kWh", consumption),
        KpiValue("kwh_per_piece", "kWh/piece", kwh_per_piece(consumption, good_pieces)),
        green,
    )
    flags = [Flag.CLIPPED] if clipped else []
    return build("factory_energy", window, coverage, values, flags, coverage_threshold=coverage_threshold)


def line_energy_kpi(
    consumption_kwh: float,
    good_pieces: int,
    window: Window,
    *,
    coverage: Coverage,
    coverage_threshold: float,
) -> KpiResult:
    """A line's own consumption (kWh, from the sub-meters on its distribution board: machines and
    irons) and kWh per good piece of the line. ``coverage`` is the weakest of its sub-meters'."""
    values = (
        KpiValue("consumption_kwh", "kWh", consumption_kwh),
        KpiValue("kwh_per_piece", "kWh/piece", kwh_per_piece(consumption_kwh, good_pieces)),
    )
    return build("line_energy", window, coverage, values, coverage_threshold=coverage_threshold)
