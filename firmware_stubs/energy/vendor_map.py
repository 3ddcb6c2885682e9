"""The wind turbine's vendor register map (``wind_turbine_map.yaml``): load and encode (pure
apart from reading the file once)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_MAP_PATH = Path(__file__).with_name("wind_turbine_map.yaml")
_WIDTH = {"uint16": 1, "int16": 1, "uint32": 2, "int32": 2}


@dataclass(frozen=True, slots=True)
class MapPoint:
    metric: str
    address: int
    type: str
    scale: float
    not_available: int | None
    counter: bool


@dataclass(frozen=True, slots=True)
class VendorMap:
    name: str
    points: tuple[MapPoint, ...]

    @property
    def first_address(self) -> int:
        return min(p.address for p in self.points)

    @property
    def register_count(self) -> int:
        return max(p.address + _WIDTH[p.type] for p in self.points) - self.first_address


def load_vendor_map(path: Path = DEFAULT_MAP_PATH) -> VendorMap:
    doc = yaml.safe_load(path.read_text())
    points = tuple(
        MapPoint(
            metric=str(p["metric"]),
            address=int(p["address"]),
            type=str(p["type"]),
            scale=float(p.get("scale", 1.0)),
            not_available=p.get("not_available"),
            counter=bool(p.get("counter", False)),
        )
        for p in doc["points"]
    )
    return VendorMap(name=str(doc["name"]), points=points)


def encode_vendor_image(vmap: VendorMap, values: Mapping[str, float | int | None]) -> list[int]:
    """Registers from ``vmap.first_address``; None -> the point's not_available raw; counters are
    given as raw register values already (they wrap in the device, not here)."""
    regs = [0] * vmap.register_count
    for p in vmap.points:
        width = _WIDTH[p.type]
        bits = 16 * width
        v = values.get(p.metric)
        if v is None:
            if p.not_available is None:
                raise ValueError(f"{p.metric} has no not_available sentinel in the map")
            raw = p.not_available
        elif p.counter:
            raw = int(v) % (1 << bits)
        else:
            raw = round(float(v) / p.scale) & ((1 << bits) - 1)
        i = p.address - vmap.first_address
        for w in range(width):
            regs[i + w] = (raw >> (16 * (width - 1 - w))) & 0xFFFF
    return regs
