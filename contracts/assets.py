"""Asset kinds and their typed metrics, with units.

Each asset kind has one metrics model. Every field is optional (a sample carries what the device
measured; a missing field means *no value*, never zero). Units follow SunSpec / SI on the wire:
W, Wh, V, A, Hz, °C, W/m², m/s, rpm, %; durations in seconds. KPIs convert to kW/kWh later.

Each field's unit is in its JSON Schema (``"unit"``) and available via :func:`metric_specs`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, JsonValue, model_validator

from seamline.contracts.kinds import AssetKind as AssetKind

# JSON has one number type: JSON Schema's "integer" is any number with no fractional part (``4.0``
# too), its "number" any finite one. Ingest validates in pydantic's strict mode (no ``"4"``, no
# ``true``), so these make pydantic agree with the published schema on the rest: a whole float is
# an integer, and every number is bounded (a finite double; an integer fits InfluxDB's int64) so a
# validator reading ``1e400`` as infinity, or an integer too large to store, rejects it as well.
INT64_MAX = 2**63 - 1
FLOAT_MAX = sys.float_info.max


def whole_float_to_int(value: object) -> object:
    """``4.0`` -> ``4`` (JSON Schema calls it an integer); anything else unchanged."""
    return int(value) if type(value) is float and value.is_integer() else value


WholeNumbers = BeforeValidator(whole_float_to_int)
# Constraints before the validator: the other order drops them from the JSON Schema.
Count = Annotated[int, Field(ge=0, le=INT64_MAX), WholeNumbers]



def _m(unit: str, description: str, **kw: Any) -> Any:
    """A float metric: finite bounds unless tighter ones are given."""
    if "ge" not in kw and "gt" not in kw:
        kw["ge"] = -FLOAT_MAX
    if "le" not in kw and "lt" not in kw:
        kw["le"] = FLOAT_MAX
    return Field(default=None, description=description, json_schema_extra={"unit": unit}, **kw)


def _n(unit: str, description: str) -> Any:
    """A count metric (:data:`Count`: 0 .. int64)."""
    return Field(default=None, description=description, json_schema_extra={"unit": unit})


class Metrics(BaseModel):
    """Base of the per-kind metrics models: strict keys, no NaN/inf."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)


# Figures of one aggregation period. A sample with any of them (even null) is an aggregate and
# carries its ``period_s`` as a number: the rules sum them with InfluxQL over every row of the
# measurement, without a field condition, which would double what InfluxDB reads
# (rules/aggregate_source.py). Raw node samples (current, speed, counters) have none of them.
PERIOD_FIGURES: tuple[str, ...] = (
    "run_s", "idle_s", "off_s", "down_s", "pieces", "rejects", "pieces_unobserved", "unobserved_s",
    "state_known_s", "event_down_s", "event_off_s", "stop_s", "stop_late_s", "idle_open_s", "idle_reason_s",
    "breakdowns", "stop_threshold_s")
_NEEDS_PERIOD: dict[str, JsonValue] = {"required": ["period_s"], "properties": {"period_s": {"type": "number"}}}


