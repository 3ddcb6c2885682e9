"""Energy counters as devices hold them: a true running total and its register image, which
wraps at the register width (pure)."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class EnergyCounter:
    """``total_wh`` only rises; ``register_value`` is what the device exposes: whole units of
    ``resolution_wh`` modulo ``2**bits`` (a uint32/acc32 rolls over to 0)."""

    total_wh: float = 0.0
    offset_wh: float = 0.0  # counter reading at simulation start (e.g. near the wrap, for tests)
    bits: int = 32
    resolution_wh: float = 1.0

    def add(self, energy_wh: float) -> EnergyCounter:
        if energy_wh < 0:
            raise ValueError(f"an energy counter cannot go down (got {energy_wh} Wh)")
        return replace(self, total_wh=self.total_wh + energy_wh)

    @property
    def register_value(self) -> int:
        return int((self.offset_wh + self.total_wh) // self.resolution_wh) % (1 << self.bits)
