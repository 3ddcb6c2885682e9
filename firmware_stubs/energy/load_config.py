"""Configuration of the energy simulation: what each factory's meter draws (motor figures, irons,
lighting, air, compressor, base load), the park's own load, the time-of-use tariff windows and
the battery's dispatch strategy. One YAML file (see ``energy_sim.yaml`` beside this module, the
default and the commented sample), validated with pydantic; figures and their sources are in
docs/energy-model.md.

``factory`` holds the defaults; an entry of ``factories`` (by enterprise id) and ``park`` change
only the keys they name (merged one level deep: ``pressing: {press_s_per_piece: 60}`` keeps the
other pressing figures).
"""

from __future__ import annotations

import enum
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from seamline.configfile import ConfigFileError, read_yaml_mapping, validation_problems
from seamline.errors import UsageError

DEFAULT_CONFIG = Path(__file__).with_name("energy_sim.yaml")
Watts = Annotated[float, Field(ge=0, le=10_000_000)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Month = Annotated[int, Field(ge=1, le=12)]


class EnergySimConfigError(UsageError):
    """Invalid energy simulation config; the message names file, key and expectation."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MotorKind(enum.StrEnum):
    SERVO = "servo"
    CLUTCH = "clutch"


class MotorFigures(_Model):
    """A sewing-machine motor at the supply (W): ``idle_w`` whenever powered and not sewing
    (servo: controller standby; clutch: the motor spins on with the clutch open); sewing draws
    ``idle_w + (run_w - idle_w) x speed / nominal speed``, the shape the motor current follows."""

    idle_w: Watts
    run_w: Watts

    @model_validator(mode="after")
    def _ordered(self) -> MotorFigures:
        if self.run_w < self.idle_w:
            raise ValueError("run_w must not be below idle_w")
        return self


class Pressing(_Model):
    """Steam irons per line: each station holds its soleplate and steam at temperature while the
    shift runs (``standby_w``, the thermostat's average) and presses every finished piece at
    full element power (``press_w`` for ``press_s_per_piece``)."""

    stations_per_line: int = Field(default=1, ge=0, le=100)
    standby_w: Watts = 250.0
    press_w: Watts = 1000.0
    press_s_per_piece: float = Field(default=40.0, ge=0, le=3600)


class Compressor(_Model):
    """A load/unload air compressor on while the shift works, sized by the machines it serves:
    ``loaded_w_per_machine`` compressing, ``unloaded_fraction`` of that idling unloaded; the
    loaded share is ``base_duty`` (leaks, blow guns) plus the rest in proportion to the machines
    sewing (pneumatic trimmers and foot lifters)."""

    loaded_w_per_machine: Watts = 100.0
    unloaded_fraction: Fraction = 0.3
    base_duty: Fraction = 0.2


class FactoryLoadSpec(_Model):
    """One factory's loads besides its sewing lines' machines."""

    motor: MotorKind = MotorKind.SERVO
    line_motors: dict[str, MotorKind] = Field(default_factory=dict, description="Per line motor kind (line id)")
    floor_m2: float | None = Field(default=None, gt=0, le=1_000_000, description="Default: from the machines")
    floor_m2_per_machine: float = Field(default=6.0, gt=0, le=100)
    extra_floor_m2: float = Field(default=40.0, ge=0, le=1_000_000, description="Cutting, packing, store")
    lighting_w_m2: Watts = 12.0
    lighting_lunch_fraction: Fraction = 0.3
    ventilation_w_m2: Watts = 3.0
    cooling_w_m2: Watts = 9.0
    cooling_months: list[Month] = Field(default_factory=lambda: [6, 7, 8, 9])
    pressing: Pressing = Pressing()
    compressor: Compressor | None = Compressor()
    base_w: Watts = 600.0
    lead_min: float = Field(default=15.0, ge=0, le=240, description="Lights, air, compressor and irons come on "
                            "this long before the day's first work period (workers arrive, irons heat up)")
    line_meters: bool = Field(default=False, description="A SunSpec 203 sub-meter per line")

    def floor_area_m2(self, machines: int) -> float:
        if self.floor_m2 is not None:
            return self.floor_m2
        return machines * self.floor_m2_per_machine + self.extra_floor_m2


class TouPeriod(enum.StrEnum):
    SHARP = "sharp"  # 尖峰
    PEAK = "peak"  # 高峰
    FLAT = "flat"  # 平段
    VALLEY = "valley"  # 低谷
    DEEP_VALLEY = "deep_valley"  # 深谷


class TouWindow(_Model):
    """``[start, end)`` local time; ``end`` 00:00 means midnight; ``months`` empty = all year."""

    start: time
    end: time
    period: TouPeriod
    months: list[Month] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> TouWindow:
        if self.start == self.end:
            raise ValueError("a tariff window needs start != end")
        return self


class TariffConfig(_Model):
    name: str = Field(min_length=1, max_length=200)
    source: str = Field(default="", max_length=2000, description="Where the periods come from")
    verified: bool = Field(default=False, description="False: the periods are an example")
    tz: str = "Asia/Shanghai"
    default: TouPeriod = TouPeriod.FLAT
    windows: list[TouWindow] = Field(default_factory=list, max_length=100)


class BatteryDispatchConfig(_Model):
    """The park battery's energy management: charge from PV surplus and at ``grid_charge_kw`` in
    the charge periods, discharge in the discharge periods to cover the site's net load (never
    exporting), within ``soc_min_pct``..``soc_max_pct`` and ``max_power_kw``, with
    ``one_way_efficiency`` each way."""

    strategy: Literal["tou"] = "tou"
    charge_periods: list[TouPeriod] = Field(default_factory=lambda: [TouPeriod.VALLEY, TouPeriod.DEEP_VALLEY])
    discharge_periods: list[TouPeriod] = Field(default_factory=lambda: [TouPeriod.SHARP, TouPeriod.PEAK])
    charge_from_pv_surplus: bool = True
    grid_charge_kw: float = Field(default=50.0, ge=0, le=100_000)
    max_power_kw: float = Field(default=100.0, gt=0, le=100_000)
    nameplate_kwh: float = Field(default=200.0, gt=0, le=1_000_000)
    soh_pct: float = Field(default=97.0, gt=0, le=100)
    soc_min_pct: float = Field(default=10.0, ge=0, le=100)
    soc_max_pct: float = Field(default=95.0, ge=0, le=100)
    initial_soc_pct: float = Field(default=50.0, ge=0, le=100)
    one_way_efficiency: float = Field(default=0.95, gt=0, le=1)

    @model_validator(mode="after")
    def _soc_window(self) -> BatteryDispatchConfig:
        if not self.soc_min_pct < self.soc_max_pct:
            raise ValueError("soc_min_pct must be below soc_max_pct")
        if set(self.charge_periods) & set(self.discharge_periods):
            raise ValueError("a period cannot be both a charge and a discharge period")
        return self


class EnergySimConfig(_Model):
    version: Literal[1] = 1
    motors: dict[MotorKind, MotorFigures] = Field(default_factory=lambda: {
        MotorKind.SERVO: MotorFigures(idle_w=15.0, run_w=250.0),
        MotorKind.CLUTCH: MotorFigures(idle_w=200.0, run_w=330.0)})
    factory: FactoryLoadSpec = FactoryLoadSpec()
    factories: dict[str, FactoryLoadSpec] = Field(default_factory=dict)
    park: FactoryLoadSpec = FactoryLoadSpec(floor_m2=2500.0, lighting_w_m2=6.0, compressor=None, base_w=15_000.0)
    tariff: TariffConfig = TariffConfig(name="flat")
    battery: BatteryDispatchConfig = BatteryDispatchConfig()

    @model_validator(mode="before")
    @classmethod
    def _merge_defaults(cls, raw: Any) -> Any:
        """Each ``factories`` entry (and ``park``) = ``factory`` with the entry's keys on top."""
        if not isinstance(raw, dict) or not isinstance(raw.get("factory", {}), dict):
            return raw
        base = raw.get("factory", {})
        out = dict(raw)
        if isinstance(raw.get("factories"), dict):
            out["factories"] = {k: _merged(base, v) for k, v in raw["factories"].items()}
        if isinstance(raw.get("park"), dict):
            out["park"] = _merged(base, raw["park"])
        return out

    @model_validator(mode="after")
    def _motors_known(self) -> EnergySimConfig:
        used = {self.factory.motor, *(f.motor for f in self.factories.values())}
        used |= {m for f in (self.factory, *self.factories.values()) for m in f.line_motors.values()}
        if missing := sorted(m.value for m in used - set(self.motors)):
            raise ValueError(f"motors has no figures for {missing}")
        return self

    def factory_spec(self, enterprise: str) -> FactoryLoadSpec:
        return self.factories.get(enterprise, self.factory)


def _merged(base: dict[str, Any], override: Any) -> Any:
    if not isinstance(override, dict):
        return override
    out = dict(base)
    for key, value in override.items():
        old = out.get(key)
        out[key] = {**old, **value} if isinstance(old, dict) and isinstance(value, dict) else value
    return out


def parse_energy_sim_config(raw: Any, *, source: str = "<energy sim config>") -> EnergySimConfig:
    try:
        return EnergySimConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{source}: {p}" for p in validation_problems(exc)]
        raise EnergySimConfigError("invalid energy simulation config:\n  " + "\n  ".join(lines)) from None


def load_energy_sim_config(path: Path | None = None) -> EnergySimConfig:
    """Read and validate the config at ``path`` (default: the packaged ``energy_sim.yaml``)."""
    path = path or DEFAULT_CONFIG
    try:
        raw = read_yaml_mapping(path, expected="a mapping with motors, factory, tariff, battery")
    except ConfigFileError as exc:
        raise EnergySimConfigError(str(exc)) from None
    return parse_energy_sim_config(raw, source=str(path))
