"""Asset kinds and their typed metrics, with units.

Each asset kind has one metrics model. Every field is optional (a sample carries what the device
measured; a missing field means *no value*, never zero). Units follow SunSpec / SI on the wire:
W, Wh, V, A, Hz, °C, W/m², m/s, rpm, %; durations in seconds. KPIs convert to kW/kWh later.

Each field's unit is in its JSON Schema (``"unit"``) and available via :func:`metric_specs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from seamline.contracts.kinds import AssetKind as AssetKind


def _m(unit: str, description: str, **kw: Any) -> Any:
    return Field(default=None, description=description, json_schema_extra={"unit": unit}, **kw)


class Metrics(BaseModel):
    """Base of the per-kind metrics models: strict keys, no NaN/inf."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)


class SewingMachineMetrics(Metrics):
    """Raw node samples carry current/speed/counters; edge aggregates add the ``*_s`` and deltas."""

    current_a: float | None = _m("A", "RMS motor current over the sample interval", ge=0, le=200)
    current_max_a: float | None = _m("A", "Peak RMS motor current in the aggregation period", ge=0, le=200)
    speed_spm: float | None = _m("spm", "Mean needle speed, stitches per minute", ge=0, le=12000)
    stitches_total: int | None = _m("stitches", "Stitch counter since node boot (rises, resets on reboot)", ge=0)
    pieces_total: int | None = _m("pieces", "Bundle-ticket piece counter since node boot", ge=0)
    stitches: int | None = _m("stitches", "Stitches in the aggregation period", ge=0)
    pieces: int | None = _m("pieces", "Good pieces scanned in the aggregation period", ge=0)
    rejects: int | None = _m("pieces", "Pieces scanned as rework/reject in the period", ge=0)
    stitches_unobserved: int | None = _m(
        "stitches", "Counter increase across a data gap before this period: real, but not observed", ge=0)
    pieces_unobserved: int | None = _m(
        "pieces", "Pieces counted across a data gap before this period: real output, unobserved time", ge=0)
    unobserved_s: float | None = _m("s", "Length of that data gap (the *_unobserved counts were made in it)", ge=0)
    run_s: float | None = _m("s", "Seconds in state running during the period", ge=0)
    idle_s: float | None = _m("s", "Seconds in state idle during the period", ge=0)
    off_s: float | None = _m("s", "Seconds in state off during the period", ge=0)
    down_s: float | None = _m("s", "Seconds in state down (breakdown) during the period", ge=0)
    period_s: float | None = _m("s", "Length of the aggregation period the sample covers", ge=0)
    samples: int | None = _m("samples", "Raw node samples aggregated into this sample", ge=0)


class PvInverterMetrics(Metrics):
    ac_power_w: float | None = _m("W", "AC active power (SunSpec 103 W)")
    ac_energy_wh: float | None = _m("Wh", "AC lifetime energy counter (SunSpec 103 WH)", ge=0)
    dc_power_w: float | None = _m("W", "DC power (SunSpec 103 DCW)")
    dc_voltage_v: float | None = _m("V", "DC voltage (SunSpec 103 DCV)")
    ac_voltage_v: float | None = _m("V", "AC phase voltage AB (SunSpec 103 PPVphAB)")
    ac_current_a: float | None = _m("A", "AC total current (SunSpec 103 A)")
    ac_frequency_hz: float | None = _m("Hz", "Line frequency (SunSpec 103 Hz)")
    cabinet_temp_c: float | None = _m("degC", "Cabinet temperature (SunSpec 103 TmpCab)")
    operating_state: int | None = _m("enum", "SunSpec 103 St (1 OFF .. 7 FAULT, 8 STANDBY)", ge=0)
    rated_power_w: float | None = _m("W", "Nameplate AC power (SunSpec 120 WRtg)", ge=0)


class BatteryMetrics(Metrics):
    soc_pct: float | None = _m("%", "State of charge", ge=0, le=100)
    soh_pct: float | None = _m("%", "State of health, % of initial capacity", ge=0, le=120)
    power_w: float | None = _m("W", "Power at the battery terminals, + discharge / - charge")
    charge_energy_wh: float | None = _m("Wh", "Lifetime energy charged counter", ge=0)
    discharge_energy_wh: float | None = _m("Wh", "Lifetime energy discharged counter", ge=0)
    capacity_wh: float | None = _m("Wh", "Usable capacity (nameplate × SoH)", ge=0)
    operating_state: int | None = _m("enum", "Vendor/SunSpec battery state code", ge=0)


