"""Vendor register maps (YAML, e.g. firmware_stubs/energy/wind_turbine_map.yaml): the validated
map as plain data, and decoding. ``edge_agent.modbus.config.load_register_map`` reads and
validates a map file (pydantic); the poller's runtime uses only this module.

Addresses are 0-based PDU addresses of holding registers; 32-bit values high word first;
``value = raw * scale``; a raw equal to ``not_available`` decodes to None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

MAX_MAP_BYTES = 256 * 1024  # a register map is a few kB; refuse anything absurd before parsing
_WIDTH = {"uint16": 1, "int16": 1, "uint32": 2, "int32": 2}
RegisterType = Literal["uint16", "int16", "uint32", "int32"]


@dataclass(frozen=True, slots=True)
class MapPoint:
    metric: str
    address: int  # 0..65535
    type: RegisterType
    iec: str | None = None
    scale: float = 1.0
    unit: str | None = None
    not_available: int | None = None
    counter: bool = False

    @property
    def width(self) -> int:
        return _WIDTH[self.type]


@dataclass(frozen=True, slots=True)
class RegisterMap:
    name: str
    points: tuple[MapPoint, ...]  # at least one
    register_kind: Literal["holding"] = "holding"
    word_order: Literal["big"] = "big"
    status_codes: Mapping[int, str] = field(default_factory=dict)

    @property
    def first_address(self) -> int:
        return min(p.address for p in self.points)

    @property
    def register_count(self) -> int:
        return max(p.address + p.width for p in self.points) - self.first_address


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
