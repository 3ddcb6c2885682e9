"""Free capacity per line, as matching sees it: standard minutes per local day from ``today`` on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from seamline.contracts.carbon import CarbonMessage
from seamline.contracts.messages import CapacityMessage


@dataclass(frozen=True, slots=True, kw_only=True)
class LineKey:
    enterprise: str
    site: str
    line: str

    def __str__(self) -> str:
        return f"{self.enterprise}/{self.site}/{self.line}"


@dataclass(frozen=True, slots=True, kw_only=True)
class LineCapacity:
    """``free_std_min[k]`` is the free standard minutes on ``days[k]``; days ascending, unique."""

    key: LineKey
    categories: frozenset[str]
    days: tuple[date, ...]
    free_std_min: tuple[float, ...]
    efficiency: float = 0.5
    confidence: float = 1.0
    green_share: float | None = None  # fraction of its energy that is green; None = unknown
    co2e_kg_per_piece: float | None = None  # kg CO2e per good piece; None = unknown

    def __post_init__(self) -> None:
        if len(self.days) != len(self.free_std_min):
            raise ValueError(f"{self.key}: {len(self.days)} days but {len(self.free_std_min)} capacities")
        if any(b <= a for a, b in zip(self.days, self.days[1:], strict=False)):
            raise ValueError(f"{self.key}: days must be strictly ascending")
        if any(not (m >= 0) for m in self.free_std_min):
            raise ValueError(f"{self.key}: free standard minutes must be >= 0 and finite")

    def free_until(self, due: date) -> float:
        """Free standard minutes on days up to and including ``due``."""
        return sum(m for d, m in zip(self.days, self.free_std_min, strict=True) if d <= due)


def from_messages(messages: Iterable[CapacityMessage], *, today: date) -> list[LineCapacity]:
    """Lines from capacity messages, days before ``today`` dropped. A later message for the same
    line replaces an earlier one (retained messages are the latest per topic anyway)."""
    by_key: dict[LineKey, LineCapacity] = {}
    for msg in messages:
        key = LineKey(enterprise=msg.enterprise, site=msg.site, line=msg.line)
        per_day: dict[date, float] = {}
        for d in msg.days:
            if d.day >= today:
                per_day[d.day] = d.free_std_min
        days = tuple(sorted(per_day))
        by_key[key] = LineCapacity(
            key=key,
            categories=frozenset(msg.categories),
            days=days,
            free_std_min=tuple(per_day[d] for d in days),
            efficiency=msg.efficiency,
            confidence=msg.confidence,
            green_share=msg.green_share,
            co2e_kg_per_piece=msg.co2e_kg_per_piece,
        )
    return [by_key[k] for k in sorted(by_key, key=str)]


def with_carbon(lines: Sequence[LineCapacity], carbon: Iterable[CarbonMessage]) -> list[LineCapacity]:
    """``lines`` with the green share and kg CO2e per piece of the rules carbon feed's messages
    filled in where the capacity message did not carry them (the capacity message's own figures
    win: they are what the capacity feed measured with the capacity)."""
    by_key = {LineKey(enterprise=m.enterprise, site=m.site, line=m.line): m for m in carbon}
    out = []
    for ln in lines:
        msg = by_key.get(ln.key)
        if msg is None:
            out.append(ln)
            continue
        out.append(replace(
            ln,
            green_share=ln.green_share if ln.green_share is not None else msg.green_share,
            co2e_kg_per_piece=ln.co2e_kg_per_piece if ln.co2e_kg_per_piece is not None else msg.co2e_kg_per_piece,
        ))
    return out


def horizon(lines: Sequence[LineCapacity]) -> tuple[date, ...]:
    """All days that appear on any line, ascending."""
    return tuple(sorted({d for ln in lines for d in ln.days}))
