"""Pydantic v2 payload models, one per message kind. Schema version 1.

Identity (enterprise, site, area, asset) lives in the topic, never in data payloads: a consumer
takes it from the topic, which the broker's ACL ties to the publishing gateway's credentials.

Times are UTC epoch milliseconds (``ts_ms``) set by the device (or the edge agent for derived
events). ``seq`` increases by one per sample or state event of one asset (one counter per asset,
shared by its data and state messages) so consumers can see gaps.
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, field_validator

from seamline.contracts.assets import (
    FLOAT_MAX,
    AssetKind,
    BatteryMetrics,
    GatewayMetrics,
    MeterMetrics,
    Metrics,
    MetStationMetrics,
    PvInverterMetrics,
    SewingMachineMetrics,
    WholeNumbers,
    WindTurbineMetrics,
)
from seamline.contracts.kinds import MAX_PAYLOAD_BYTES as MAX_PAYLOAD_BYTES
from seamline.contracts.kinds import MAX_SAMPLES_PER_MESSAGE as MAX_SAMPLES_PER_MESSAGE
from seamline.contracts.kinds import SCHEMA_VERSION as SCHEMA_VERSION
from seamline.contracts.kinds import SEQ_MAX
from seamline.contracts.kinds import TS_MAX_MS as TS_MAX_MS
from seamline.contracts.kinds import TS_MIN_MS as TS_MIN_MS
from seamline.contracts.kinds import GatewayState as GatewayState
from seamline.contracts.kinds import MachineState as MachineState
from seamline.contracts.kinds import Quality as Quality
from seamline.contracts.topic import level_json_schema, validate_level

# A batch of at most MAX_SAMPLES_PER_MESSAGE samples within MAX_PAYLOAD_BYTES, times between
# TS_MIN_MS and TS_MAX_MS: the limits live in contracts.kinds (no pydantic) and are re-exported here.
# Orders × days one plan puts on one line. An entry is ~130 bytes of JSON, so this many still fit
# in MAX_PAYLOAD_BYTES; a line makes a handful of orders a day, a plan of weeks needs far fewer.
MAX_ALLOCATION_ENTRIES = 2000
# Integers accept a whole float (JSON Schema's "integer"), see seamline.contracts.assets.
TsMs = Annotated[int, Field(ge=TS_MIN_MS, lt=TS_MAX_MS, description="UTC epoch milliseconds"), WholeNumbers]
Seq = Annotated[int, Field(ge=0, lt=SEQ_MAX, description="Per-asset sequence number, +1 per sample/event"),
                WholeNumbers]
Name = Annotated[str, Field(min_length=1, max_length=64)]
# A name that is (or must equal) a topic level, and becomes an InfluxDB tag: the topic grammar.
Level = Annotated[str, Field(min_length=1, max_length=64, json_schema_extra=level_json_schema()),
                  AfterValidator(validate_level)]
# A dotted lower-case code (state reasons, command names). The schema also says "no character
# outside the set" without anchors: in Python's ``re`` (the ``jsonschema`` validator) ``$`` matches
# before a final newline, so ``"stop\n"`` would pass the anchored pattern alone.
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.\-]+$",
                            json_schema_extra={"not": {"pattern": r"[^a-z0-9_.\-]"}})]


def _not_a_bool(value: object) -> object:
    # JSON Schema's ``const: 1`` refuses ``true``; pydantic's Literal[1] takes it (True == 1).
    if isinstance(value, bool):
        raise ValueError("schema_version must be the number 1, not a boolean")
    return value


def _asset_kind_required(schema: dict[str, Any]) -> None:
    # ``asset_kind`` selects the model (the discriminator), so the JSON must carry it even though
    # Python code may leave it out; without it in ``required`` the schema's oneOf would accept a
    # sample whose metrics happen to fit exactly one kind.
    schema["required"] = ["asset_kind", *[r for r in schema.get("required", []) if r != "asset_kind"]]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)
    schema_version: Annotated[Literal[1], BeforeValidator(_not_a_bool)] = Field(
        default=1, description="Payload schema version")


class _DataPayload(_Payload):
    model_config = ConfigDict(json_schema_extra=_asset_kind_required)


M = TypeVar("M", bound=Metrics)


class Sample(BaseModel, Generic[M]):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)
    ts_ms: TsMs
    seq: Seq
    quality: Quality = Quality.GOOD
    metrics: M


class SewingMachineData(_DataPayload):
    asset_kind: Literal[AssetKind.SEWING_MACHINE] = AssetKind.SEWING_MACHINE
    samples: list[Sample[SewingMachineMetrics]] = Field(min_length=1, max_length=MAX_SAMPLES_PER_MESSAGE)


class PvInverterData(_DataPayload):
    asset_kind: Literal[AssetKind.PV_INVERTER] = AssetKind.PV_INVERTER
    samples: list[Sample[PvInverterMetrics]] = Field(min_length=1, max_length=MAX_SAMPLES_PER_MESSAGE)


class BatteryData(_DataPayload):
    asset_kind: Literal[AssetKind.BATTERY] = AssetKind.BATTERY
    samples: list[Sample[BatteryMetrics]] = Field(min_length=1, max_length=MAX_SAMPLES_PER_MESSAGE)


class MeterData(_DataPayload):
    asset_kind: Literal[AssetKind.METER] = AssetKind.METER
    samples: list[Sample[MeterMetrics]] = Field(min_length=1, max_length=MAX_SAMPLES_PER_MESSAGE)


class MetStationData(_DataPayload):
    asset_kind: Literal[AssetKind.MET_STATION] = AssetKind.MET_STATION
    samples: list[Sample[MetStationMetrics]] = Field(min_length=1, max_length=MAX_SAMPLES_PER_MESSAGE)


class WindTurbineData(_DataPayload):
    asset_kind: Literal[AssetKind.WIND_TURBINE] = AssetKind.WIND_TURBINE
    samples: list[Sample[WindTurbineMetrics]] = Field(min_length=1, max_length=MAX_SAMPLES_PER_MESSAGE)


class GatewayData(_DataPayload):
    asset_kind: Literal[AssetKind.GATEWAY] = AssetKind.GATEWAY
    samples: list[Sample[GatewayMetrics]] = Field(min_length=1, max_length=MAX_SAMPLES_PER_MESSAGE)


DataMessage = Annotated[
    SewingMachineData | PvInverterData | BatteryData | MeterData | MetStationData | WindTurbineData | GatewayData,
    Field(discriminator="asset_kind"),
]
DATA_MODELS: dict[AssetKind, type[_Payload]] = {
    AssetKind.SEWING_MACHINE: SewingMachineData,
    AssetKind.PV_INVERTER: PvInverterData,
    AssetKind.BATTERY: BatteryData,
    AssetKind.METER: MeterData,
    AssetKind.MET_STATION: MetStationData,
    AssetKind.WIND_TURBINE: WindTurbineData,
    AssetKind.GATEWAY: GatewayData,
}
_DATA_ADAPTER: TypeAdapter[DataMessage] = TypeAdapter(DataMessage)


def parse_data(raw: bytes | str) -> DataMessage:
    """Validate a data payload (JSON bytes) exactly as its JSON Schema says (strict: no ``"4"``
    for 4, no ``true`` for 1); raises ``pydantic.ValidationError``."""
    return _DATA_ADAPTER.validate_json(raw, strict=True)


class StateChangeMessage(_Payload):
    """A machine changed state (derived at the edge). ``reason`` is a dotted code, e.g.
    ``breakdown.needle``, ``changeover``, ``break``, ``no_work``; ``none`` when not known."""

    asset_kind: AssetKind = AssetKind.SEWING_MACHINE
    ts_ms: TsMs = Field(description="When the new state began (device time, UTC ms)")
    seq: Seq
    state: MachineState
    previous: MachineState | None = None
    previous_duration_s: float | None = Field(default=None, ge=0, le=FLOAT_MAX,
                                              description="Seconds spent in previous state")
    reason: Code = "none"
    quality: Quality = Quality.GOOD


class AssetInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    asset: Level
    area: Level
    asset_kind: AssetKind
    model: str | None = Field(default=None, max_length=128)
    firmware_version: str | None = Field(default=None, max_length=64)
    units: dict[str, str] = Field(default_factory=dict, description="metric name -> unit")


class BirthMessage(_Payload):
    """Published (not retained) on every uplink connect: who the gateway is and what it serves."""

    gateway_id: Level
    ts_ms: TsMs
    agent_version: str = Field(max_length=64)
    boot_id: str = Field(max_length=64, description="Changes on every agent start")
    assets: list[AssetInfo] = Field(max_length=10_000)


class GatewayStatusMessage(_Payload):
    """Retained. ``offline`` is also the Last Will, so the broker announces an unclean loss."""

    gateway_id: Level
    state: GatewayState
    ts_ms: TsMs | None = Field(default=None, description="Absent in the Last Will (set at connect time)")
    boot_id: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=128)


class CapacityDay(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)
    day: date = Field(description="Local calendar day of the enterprise")
    available_std_min: float = Field(ge=0, description="Standard minutes the line can earn that day")
    booked_std_min: float = Field(ge=0, description="Standard minutes already booked")
    free_std_min: float = Field(ge=0, description="available - booked, floored at 0")


class CapacityMessage(_Payload):
    """Retained, per enterprise and line: measured free capacity for the days ahead."""

    enterprise: Name
    site: Name
    line: Name
    generated_ts_ms: TsMs
    categories: list[Name] = Field(description="Product categories this line can make")
    operators: int = Field(ge=0)
    efficiency: float = Field(ge=0, le=1.5, description="Measured rolling line efficiency, fraction")
    confidence: float = Field(ge=0, le=1, description="From data coverage and variance, 0..1")
    days: list[CapacityDay] = Field(max_length=366)
    # Added within schema version 1: optional, absent = unknown (a v1 message without them stays
    # valid; producers leave them out rather than send null, see docs/contracts.md).
    green_share: float | None = Field(
        default=None, ge=0, le=1,
        description="Green share of the line's energy over recent days (the site's, hour by hour), fraction; "
        "absent = unknown. Matching honours orders' green_share_min with it",
    )
    co2e_kg_per_piece: float | None = Field(
        default=None, ge=0,
        description="kg CO2e per good piece of the line over recent days; absent = unknown. Matching honours "
        "orders' co2e_max_per_piece with it",
    )


class AllocationEntry(BaseModel):
    """Pieces of one order a plan puts on the line on one day, and the standard minutes booked."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)
    order_id: Name
    buyer: Name
    category: Name
    day: date = Field(description="Local calendar day of the enterprise")
    pieces: int = Field(ge=0, description="Whole pieces completed that day")
    std_min: float = Field(ge=0, description="Standard minutes booked on the line that day")