class SewingMachineMetrics(Metrics):
    """Raw node samples carry current/speed/counters; edge aggregates add the ``*_s`` and deltas
    (those of :data:`PERIOD_FIGURES` only with ``period_s``)."""

    model_config = ConfigDict(json_schema_extra={"dependentSchemas": {f: _NEEDS_PERIOD for f in PERIOD_FIGURES}})

    current_a: float | None = _m("A", "RMS motor current over the sample interval", ge=0, le=200)
    current_max_a: float | None = _m("A", "Peak RMS motor current in the aggregation period", ge=0, le=200)
    speed_spm: float | None = _m("spm", "Mean needle speed, stitches per minute", ge=0, le=12000)
    stitches_total: Count | None = _n("stitches", "Stitch counter since node boot (rises, resets on reboot)")
    pieces_total: Count | None = _n("pieces", "Bundle-ticket piece counter since node boot")
    stitches: Count | None = _n("stitches", "Stitches in the aggregation period")
    pieces: Count | None = _n("pieces", "Good pieces scanned in the aggregation period")
    rejects: Count | None = _n("pieces", "Pieces scanned as rework/reject in the period")
    stitches_unobserved: Count | None = _n(
        "stitches", "Counter increase across a data gap before this period: real, but not observed")
    pieces_unobserved: Count | None = _n(
        "pieces", "Pieces counted across a data gap before this period: real output, unobserved time")
    unobserved_s: float | None = _m("s", "Length of that data gap (the *_unobserved counts were made in it)", ge=0)
    run_s: float | None = _m("s", "Seconds in state running during the period", ge=0)
    idle_s: float | None = _m("s", "Seconds in state idle during the period", ge=0)
    off_s: float | None = _m("s", "Seconds in state off during the period", ge=0)
    down_s: float | None = _m("s", "Seconds in state down (breakdown) during the period", ge=0)
    period_s: float | None = _m("s", "Length of the aggregation period the sample covers", ge=0)
    samples: Count | None = _n("samples", "Raw node samples aggregated into this sample")
    # Since edge aggregate split 1: the state-change events' timeline per period, so the rules
    # sum aggregates instead of reading every event (edge_agent/stop_split.py). Absent from older
    # edges; the rules read the events for periods without them.
    state_known_s: float | None = _m("s", "Seconds of the period after the machine's first state event", ge=0)
    event_down_s: float | None = _m("s", "Seconds down by the state events (debounced timeline)", ge=0)
    event_off_s: float | None = _m("s", "Seconds off by the state events (debounced timeline)", ge=0)
    stop_s: float | None = _m(
        "s", "Idle seconds (state events) in idle periods known at the period's end to last >= stop_threshold_s", ge=0)
    stop_late_s: float | None = _m(
        "s", "Seconds before this period of an idle period that reached stop_threshold_s in it", ge=0)
    idle_open_s: float | None = _m(
        "s", "Length so far of the idle period open at the period's end, when shorter than stop_threshold_s", ge=0)
    idle_reason_s: float | None = _m(
        "s", "Idle seconds (state events) in idle periods with a known reason, stops or open at the period's end", ge=0)
    breakdowns: Count | None = _n("count", "Changes into down (state events) in the period")
    stop_threshold_s: float | None = _m("s", "Idle periods at least this long are stops (the split above)", ge=0)

    @model_validator(mode="after")
    def _figures_have_their_period(self) -> SewingMachineMetrics:
        if self.period_s is None and not self.model_fields_set.isdisjoint(PERIOD_FIGURES):
            names = sorted(self.model_fields_set.intersection(PERIOD_FIGURES))
            raise ValueError(f"{', '.join(names)}: figures of an aggregation period, allowed only with period_s")
        return self


class PvInverterMetrics(Metrics):
    ac_power_w: float | None = _m("W", "AC active power (SunSpec 103 W)")
    ac_energy_wh: float | None = _m("Wh", "AC lifetime energy counter (SunSpec 103 WH)", ge=0)
    dc_power_w: float | None = _m("W", "DC power (SunSpec 103 DCW)")
    dc_voltage_v: float | None = _m("V", "DC voltage (SunSpec 103 DCV)")
    ac_voltage_v: float | None = _m("V", "AC phase voltage AB (SunSpec 103 PPVphAB)")
    ac_current_a: float | None = _m("A", "AC total current (SunSpec 103 A)")
    ac_frequency_hz: float | None = _m("Hz", "Line frequency (SunSpec 103 Hz)")
    cabinet_temp_c: float | None = _m("degC", "Cabinet temperature (SunSpec 103 TmpCab)")
    operating_state: Count | None = _n("enum", "SunSpec 103 St (1 OFF .. 7 FAULT, 8 STANDBY)")
    rated_power_w: float | None = _m("W", "Nameplate AC power (SunSpec 120 WRtg)", ge=0)


class BatteryMetrics(Metrics):
    soc_pct: float | None = _m("%", "State of charge", ge=0, le=100)
    soh_pct: float | None = _m("%", "State of health, % of initial capacity", ge=0, le=120)
    power_w: float | None = _m("W", "Power at the battery terminals, + discharge / - charge")
    charge_energy_wh: float | None = _m("Wh", "Lifetime energy charged counter", ge=0)
    discharge_energy_wh: float | None = _m("Wh", "Lifetime energy discharged counter", ge=0)
    capacity_wh: float | None = _m("Wh", "Usable capacity (nameplate × SoH)", ge=0)
    operating_state: Count | None = _n("enum", "Vendor/SunSpec battery state code")


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
    status: Count | None = _n("enum", "WTUR.TurSt, turbine status code (vendor map in config)")
    energy_wh: float | None = _m("Wh", "WTUR.TotWh, lifetime energy counter", ge=0)


class GatewayMetrics(Metrics):
    """Self-telemetry of an edge agent."""

    spool_messages: Count | None = _n("messages", "Messages waiting in the spool")
    spool_bytes: Count | None = _n("bytes", "Bytes used by spooled payloads")
    spool_oldest_age_s: float | None = _m("s", "Age of the oldest spooled message", ge=0)
    published: Count | None = _n("messages", "Messages acknowledged by the broker (counter)")
    dropped: Count | None = _n("messages", "Messages dropped by the spool policy (counter)")
    reconnects: Count | None = _n("count", "Uplink reconnects (counter)")
    samples_in: Count | None = _n("samples", "Samples read from devices (counter)")
    rejected_in: Count | None = _n("messages", "Local messages rejected as invalid (counter)")
    devices_offline: Count | None = _n("devices", "Devices currently not answering")


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