class MeterMetrics(Metrics):
    power_w: float | None = _m("W", "Total active power, + import from grid / - export")
    import_energy_wh: float | None = _m("Wh", "Total imported real energy counter (SunSpec 203 TotWhImp)", ge=0)
    export_energy_wh: float | None = _m("Wh", "Total exported real energy counter (SunSpec 203 TotWhExp)", ge=0)
    voltage_v: float | None = _m("V", "Line-to-neutral voltage average")
    frequency_hz: float | None = _m("Hz", "Frequency")


class MetStationMetrics(Metrics):
    poa_irradiance_w_m2: float | None = _m("W/m2", "Plane-of-array irradiance", ge=-10, le=2000)
    ghi_w_m2: float | None = _m("W/m2", "Global horizontal irradiance", ge=-10, le=2000)
    ambient_temp_c: float | None = _m("degC", "Ambient air temperature", ge=-60, le=70)
    module_temp_c: float | None = _m("degC", "Back-of-module temperature", ge=-60, le=120)
    wind_speed_m_s: float | None = _m("m/s", "Wind speed at the met mast", ge=0, le=100)


class WindTurbineMetrics(Metrics):
    """IEC 61400-25 points: WMET.HorWdSpd, WTUR.W, WROT.RotSpd, WTUR.TurSt, WTUR.TotWh."""

    wind_speed_m_s: float | None = _m("m/s", "WMET.HorWdSpd, nacelle wind speed", ge=0, le=100)
    power_w: float | None = _m("W", "WTUR.W, active power")
    rotor_speed_rpm: float | None = _m("rpm", "WROT.RotSpd, rotor speed", ge=0)
    status: int | None = _m("enum", "WTUR.TurSt, turbine status code (vendor map in config)", ge=0)
    energy_wh: float | None = _m("Wh", "WTUR.TotWh, lifetime energy counter", ge=0)


class GatewayMetrics(Metrics):
    """Self-telemetry of an edge agent."""

    spool_messages: int | None = _m("messages", "Messages waiting in the spool", ge=0)
    spool_bytes: int | None = _m("bytes", "Bytes used by spooled payloads", ge=0)
    spool_oldest_age_s: float | None = _m("s", "Age of the oldest spooled message", ge=0)
    published: int | None = _m("messages", "Messages acknowledged by the broker (counter)", ge=0)
    dropped: int | None = _m("messages", "Messages dropped by the spool policy (counter)", ge=0)
    reconnects: int | None = _m("count", "Uplink reconnects (counter)", ge=0)
    samples_in: int | None = _m("samples", "Samples read from devices (counter)", ge=0)
    rejected_in: int | None = _m("messages", "Local messages rejected as invalid (counter)", ge=0)
    devices_offline: int | None = _m("devices", "Devices currently not answering", ge=0)


METRICS_MODELS: dict[AssetKind, type[Metrics]] = {
    AssetKind.SEWING_MACHINE: SewingMachineMetrics,
    AssetKind.PV_INVERTER: PvInverterMetrics,
    AssetKind.BATTERY: BatteryMetrics,
    AssetKind.METER: MeterMetrics,
    AssetKind.MET_STATION: MetStationMetrics,
    AssetKind.WIND_TURBINE: WindTurbineMetrics,
    AssetKind.GATEWAY: GatewayMetrics,
}


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str
    unit: str
    type: str  # "float" or "int"
    description: str


@cache
def metric_specs(kind: AssetKind) -> dict[str, MetricSpec]:
    """Name -> spec (unit, type, description) of every metric of ``kind``."""
    model = METRICS_MODELS[AssetKind(kind)]
    out: dict[str, MetricSpec] = {}
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        ann = str(field.annotation)
        out[name] = MetricSpec(
            name=name,
            unit=str(extra.get("unit", "")),
            type="int" if "int" in ann else "float",
            description=field.description or "",
        )
    return out
