"""SunSpec on top of any register reader: discovery (marker + model chain) and point decoding
with scale factors and "not implemented" sentinels, from pysunspec2's model definitions.

Why not sunspec2's own Modbus client: it brings its own synchronous socket client, one blocking
call per model; we already hold an async pymodbus connection per device and want one task per
device, so only sunspec2's model *definitions* are used here.

Addresses are 0-based PDU addresses (the marker of a usual device at 40000).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import sunspec2

MARKER = (0x5375, 0x6E53)
END_ID = 0xFFFF
MAX_MODELS = 64  # a device lists a dozen models at most; a longer chain is a corrupt image
MAX_READ_REGS = 125  # Modbus limit for one read-holding-registers request

_MODELS_DIR = Path(sunspec2.__file__).parent / "models" / "json"
_SIZES = {
    "int16": 1, "uint16": 1, "count": 1, "acc16": 1, "enum16": 1, "bitfield16": 1, "pad": 1, "sunssf": 1,
    "int32": 2, "uint32": 2, "acc32": 2, "enum32": 2, "bitfield32": 2, "ipaddr": 2, "float32": 2,
    "int64": 4, "uint64": 4, "acc64": 4, "float64": 4, "eui48": 4, "ipv6addr": 8,
}  # fmt: skip
_NOT_IMPLEMENTED = {
    "int16": 0x8000, "sunssf": 0x8000, "pad": 0x8000, "uint16": 0xFFFF, "enum16": 0xFFFF,
    "bitfield16": 0xFFFF, "count": 0, "acc16": 0, "int32": 0x80000000, "uint32": 0xFFFFFFFF,
    "enum32": 0xFFFFFFFF, "bitfield32": 0xFFFFFFFF, "acc32": 0, "ipaddr": 0,
    "int64": 0x8000000000000000, "uint64": 0xFFFFFFFFFFFFFFFF, "acc64": 0,
}  # fmt: skip


class RegisterReader(Protocol):
    async def read(self, address: int, count: int) -> list[int]:
        """Holding registers ``address .. address+count-1``; raises on any failure."""
        ...


class SunSpecError(Exception):
    """No marker, a broken model chain, or a model pysunspec2 does not define."""


@dataclass(frozen=True, slots=True)
class Point:
    name: str
    type: str
    offset: int  # registers from the model's ID register
    size: int
    sf: str | int | None


@dataclass(frozen=True, slots=True)
class ModelBlock:
    """One model found on the device: where it starts (its ID register) and its length L."""

    model_id: int
    address: int
    length: int


@cache
def _definition(model_id: int) -> dict[str, Any]:
    path = _MODELS_DIR / f"model_{model_id}.json"
    if not path.exists():
        raise SunSpecError(f"SunSpec model {model_id} is not defined in pysunspec2")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _size(p: Mapping[str, Any]) -> int:
    return int(p["size"]) if p["type"] == "string" else _SIZES[str(p["type"])]


@cache
def points_of(model_id: int, length: int) -> tuple[Point, ...]:
    """All points of ``model_id`` laid out for a block of length ``length`` (L, without ID and L);
    repeating groups are expanded to as many instances as the length holds, named ``grp[i].pt``."""
    group = _definition(model_id)["group"]
    out: list[Point] = []
    off = 0
    for p in group["points"]:
        out.append(Point(p["name"], p["type"], off, _size(p), p.get("sf")))
        off += _size(p)
    for sub in group.get("groups", []):
        glen = sum(_size(p) for p in sub["points"])
        count = sub.get("count")
        n = count if isinstance(count, int) and count > 0 else max(0, (length + 2 - off) // glen)
        for i in range(n):
            for p in sub["points"]:
                out.append(Point(f"{sub['name']}[{i}].{p['name']}", p["type"], off, _size(p), p.get("sf")))
                off += _size(p)
    return tuple(out)


def _raw(regs: Sequence[int], p: Point) -> int:
    v = 0
    for w in regs[p.offset : p.offset + p.size]:
        v = (v << 16) | (w & 0xFFFF)
    return v


def _signed(raw: int, bits: int) -> int:
    return raw - (1 << bits) if raw & (1 << (bits - 1)) else raw


@cache
def _selected(model_id: int, length: int, names: frozenset[str]) -> tuple[Point, ...]:
    """The points called ``names`` plus the scale-factor points they refer to, in layout order."""
    pts = points_of(model_id, length)
    sf_names = {p.sf.split(".")[-1] for p in pts if p.name in names and isinstance(p.sf, str)}
    return tuple(p for p in pts if p.name in names or p.name in sf_names)


def decode_model(
    model_id: int, regs: Sequence[int], names: frozenset[str] | None = None
) -> dict[str, float | int | str | None]:
    """Decode a model block (``regs`` starts at its ID register) to engineering values: all its
    points, or only ``names`` (and the scale factors they need; names the model lacks are ignored).
    Not-implemented sentinels, and values whose scale factor is not implemented, become None."""
    if len(regs) < 2 or regs[0] != model_id:
        raise SunSpecError(f"block does not start with model id {model_id}")
    pts = points_of(model_id, regs[1]) if names is None else _selected(model_id, regs[1], names)
    if len(regs) < 2 + regs[1]:
        raise SunSpecError(f"model {model_id}: {len(regs)} registers, L says {regs[1] + 2}")
    sfs: dict[str, int | None] = {}
    for p in pts:
        if p.type == "sunssf":
            r = _raw(regs, p)
            sfs[p.name] = None if r == 0x8000 else _signed(r, 16)
    out: dict[str, float | int | str | None] = {}
    for p in pts:
        if p.type == "string":
            data = b"".join(w.to_bytes(2, "big") for w in regs[p.offset : p.offset + p.size])
            out[p.name] = data.split(b"\x00", 1)[0].decode("ascii", "replace") or None
            continue
        if p.type in ("float32", "float64"):
            continue  # no model we map uses floats; omit rather than guess
        r = _raw(regs, p)
        if p.type == "sunssf":
            out[p.name] = sfs[p.name]
            continue
        if r == _NOT_IMPLEMENTED.get(p.type):
            out[p.name] = None
            continue
        value = _signed(r, 16 * p.size) if p.type.startswith("int") else r
        exp: int | None = 0
        if isinstance(p.sf, int):
            exp = p.sf
        elif isinstance(p.sf, str):
            exp = sfs.get(p.sf.split(".")[-1])
        out[p.name] = None if exp is None else scaled(value, exp)
    return out


def scaled(value: int, exp: int) -> float | int:
    """``value × 10^exp``, rounded to the resolution the scale factor gives (454 × 10^-1 is 45.4,
    not 45.400000000000006), so published values equal the register's meaning exactly."""
    if exp == 0:
        return value
    return round(value * math.pow(10, exp), -exp) if exp < 0 else value * 10**exp


