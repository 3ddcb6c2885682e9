"""Battery state of charge (pure): integrate terminal power with one-way losses.

Sign: ``power_w`` at the terminals is + discharge / - charge (as in contracts BatteryMetrics).
Charging P for dt stores P*dt*eta; discharging P for dt takes P*dt/eta from the cells, so a full
charge-discharge cycle returns eta**2 (0.95**2 = 90.25 %) of the energy put in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

ONE_WAY_EFFICIENCY = 0.95  # LFP cells + PCS, each direction: ~90 % round trip


@dataclass(frozen=True, slots=True)
class BatteryState:
    capacity_wh: float  # usable capacity now (nameplate x SoH)
    stored_wh: float
    charged_wh: float = 0.0  # lifetime energy in at the terminals
    discharged_wh: float = 0.0  # lifetime energy out at the terminals

    @property
    def soc_pct(self) -> float:
        return 100.0 * self.stored_wh / self.capacity_wh


def step_battery(
    state: BatteryState, *, power_w: float, dt_s: float, eta: float = ONE_WAY_EFFICIENCY,
    soc_min_pct: float = 0.0, soc_max_pct: float = 100.0,
) -> tuple[BatteryState, float]:
    """Apply ``power_w`` (+ discharge / - charge) for ``dt_s`` seconds. The SoC is kept in
    [``soc_min_pct``, ``soc_max_pct``] (the BMS window; a SoC already outside it only moves back
    towards it): the power actually delivered (W) is returned next to the new state."""
    hours = dt_s / 3600.0
    floor_wh = state.capacity_wh * soc_min_pct / 100.0
    ceiling_wh = state.capacity_wh * soc_max_pct / 100.0
    if power_w >= 0:  # discharge
        want_cells_wh = power_w * hours / eta
        took = min(want_cells_wh, max(0.0, state.stored_wh - floor_wh))
        out_wh = took * eta
        new = replace(state, stored_wh=state.stored_wh - took, discharged_wh=state.discharged_wh + out_wh)
        return new, (out_wh / hours if hours > 0 else 0.0)
    in_wh = -power_w * hours
    room = max(0.0, ceiling_wh - state.stored_wh)
    stored = min(in_wh * eta, room)
    taken_wh = stored / eta
    new = replace(state, stored_wh=state.stored_wh + stored, charged_wh=state.charged_wh + taken_wh)
    return new, (-taken_wh / hours if hours > 0 else 0.0)
