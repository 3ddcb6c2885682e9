"""Device profiles of the Modbus poller (one entry of ``modbus:`` in the edge config each).

See ``sample_modbus.yaml`` beside this file for a commented example.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from seamline.contracts.assets import AssetKind
from seamline.contracts.topic import TopicError, validate_level

# SunSpec devices put the marker at one of these (0-based PDU addresses), 40000 by far the most.
DEFAULT_SUNSPEC_BASES = (40000, 50000, 0)


class Framer(enum.StrEnum):
    TCP = "tcp"  # Modbus TCP (MBAP header)
    RTU = "rtu"  # RTU frames tunnelled over TCP by a serial-to-Ethernet gateway


class Protocol(enum.StrEnum):
    SUNSPEC = "sunspec"
    REGISTER_MAP = "register_map"


class RestartPolicy(enum.StrEnum):
    ZERO_DELTA = "zero_delta"  # first reading after a restart adds nothing (safe, loses a little)
    FROM_ZERO = "from_zero"  # assume the counter restarted at 0: adds the whole new reading


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


class ModbusConfigError(ValueError):
    """Device profiles invalid; one line per problem, naming the entry and key."""


def load_devices(entries: Sequence[Mapping[str, Any]], *, base_dir: Path | None = None) -> list[ModbusDeviceConfig]:
    """Validate the ``modbus:`` list of the edge config. Relative ``map_file`` paths resolve
    against ``base_dir`` (the config file's folder)."""
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
    for dev in out:
        if dev.asset in seen:
            problems.append(f"modbus: asset {dev.asset!r} appears twice")
        seen.add(dev.asset)
    if problems:
        raise ModbusConfigError("\n".join(problems))
    return out
