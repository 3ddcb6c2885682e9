"""The battery's energy management (pure): the power the park asks of its battery at an instant,
from the tariff period, the site's load and its PV output. The battery itself (battery.py) then
holds the request to its power rating and state-of-charge window and loses its conversion
losses, as a battery's PCS and BMS do.

Strategy ``tou`` (time-of-use arbitrage with self-consumption):

- a discharge period (sharp / peak) with load above PV: discharge to cover the net load
  (load − PV), never more, so the battery does not export;
- otherwise charge with the PV surplus (when ``charge_from_pv_surplus``), in a charge period
  (valley) at least at ``grid_charge_kw`` (topped up from the grid);
- else hold.
"""

from __future__ import annotations

from seamline.firmware_stubs.energy.load_config import BatteryDispatchConfig, TariffConfig
from seamline.firmware_stubs.energy.tariff import period_at


def setpoint_w(cfg: BatteryDispatchConfig, tariff: TariffConfig, *, ts_ms: int, load_w: float, pv_w: float) -> float:
    """Requested battery power (W, + discharge / − charge) at ``ts_ms``, before the battery's own
    limits (rating, SoC window) apply."""
    net_w = load_w - pv_w
    period = period_at(tariff, ts_ms)
    if period in cfg.discharge_periods and net_w > 0:
        return net_w
    surplus_w = max(0.0, -net_w) if cfg.charge_from_pv_surplus else 0.0
    grid_w = cfg.grid_charge_kw * 1000.0 if period in cfg.charge_periods else 0.0
    return -max(surplus_w, grid_w)