class AllocationMessage(_Payload):
    """Retained, per enterprise and line, published by matching: the orders the latest plan puts on
    the line (``entries`` empty when the plan puts none there, so a replaced plan leaves nothing
    stale behind)."""

    plan_id: Name = Field(description="The same on every allocation and bookings message of one plan")
    enterprise: Name
    site: Name
    line: Name
    generated_ts_ms: TsMs
    entries: list[AllocationEntry] = Field(max_length=MAX_ALLOCATION_ENTRIES)


class BookedDay(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)
    day: date = Field(description="Local calendar day of the enterprise")
    std_min: float = Field(ge=0, description="Standard minutes booked on the line that day")


class BookingsMessage(_Payload):
    """Retained, per enterprise and line, published by matching; the rules capacity feed subtracts
    it from the available standard minutes. ``days`` is empty when the latest plan books nothing on
    the line: a replaced plan replaces every line's bookings."""

    plan_id: Name = Field(description="The same on every allocation and bookings message of one plan")
    enterprise: Name
    site: Name
    line: Name
    generated_ts_ms: TsMs
    days: list[BookedDay] = Field(max_length=366, description="Ascending, one entry per day at most")

    @field_validator("days")
    @classmethod
    def _ascending(cls, days: list[BookedDay]) -> list[BookedDay]:
        if any(b.day <= a.day for a, b in itertools.pairwise(days)):
            raise ValueError("days must be strictly ascending (one entry per day)")
        return days

    @property
    def std_min(self) -> float:
        """Standard minutes booked on the line over all days."""
        return sum(d.std_min for d in self.days)
