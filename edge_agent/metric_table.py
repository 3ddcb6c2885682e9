"""Every asset kind's metrics as plain data: name, int or float, bounds, unit. No pydantic.

The pydantic metrics models in :mod:`contracts.assets` are the contract; this table is the edge
agent's compiled copy of their constraints, so that the gateway's runtime can check and encode
samples without loading pydantic (~12 MB of a gateway's RSS, bench/gateway_footprint.py).
``tests/unit/edge_agent/test_edge_wire.py`` fails when the two differ.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

from seamline.contracts.kinds import AssetKind


class MetricValueError(ValueError):
    """A metric value that the contract refuses (wrong type, not finite, out of bounds)."""


@dataclass(frozen=True, slots=True)
class MetricField:
    name: str
    type: type[int] | type[float]
    ge: float | None  # inclusive lower bound
    le: float | None  # inclusive upper bound
    unit: str

    def check(self, value: object) -> int | float:
        """``value`` as the contract's JSON Schema types it (an integer field takes an integral
        number, a float field any finite number; never a bool or a string); raises
        :class:`MetricValueError`."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise MetricValueError(f"{self.name}: expected a number, got {type(value).__name__}")
        if not math.isfinite(value):
            raise MetricValueError(f"{self.name}: expected a finite number")
        if self.type is int:
            if isinstance(value, float) and not value.is_integer():
                raise MetricValueError(f"{self.name}: expected an integer, got {value!r}")
            out: int | float = int(value)
        else:
            try:
                out = float(value)
            except OverflowError:
                raise MetricValueError(f"{self.name}: expected a finite number") from None
        if self.ge is not None and out < self.ge:
            raise MetricValueError(f"{self.name}: {out!r} is below the minimum {self.ge!r}")
        if self.le is not None and out > self.le:
            raise MetricValueError(f"{self.name}: {out!r} is above the maximum {self.le!r}")
        return out


# The contract bounds every number (contracts.assets): an integer fits InfluxDB's int64, a float is
# a finite double. A row's None takes that bound.
INT64_MAX = 2**63 - 1
FLOAT_MAX = sys.float_info.max


def _fields(*rows: tuple[str, type[int] | type[float], float | None, float | None, str]) -> dict[str, MetricField]:
    out = {}
    for name, kind, ge, le, unit in rows:
        if kind is int:
            ge, le = (0 if ge is None else ge), (INT64_MAX if le is None else le)
        else:
            ge, le = (-FLOAT_MAX if ge is None else ge), (FLOAT_MAX if le is None else le)
        out[name] = MetricField(name, kind, ge, le, unit)
    return out


METRICS: dict[AssetKind, dict[str, MetricField]] = {
    AssetKind.SEWING_MACHINE: _fields(
        ("current_a", float, 0, 200, "A"),
        ("current_max_a", float, 0, 200, "A"),
        ("speed_spm", float, 0, 12000, "spm"),
        ("stitches_total", int, 0, None, "stitches"),
        ("pieces_total", int, 0, None, "pieces"),
        ("stitches", int, 0, None, "stitches"),
        ("pieces", int, 0, None, "pieces"),
        ("rejects", int, 0, None, "pieces"),
        ("stitches_unobserved", int, 0, None, "stitches"),
        ("pieces_unobserved", int, 0, None, "pieces"),
        ("unobserved_s", float, 0, None, "s"),
        ("run_s", float, 0, None, "s"),
        ("idle_s", float, 0, None, "s"),
        ("off_s", float, 0, None, "s"),
        ("down_s", float, 0, None, "s"),
        ("period_s", float, 0, None, "s"),
        ("samples", int, 0, None, "samples"),
        ("state_known_s", float, 0, None, "s"),
        ("event_down_s", float, 0, None, "s"),
        ("event_off_s", float, 0, None, "s"),
        ("stop_s", float, 0, None, "s"),
        ("stop_late_s", float, 0, None, "s"),
        ("idle_open_s", float, 0, None, "s"),
        ("idle_reason_s", float, 0, None, "s"),
        ("breakdowns", int, 0, None, "count"),
        ("stop_threshold_s", float, 0, None, "s"),
    ),
    AssetKind.PV_INVERTER: _fields(
        ("ac_power_w", float, None, None, "W"),
        ("ac_energy_wh", float, 0, None, "Wh"),
        ("dc_power_w", float, None, None, "W"),
        ("dc_voltage_v", float, None, None, "V"),
        ("ac_voltage_v", float, None, None, "V"),
        ("ac_current_a", float, None, None, "A"),
        ("ac_frequency_hz", float, None, None, "Hz"),
        ("cabinet_temp_c", float, None, None, "degC"),
        ("operating_state", int, 0, None, "enum"),
        ("rated_power_w", float, 0, None, "W"),
    ),
    AssetKind.BATTERY: _fields(
        ("soc_pct", float, 0, 100, "%"),
        ("soh_pct", float, 0, 120, "%"),
        ("power_w", float, None, None, "W"),
        ("charge_energy_wh", float, 0, None, "Wh"),
        ("discharge_energy_wh", float, 0, None, "Wh"),
        ("capacity_wh", float, 0, None, "Wh"),
        ("operating_state", int, 0, None, "enum"),
    ),
    AssetKind.METER: _fields(
        ("power_w", float, None, None, "W"),
        ("import_energy_wh", float, 0, None, "Wh"),
        ("export_energy_wh", float, 0, None, "Wh"),
        ("voltage_v", float, None, None, "V"),
        ("frequency_hz", float, None, None, "Hz"),
    ),
    AssetKind.MET_STATION: _fields(
        ("poa_irradiance_w_m2", float, -10, 2000, "W/m2"),
        ("ghi_w_m2", float, -10, 2000, "W/m2"),
        ("ambient_temp_c", float, -60, 70, "degC"),
        ("module_temp_c", float, -60, 120, "degC"),
        ("wind_speed_m_s", float, 0, 100, "m/s"),
    ),
    AssetKind.WIND_TURBINE: _fields(
        ("wind_speed_m_s", float, 0, 100, "m/s"),
        ("power_w", float, None, None, "W"),
        ("rotor_speed_rpm", float, 0, None, "rpm"),
        ("status", int, 0, None, "enum"),
        ("energy_wh", float, 0, None, "Wh"),
    ),
    AssetKind.GATEWAY: _fields(
        ("spool_messages", int, 0, None, "messages"),
        ("spool_bytes", int, 0, None, "bytes"),
        ("spool_oldest_age_s", float, 0, None, "s"),
        ("published", int, 0, None, "messages"),
        ("dropped", int, 0, None, "messages"),
        ("reconnects", int, 0, None, "count"),
        ("samples_in", int, 0, None, "samples"),
        ("rejected_in", int, 0, None, "messages"),
        ("devices_offline", int, 0, None, "devices"),
    ),
}


def units(kind: AssetKind) -> dict[str, str]:
    """Metric name -> unit of ``kind`` (what a birth message lists per asset)."""
    return {name: f.unit for name, f in METRICS[kind].items()}
