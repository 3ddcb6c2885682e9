"""Master data: enterprises, sites, lines, shift calendars, styles, energy assets, KPI settings.

One YAML file, validated with pydantic v2 on load. Every error names the file, the key (dotted
path, list items by index) and what was expected; :class:`MasterDataError` is a
:class:`seamline.errors.InputError`, so the CLI exits 2 with that message.
See ``rules/master_data.sample.yaml`` for a commented example.
"""

from __future__ import annotations

import enum
from collections import Counter
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from seamline.configfile import ConfigFileError, read_yaml_mapping, validation_problems
from seamline.contracts.assets import AssetKind
from seamline.rules.errors import MasterDataError as MasterDataError
from seamline.rules.green_config import GreenAttribution

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
Fraction = Annotated[float, Field(ge=0, le=1)]


class Weekday(enum.StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


class AvailabilityCategory(enum.StrEnum):
    """IEC 61400-26-1 information categories (the leaves used for time-based availability)."""

    FULL_PERFORMANCE = "full_performance"
    PARTIAL_PERFORMANCE = "partial_performance"
    TECHNICAL_STANDBY = "technical_standby"
    OUT_OF_ENVIRONMENTAL_SPEC = "out_of_environmental_spec"
    REQUESTED_SHUTDOWN = "requested_shutdown"
    OUT_OF_ELECTRICAL_SPEC = "out_of_electrical_spec"
    SCHEDULED_MAINTENANCE = "scheduled_maintenance"
    PLANNED_CORRECTIVE = "planned_corrective"
    FORCED_OUTAGE = "forced_outage"
    SUSPENDED = "suspended"
    FORCE_MAJEURE = "force_majeure"
    INFORMATION_UNAVAILABLE = "information_unavailable"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Break(_Model):
    start: time
    end: time


class Shift(_Model):
    """A shift in local wall-clock time; ``end <= start`` means it ends the next day."""

    name: Id
    start: time
    end: time
    days: list[Weekday] = Field(min_length=1, description="Weekdays on which the shift starts")
    breaks: list[Break] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _not_empty(self) -> Shift:
        if self.start == self.end:
            raise ValueError("shift start equals end (24 h shifts are not supported: split them)")
        return self


class ShiftCalendarConfig(_Model):
    id: Id
    shifts: list[Shift] = Field(min_length=1, max_length=20)
    holidays: list[date] = Field(default_factory=list, description="Local days with no shift starting")
    # China's make-up working days (调休): work this date with the shifts of that weekday.
    workdays: dict[date, Weekday] = Field(default_factory=dict)


class CalendarOverride(_Model):
    """Per-enterprise changes to a shared calendar."""

    shifts: list[Shift] | None = Field(default=None, description="Replace the weekly pattern")
    holidays: list[date] = Field(default_factory=list, description="Extra holidays")
    not_holidays: list[date] = Field(default_factory=list, description="Calendar holidays worked anyway")
    workdays: dict[date, Weekday] = Field(default_factory=dict)


class Style(_Model):
    id: Id
    category: Id
    sam_min: float = Field(gt=0, le=1000, description="Standard allowed minutes per piece")


class MachineType(_Model):
    id: Id
    description: str = ""
    rated_speed_spm: float | None = Field(default=None, gt=0, le=12000)


class Line(_Model):
    id: Id
    operators: int = Field(ge=0, le=10_000)
    absenteeism: Fraction = 0.0
    categories: list[Id] = Field(min_length=1)
    machines: list[Id] = Field(default_factory=list, max_length=10_000)
    machine_count: int | None = Field(default=None, ge=0, le=10_000)
    machine_type: Id | None = None
    output_machines: list[Id] = Field(
        default_factory=list, description="Machines whose scans count as line output (empty: all machines)"
    )
    style: Id | None = Field(default=None, description="Style currently running (its SAM is used)")
    default_efficiency: Annotated[float, Field(gt=0, le=1.5)] = Field(
        default=0.5, description="Used for capacity until efficiency has been measured"
    )

    @model_validator(mode="after")
    def _output_subset(self) -> Line:
        unknown = sorted(set(self.output_machines) - set(self.machines))
        if unknown:
            raise ValueError(f"output_machines {unknown} are not in machines")
        return self

    @property
    def machine_total(self) -> int:
        return len(self.machines) if self.machines else (self.machine_count or 0)


class PowerCurvePoint(_Model):
    wind_speed_m_s: float = Field(ge=0, le=100)
    power_kw: float = Field(ge=0)


class AvailabilityContract(_Model):
    """Status code -> IEC 61400-26 category, and which categories count as available."""

    id: Id
    status_map: dict[int, AvailabilityCategory]
    unmapped: AvailabilityCategory = AvailabilityCategory.INFORMATION_UNAVAILABLE
    available: list[AvailabilityCategory] = Field(min_length=1)
    excluded: list[AvailabilityCategory] = Field(
        default=[AvailabilityCategory.INFORMATION_UNAVAILABLE, AvailabilityCategory.FORCE_MAJEURE],
        description="Neither available nor unavailable: left out of the ratio",
    )

    @model_validator(mode="after")
    def _disjoint(self) -> AvailabilityContract:
        both = sorted(set(self.available) & set(self.excluded))
        if both:
            raise ValueError(f"categories {both} are both available and excluded")
        return self


EnergyKind = Literal["pv_inverter", "battery", "meter", "met_station", "wind_turbine"]


class EnergyAsset(_Model):
    id: Id
    kind: EnergyKind
    area: Id = Field(description="Field / farm / building the asset belongs to (the topic's area)")
    rated_power_kw: float | None = Field(default=None, gt=0)
    kwp: float | None = Field(default=None, gt=0, description="PV DC nameplate, kWp")
    capacity_kwh: float | None = Field(default=None, gt=0, description="Battery usable capacity")
    turbine_type: str | None = Field(default=None, description="windpowerlib turbine_type, e.g. E-82/2350")
    hub_height_m: float | None = Field(default=None, gt=0, le=300)
    power_curve: list[PowerCurvePoint] = Field(default_factory=list, max_length=200)
    availability_contract: Id | None = None
    counter_rollover_wh: float | None = Field(default=None, gt=0, description="Counter wraps at this value")
    feeder_meter: Id | None = Field(
        default=None, description="Battery only: the meter asset on its AC feeder (import = charge, export = discharge)"
    )
    line: Id | None = Field(
        default=None, description="Meter only: the line whose machines and irons this sub-meter measures"
    )
    behind_meter: bool = Field(
        default=True, description="Generation behind the site's grid meter (counts in its consumption and green "
                                  "share); false for an asset with its own grid connection",
    )

    @model_validator(mode="after")
    def _required_per_kind(self) -> EnergyAsset:
        need: dict[str, tuple[str, ...]] = {
            "pv_inverter": ("rated_power_kw", "kwp"),
            "battery": ("capacity_kwh",),
            "wind_turbine": ("rated_power_kw",),
        }
        missing = [f for f in need.get(self.kind, ()) if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a {self.kind} needs {', '.join(missing)}")
        if self.feeder_meter is not None and self.kind != "battery":
            raise ValueError(f"feeder_meter is for batteries, not a {self.kind}")
        if self.line is not None and self.kind != "meter":
            raise ValueError(f"line is for (sub-)meters, not a {self.kind}")
        if self.kind == "wind_turbine" and not self.power_curve and self.turbine_type is None:
            raise ValueError("a wind_turbine needs turbine_type (+ hub_height_m) or a power_curve table")
        if self.turbine_type is not None and self.hub_height_m is None:
            raise ValueError("turbine_type needs hub_height_m")
        speeds = [p.wind_speed_m_s for p in self.power_curve]
        if speeds != sorted(set(speeds)):
            raise ValueError("power_curve wind speeds must be strictly increasing")
        return self

    @property
    def asset_kind(self) -> AssetKind:
        return AssetKind(self.kind)


class Site(_Model):
    id: Id
    name: str = ""
    lines: list[Line] = Field(default_factory=list, max_length=1000)
    energy_assets: list[EnergyAsset] = Field(default_factory=list, max_length=1000)

    @property
    def feeder_meters(self) -> frozenset[str]:
        """Ids of the meters on a battery's feeder: sub-meters, not grid connections."""
        return frozenset(a.feeder_meter for a in self.energy_assets if a.feeder_meter is not None)

    @property
    def sub_meters(self) -> frozenset[str]:
        """Ids of the meters inside the site (battery feeders, line sub-meters): not grid connections."""
        return self.feeder_meters | {a.id for a in self.energy_assets if a.line is not None}

    def line_meters(self, line_id: str) -> list[EnergyAsset]:
        """The sub-meters of one line (their sum is the line's energy)."""
        return [a for a in self.energy_assets if a.line == line_id]


class Enterprise(_Model):
    id: Id
    name: str = Field(min_length=1, max_length=200)
    timezone: str = "Asia/Shanghai"
    land_area_mu: float | None = Field(default=None, gt=0, description="Land area in mu (666.67 m²)")
    calendar: Id
    calendar_override: CalendarOverride | None = None
    sites: list[Site] = Field(min_length=1, max_length=1000)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class KpiSettings(_Model):
    coverage_threshold: Fraction = Field(default=0.8, description="Below this a KPI is flagged low_coverage")
    windows: list[Literal["5m", "1h", "shift", "1d"]] = Field(default=["1h", "shift", "1d"], min_length=1)
    recompute_windows: int = Field(default=3, ge=0, le=1000, description="Closed windows recomputed per tick")
    efficiency_days: int = Field(default=14, ge=1, le=366, description="Rolling window for line efficiency")
    capacity_days: int = Field(default=14, ge=1, le=366, description="Days ahead in the capacity feed")
    # Idle shorter than this is handling inside the sewing cycle (operating time); longer is a
    # stop (no work, changeover, waiting). At most 30 min: the rules source reads that far past
    # a window to see how long an idle period open at its end lasted.
    stop_threshold_s: float = Field(default=300.0, gt=0, le=1800, description="Idle periods >= this are stops (s)")


class MasterData(_Model):
    version: Literal[1] = 1
    kpi: KpiSettings = KpiSettings()
    calendars: list[ShiftCalendarConfig] = Field(min_length=1)
    machine_types: list[MachineType] = Field(default_factory=list)
    styles: list[Style] = Field(default_factory=list)
    availability_contracts: list[AvailabilityContract] = Field(default_factory=list)
    enterprises: list[Enterprise] = Field(min_length=1)
    green: GreenAttribution | None = Field(default=None, description="Park generation attributed to factories")

    def enterprise(self, enterprise_id: str) -> Enterprise:
        for e in self.enterprises:
            if e.id == enterprise_id:
                return e
        raise KeyError(enterprise_id)

    def calendar(self, calendar_id: str) -> ShiftCalendarConfig:
        return next(c for c in self.calendars if c.id == calendar_id)

    def style(self, style_id: str) -> Style:
        return next(s for s in self.styles if s.id == style_id)

    def contract(self, contract_id: str) -> AvailabilityContract:
        return next(c for c in self.availability_contracts if c.id == contract_id)


def _duplicates(ids: list[str]) -> list[str]:
    return sorted(i for i, n in Counter(ids).items() if n > 1)


def reference_errors(data: MasterData) -> list[tuple[str, str]]:
    """(key, problem) for every dangling reference or duplicate id."""
    errors: list[tuple[str, str]] = []
    calendars = {c.id for c in data.calendars}
    styles = {s.id for s in data.styles}
    types = {t.id for t in data.machine_types}
    contracts = {c.id for c in data.availability_contracts}
    for key, ids in (
        ("calendars", [c.id for c in data.calendars]),
        ("styles", [s.id for s in data.styles]),
        ("enterprises", [e.id for e in data.enterprises]),
        ("availability_contracts", [c.id for c in data.availability_contracts]),
    ):
        if dups := _duplicates(ids):
            errors.append((key, f"duplicate ids {dups}"))
    for ei, ent in enumerate(data.enterprises):
        ekey = f"enterprises[{ei}]"
        if ent.calendar not in calendars:
            errors.append((f"{ekey}.calendar", f"expected one of {sorted(calendars)}, got {ent.calendar!r}"))
        for si, site in enumerate(ent.sites):
            skey = f"{ekey}.sites[{si}]"
            for li, line in enumerate(site.lines):
                lkey = f"{skey}.lines[{li}]"
                if line.style is not None and line.style not in styles:
                    errors.append((f"{lkey}.style", f"expected a style id from styles, got {line.style!r}"))
                if line.machine_type is not None and line.machine_type not in types:
                    errors.append((f"{lkey}.machine_type", f"unknown machine type {line.machine_type!r}"))
            for ai, asset in enumerate(site.energy_assets):
                ref = asset.availability_contract
                if ref is not None and ref not in contracts:
                    errors.append((f"{skey}.energy_assets[{ai}].availability_contract", f"unknown contract {ref!r}"))
            errors += _feeder_errors(site, skey)
            if dups := _duplicates([x.id for x in site.lines] + [a.id for a in site.energy_assets]):
                errors.append((skey, f"duplicate line/asset ids {dups}"))
    return errors + _green_errors(data)


def _green_errors(data: MasterData) -> list[tuple[str, str]]:
    """Every site the green attribution names must exist."""
    if data.green is None:
        return []
    sites = {(e.id, s.id) for e in data.enterprises for s in e.sites}
    refs = [(f"green.sources[{i}]", r.key) for i, r in enumerate(data.green.sources)]
    refs += [(f"green.consumers[{i}]", c.key) for i, c in enumerate(data.green.consumers)]
    return [(key, f"no site {site!r} of enterprise {ent!r}") for key, (ent, site) in refs if (ent, site) not in sites]


def _feeder_errors(site: Site, skey: str) -> list[tuple[str, str]]:
    """A battery's feeder_meter must name a meter asset of its site, and no two batteries one meter;
    a line sub-meter must name a line of its site and be no feeder meter."""
    errors: list[tuple[str, str]] = []
    meters = {a.id for a in site.energy_assets if a.kind == "meter"}
    feeders = [a.feeder_meter for a in site.energy_assets if a.feeder_meter is not None]
    for ai, asset in enumerate(site.energy_assets):
        ref = asset.feeder_meter
        if ref is not None and ref not in meters:
            errors.append((f"{skey}.energy_assets[{ai}].feeder_meter",
                           f"expected the id of a meter asset of this site {sorted(meters)}, got {ref!r}"))
    if dups := _duplicates(feeders):
        errors.append((skey, f"meters {dups} are the feeder_meter of more than one battery"))
    lines = {ln.id for ln in site.lines}
    for ai, asset in enumerate(site.energy_assets):
        if asset.line is not None and asset.line not in lines:
            errors.append((f"{skey}.energy_assets[{ai}].line",
                           f"expected the id of a line of this site {sorted(lines)}, got {asset.line!r}"))
        if asset.line is not None and asset.id in feeders:
            errors.append((f"{skey}.energy_assets[{ai}].line", "a battery's feeder meter cannot also meter a line"))
    return errors


def parse_master_data(raw: Any, *, source: str = "<master data>") -> MasterData:
    """Validate already-parsed YAML/JSON; raises :class:`MasterDataError`."""
    try:
        data = MasterData.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{source}: {p}" for p in validation_problems(exc)]
        raise MasterDataError("invalid master data:\n  " + "\n  ".join(lines)) from None
    if problems := reference_errors(data):
        lines = [f"{source}: {key}: {msg}" for key, msg in problems]
        raise MasterDataError("invalid master data:\n  " + "\n  ".join(lines))
    return data


def load_master_data(path: Path) -> MasterData:
    """Read and validate a master-data YAML file (the only I/O in this package)."""
    try:
        raw = read_yaml_mapping(path, expected="a mapping with calendars and enterprises")
    except ConfigFileError as exc:
        raise MasterDataError(str(exc)) from None
    return parse_master_data(raw, source=str(path))
