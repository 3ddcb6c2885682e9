"""Device profiles of the Modbus poller (one entry of ``modbus:`` in the edge config each), and
vendor register map files: validated here (pydantic), handed to the poller as the plain
:class:`edge_agent.modbus.profile.ModbusDevice` and :class:`edge_agent.modbus.register_map.RegisterMap`.

See ``sample_modbus.yaml`` beside this file for a commented example.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from seamline.configfile import parse_yaml
from seamline.contracts.kinds import AssetKind
from seamline.contracts.topic import TopicError, validate_level
from seamline.edge_agent.modbus import profile
from seamline.edge_agent.modbus.profile import DEFAULT_SUNSPEC_BASES, Framer, ModbusDevice, Protocol, RestartPolicy
from seamline.edge_agent.modbus.register_map import MAX_MAP_BYTES, MapPoint, RegisterMap


class CounterSettings(BaseModel):
    """How lifetime energy counters are turned into a continuous series."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    unwrap: bool = Field(default=True, description="Treat a backward jump over half the range as a rollover")
    restart: RestartPolicy = RestartPolicy.ZERO_DELTA
    max_step_wh: float = Field(
        default=1e9, gt=0, description="A forward step above this (Wh) is a glitch: counted, not added"
    )


class ModbusDeviceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    asset: str = Field(description="Asset id: the topic's asset level")
    area: str = Field(description="Topic area level, e.g. 'energy'")
    asset_kind: AssetKind
    host: str
    port: int = Field(default=502, ge=1, le=65535)
    unit_id: int = Field(default=1, ge=0, le=255)
    framer: Framer = Framer.TCP
    protocol: Protocol = Protocol.SUNSPEC
    map_file: Path | None = Field(default=None, description="Register map YAML (protocol register_map)")
    sunspec_bases: tuple[int, ...] = DEFAULT_SUNSPEC_BASES
    poll_interval_s: float = Field(default=1.0, gt=0, le=3600)
    timeout_s: float = Field(default=1.0, gt=0, le=60)
    retries: int = Field(default=1, ge=0, le=10, description="Extra attempts per poll before it counts as failed")
    offline_after: int = Field(default=3, ge=1, le=1000, description="Failed polls in a row -> device offline")
    reconnect_max_s: float = Field(default=30.0, gt=0, le=3600, description="Cap of the reconnect backoff")
    counters: CounterSettings = CounterSettings()

    @field_validator("asset", "area")
    @classmethod
    def _level(cls, v: str) -> str:
        try:
            return validate_level(v)
        except TopicError as exc:
            raise ValueError(str(exc)) from exc

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.asset_kind in (AssetKind.SEWING_MACHINE, AssetKind.GATEWAY):
            raise ValueError(f"asset_kind {self.asset_kind} is not polled over Modbus")
        if self.protocol is Protocol.REGISTER_MAP and self.map_file is None:
            raise ValueError("protocol register_map needs map_file")
        if self.timeout_s * (self.retries + 1) > self.poll_interval_s * 10:
            raise ValueError("timeout_s x (retries+1) exceeds 10 poll intervals: the device would lag far behind")
        return self


    def device(self, register_map: RegisterMap | None = None) -> ModbusDevice:
        """The profile as the poller's plain data."""
        skip = ("counters", "register_map")
        fields = {k: getattr(self, k) for k in ModbusDevice.__dataclass_fields__ if k not in skip}
        c = self.counters
        counters = profile.CounterSettings(unwrap=c.unwrap, restart=c.restart, max_step_wh=c.max_step_wh)
        return ModbusDevice(**fields, counters=counters, register_map=register_map)


class _MapPointModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    metric: str
    iec: str | None = None
    address: int = Field(ge=0, le=65535)
    type: Literal["uint16", "int16", "uint32", "int32"]
    scale: float = 1.0
    unit: str | None = None
    not_available: int | None = None
    counter: bool = False


class _RegisterMapModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    register_kind: Literal["holding"] = "holding"
    word_order: Literal["big"] = "big"
    points: tuple[_MapPointModel, ...] = Field(min_length=1)
    status_codes: dict[int, str] = Field(default_factory=dict)


def load_register_map(path: Path) -> RegisterMap:
    """Read and validate a vendor register map file; raises ``ValueError`` (pydantic's
    ``ValidationError`` is one) or ``OSError``."""
    size = path.stat().st_size
    if size > MAX_MAP_BYTES:
        raise ValueError(f"{path}: {size} bytes, a register map must stay under {MAX_MAP_BYTES}")
    m = _RegisterMapModel.model_validate(parse_yaml(path.read_bytes()))
    points = tuple(MapPoint(**p.model_dump()) for p in m.points)
    return RegisterMap(name=m.name, points=points, register_kind=m.register_kind, word_order=m.word_order,
                       status_codes=dict(m.status_codes))


class ModbusConfigError(ValueError):
    """Device profiles invalid; one line per problem, naming the entry and key."""


def load_devices(entries: Sequence[Mapping[str, Any]], *, base_dir: Path | None = None) -> list[ModbusDevice]:
    """Validate the ``modbus:`` list of the edge config and load the register maps it names.
    Relative ``map_file`` paths resolve against ``base_dir`` (the config file's folder)."""
    problems: list[str] = []
    out: list[ModbusDeviceConfig] = []
    for i, entry in enumerate(entries):
        try:
            dev = ModbusDeviceConfig.model_validate(entry)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                problems.append(f"modbus[{i}].{loc}: {err['msg']}" if loc else f"modbus[{i}]: {err['msg']}")
            continue
        if dev.map_file is not None and base_dir is not None and not dev.map_file.is_absolute():
            dev = dev.model_copy(update={"map_file": base_dir / dev.map_file})
        out.append(dev)
    seen: set[str] = set()
    devices: list[ModbusDevice] = []
    for dev in out:
        if dev.asset in seen:
            problems.append(f"modbus: asset {dev.asset!r} appears twice")
        seen.add(dev.asset)
        rmap = None
        if dev.map_file is not None and dev.protocol is Protocol.REGISTER_MAP:
            try:
                rmap = load_register_map(dev.map_file)
            except (OSError, ValueError) as exc:
                problems.append(f"modbus[{dev.asset}].map_file: {str(exc).splitlines()[0][:200]}")
        devices.append(dev.device(rmap))
    if problems:
        raise ModbusConfigError("\n".join(problems))
    return devices
