"""Downtime by reason as a Pareto: reasons in falling order of minutes, each with its share and the
cumulative share, the tail beyond ``max_bars`` folded into one ``other`` bar. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

OTHER = "other"
# A phone screen holds about eight bars with readable labels; the long tail is one bar.
DEFAULT_MAX_BARS = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class ParetoBar:
    reason: str
    minutes: float
    share: float  # of all down minutes, 0..1
    cumulative: float  # share of this bar and every bar before it, 0..1


def pareto(minutes: Mapping[str, float], *, max_bars: int = DEFAULT_MAX_BARS) -> tuple[ParetoBar, ...]:
    """Bars for every reason with minutes > 0, largest first (ties by reason code), the rest after
    ``max_bars - 1`` bars folded into ``other``. The last cumulative share is 1 (when any minutes)."""
    if max_bars < 2:
        raise ValueError(f"max_bars must be >= 2, got {max_bars}")
    items = sorted(((r, m) for r, m in minutes.items() if m > 0), key=lambda x: (-x[1], x[0]))
    if len(items) > max_bars:
        head = items[:max_bars - 1]
        items = [*head, (OTHER, sum(m for _, m in items[max_bars - 1:]))]
    total = sum(m for _, m in items)
    out, running = [], 0.0
    for reason, m in items:
        running += m
        out.append(ParetoBar(reason=reason, minutes=m, share=m / total, cumulative=running / total))
    return tuple(out)
