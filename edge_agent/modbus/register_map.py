"""Vendor register maps (YAML, e.g. firmware_stubs/energy/wind_turbine_map.yaml): load, decode.

Addresses are 0-based PDU addresses of holding registers; 32-bit values high word first;
``value = raw * scale``; a raw equal to ``not_available`` decodes to None.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

MAX_MAP_BYTES = 256 * 1024  # a register map is a few kB; refuse anything absurd before parsing
_WIDTH = {"uint16": 1, "int16": 1, "uint32": 2, "int32": 2}


class MapPoint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    metric: str
    iec: str | None = None
    address: int = Field(ge=0, le=65535)
    type: Literal["uint16", "int16", "uint32", "int32"]
    scale: float = 1.0
    unit: str | None = None
    not_available: int | None = None
    counter: bool = False

    @property
    def width(self) -> int:
        return _WIDTH[self.type]


class RegisterMap(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    register_kind: Literal["holding"] = "holding"
    word_order: Literal["big"] = "big"
    points: tuple[MapPoint, ...] = Field(min_length=1)
    status_codes: dict[int, str] = Field(default_factory=dict)

    @property
    def first_address(self) -> int:
        return min(p.address for p in self.points)

    @property
    def register_count(self) -> int:
        return max(p.address + p.width for p in self.points) - self.first_address


def load_register_map(path: Path) -> RegisterMap:
    size = path.stat().st_size
    if size > MAX_MAP_BYTES:
        raise ValueError(f"{path}: {size} bytes, a register map must stay under {MAX_MAP_BYTES}")
    return RegisterMap.model_validate(yaml.safe_load(path.read_text()))


def decode_registers(rmap: RegisterMap, regs: Sequence[int]) -> dict[str, float | int | None]:
    """Metric name -> value from the registers starting at ``rmap.first_address``. Counters
    come back as raw register integers (unwrapping is the counter tracker's job)."""
    if len(regs) < rmap.register_count:
        raise ValueError(f"{rmap.name}: need {rmap.register_count} registers, got {len(regs)}")
    out: dict[str, float | int | None] = {}
    for p in rmap.points:
        i = p.address - rmap.first_address
        raw = 0
        for w in regs[i : i + p.width]:
            raw = (raw << 16) | (w & 0xFFFF)
        if p.not_available is not None and raw == p.not_available:
            out[p.metric] = None
            continue
        bits = 16 * p.width
        if p.type.startswith("int") and raw & (1 << (bits - 1)):
            raw -= 1 << bits
        out[p.metric] = raw if p.counter else raw * p.scale
    return out
