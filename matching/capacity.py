"""Free capacity per line, as matching sees it: standard minutes per local day from ``today`` on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

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
        )
    return [by_key[k] for k in sorted(by_key, key=str)]


def horizon(lines: Sequence[LineCapacity]) -> tuple[date, ...]:
    """All days that appear on any line, ascending."""
    return tuple(sorted({d for ln in lines for d in ln.days}))
