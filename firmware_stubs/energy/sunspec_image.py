"""Build SunSpec register images from pysunspec2's official model definitions (pure, no I/O).

Addressing: the image starts at register address ``base`` (default 40000) as a 0-based Modbus
PDU address, i.e. what ``read_holding_registers(40000, ...)`` asks for. No "4xxxx minus one".

A value is given in engineering units; it is encoded as ``round(value / 10**sf)``. ``None`` (or a
point that is not given) encodes as the type's "not implemented" sentinel. Scale-factor points
take their exponent as an int.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import sunspec2

SUNS_MARKER = (0x5375, 0x6E53)
END_MARKER = (0xFFFF, 0x0000)
SUNSPEC_BASE = 40000

_MODELS_DIR = Path(sunspec2.__file__).parent / "models" / "json"

# Registers per point type; strings take their "size".
_TYPE_LEN = {
    "int16": 1, "uint16": 1, "count": 1, "acc16": 1, "enum16": 1, "bitfield16": 1, "pad": 1,
    "sunssf": 1, "int32": 2, "uint32": 2, "acc32": 2, "enum32": 2, "bitfield32": 2, "ipaddr": 2,
    "float32": 2, "int64": 4, "uint64": 4, "acc64": 4, "float64": 4, "eui48": 4, "ipv6addr": 8,
}  # fmt: skip

# "Not implemented" raw values, per SunSpec: never a plausible reading.
_SENTINEL = {
    "int16": 0x8000, "sunssf": 0x8000, "uint16": 0xFFFF, "enum16": 0xFFFF, "bitfield16": 0xFFFF,
    "count": 0, "acc16": 0, "pad": 0x8000, "int32": 0x80000000, "uint32": 0xFFFFFFFF,
    "enum32": 0xFFFFFFFF, "bitfield32": 0xFFFFFFFF, "acc32": 0, "ipaddr": 0,
    "int64": 0x8000000000000000, "uint64": 0xFFFFFFFFFFFFFFFF, "acc64": 0,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class PointSlot:
    """One point of a flattened model: offset in registers from the model's ID register."""

    name: str  # top-level points as in the model; repeating ones as "<group>[i].<point>"
    type: str
    offset: int
    size: int
    sf: str | int | None


@cache
def model_definition(model_id: int) -> dict[str, Any]:
    """The official JSON model definition shipped with pysunspec2."""
    path = _MODELS_DIR / f"model_{model_id}.json"
    if not path.exists():
        raise KeyError(f"pysunspec2 has no definition for SunSpec model {model_id}")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _point_len(point: Mapping[str, Any]) -> int:
    if point["type"] == "string":
        return int(point["size"])
    return _TYPE_LEN[str(point["type"])]


def model_layout(model_id: int, repeats: Mapping[str, int] | None = None) -> tuple[PointSlot, ...]:
    """Flatten a model (ID and L included) into point slots. ``repeats``: group name -> count for
    repeating groups (default 0, or the fixed count of the definition)."""
    return _layout(model_id, tuple(sorted((repeats or {}).items())))


@cache
def _layout(model_id: int, repeat_items: tuple[tuple[str, int], ...]) -> tuple[PointSlot, ...]:
    # Cached: a stub re-encodes its models on every register refresh, and flattening the JSON
    # definition cost more than the encoding itself.
    repeats = dict(repeat_items)
    group = model_definition(model_id)["group"]
    slots: list[PointSlot] = []
    offset = 0
    for p in group["points"]:
        size = _point_len(p)
        slots.append(PointSlot(p["name"], p["type"], offset, size, p.get("sf")))
        offset += size
    for sub in group.get("groups", []):
        count = sub.get("count")
        n = repeats.get(sub["name"], count if isinstance(count, int) else 0)
        for i in range(n):
            for p in sub["points"]:
                size = _point_len(p)
                sf = p.get("sf")
                slots.append(PointSlot(f"{sub['name']}[{i}].{p['name']}", p["type"], offset, size, sf))
                offset += size
    return tuple(slots)


def _words(raw: int, size: int) -> list[int]:
    return [(raw >> (16 * (size - 1 - i))) & 0xFFFF for i in range(size)]


def _encode_point(slot: PointSlot, value: Any, sf_values: Mapping[str, int]) -> list[int]:
    if slot.type == "string":
        data = (str(value) if value is not None else "").encode("ascii")[: slot.size * 2]
        data = data.ljust(slot.size * 2, b"\x00")
        return [(data[2 * i] << 8) | data[2 * i + 1] for i in range(slot.size)]
    if slot.type in ("float32", "float64"):
        raise ValueError(f"{slot.name}: float points are not used by these stubs")
    if value is None:
        return _words(_SENTINEL[slot.type], slot.size)
    if slot.type == "sunssf":
        return _words(int(value) & 0xFFFF, 1)
    exp = 0
    if isinstance(slot.sf, int):
        exp = slot.sf
    elif isinstance(slot.sf, str):
        sf = sf_values.get(slot.sf.split(".")[-1])
        if sf is None:
            raise ValueError(f"{slot.name}: scale factor {slot.sf} has no value")
        exp = sf
    raw = round(float(value) / math.pow(10, exp))
    bits = 16 * slot.size
    signed = slot.type.startswith("int")
    lo, hi = (-(1 << (bits - 1)) + 1, (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 2)
    if slot.type.startswith("acc"):
        raw %= 1 << bits  # accumulators roll over, that is their nature
        hi = (1 << bits) - 1
    if not lo <= raw <= hi:
        raise ValueError(f"{slot.name}={value} does not fit {slot.type} with sf {exp}")
    return _words(raw & ((1 << bits) - 1), slot.size)


def encode_model(model_id: int, values: Mapping[str, Any], *, repeats: Mapping[str, int] | None = None) -> list[int]:
    """Registers of one model block, starting with its ID and L. ``values`` maps point names (as
    in :func:`model_layout`) to engineering values, scale-factor names to exponents; anything
    missing is encoded as "not implemented"."""
    slots = model_layout(model_id, repeats)
    length = sum(s.size for s in slots) - 2
    sf_values = {s.name: int(values[s.name]) for s in slots if s.type == "sunssf" and values.get(s.name) is not None}
    out: list[int] = []
    for slot in slots:
        if slot.name == "ID":
            out.append(model_id)
        elif slot.name == "L":
            out.append(length)
        else:
            out.extend(_encode_point(slot, values.get(slot.name), sf_values))
    return out


def device_image(blocks: Sequence[list[int]]) -> list[int]:
    """Marker + model blocks + end marker: the whole register image of one SunSpec device."""
    out: list[int] = list(SUNS_MARKER)
    for block in blocks:
        out.extend(block)
    out.extend(END_MARKER)
    return out