async def find_base(reader: RegisterReader, bases: Sequence[int]) -> int:
    """The first of ``bases`` holding the "SunS" marker; SunSpecError if none."""
    for base in bases:
        try:
            regs = await reader.read(base, 2)
        except Exception:  # an illegal-address answer is how a device says "not here"
            continue
        if tuple(regs) == MARKER:
            return base
    raise SunSpecError(f"no SunSpec marker at {list(bases)}")


async def walk_models(reader: RegisterReader, base: int) -> tuple[ModelBlock, ...]:
    """Follow the model chain from ``base`` (the marker) to the end marker."""
    found: list[ModelBlock] = []
    addr = base + 2
    for _ in range(MAX_MODELS):
        model_id, length = await reader.read(addr, 2)
        if model_id == END_ID:
            return tuple(found)
        found.append(ModelBlock(model_id, addr, length))
        addr += 2 + length
    raise SunSpecError(f"no end marker after {MAX_MODELS} models at base {base}")


@dataclass(frozen=True, slots=True)
class ReadSpan:
    """One read request covering whole model blocks that sit back to back on the device."""

    address: int
    count: int
    blocks: tuple[ModelBlock, ...]


def plan_reads(blocks: Sequence[ModelBlock], wanted: set[int] | frozenset[int]) -> tuple[ReadSpan, ...]:
    """Group the blocks whose model id is in ``wanted`` into as few reads as possible: adjacent
    blocks share one request while it stays within 125 registers (a PV inverter's 103 + 120 is one
    round trip instead of two). A block longer than 125 registers gets a span of its own, read in
    pieces. Only the first block of each wanted model id is read."""
    spans: list[ReadSpan] = []
    seen: set[int] = set()
    for b in blocks:
        if b.model_id not in wanted or b.model_id in seen:
            continue
        seen.add(b.model_id)
        size = b.length + 2
        last = spans[-1] if spans else None
        if last is not None and last.address + last.count == b.address and last.count + size <= MAX_READ_REGS:
            spans[-1] = ReadSpan(last.address, last.count + size, (*last.blocks, b))
        else:
            spans.append(ReadSpan(b.address, size, (b,)))
    return tuple(spans)


async def read_span(reader: RegisterReader, span: ReadSpan) -> dict[int, list[int]]:
    """Model id -> registers of its block (from its ID register), for every block of ``span``."""
    regs: list[int] = []
    while len(regs) < span.count:
        n = min(MAX_READ_REGS, span.count - len(regs))
        regs.extend(await reader.read(span.address + len(regs), n))
    out: dict[int, list[int]] = {}
    for b in span.blocks:
        i = b.address - span.address
        out[b.model_id] = regs[i : i + b.length + 2]
    return out


async def read_block(reader: RegisterReader, block: ModelBlock) -> list[int]:
    """All registers of ``block`` (ID, L and points), in reads of at most 125 registers."""
    total = block.length + 2
    out: list[int] = []
    while len(out) < total:
        n = min(MAX_READ_REGS, total - len(out))
        out.extend(await reader.read(block.address + len(out), n))
    return out
