"""Increments of cumulative counters (Wh, pieces) with rollover and reset handling.

A counter only rises. When a reading is lower than the previous one it either **rolled over**
(the previous value was within the top ``ROLLOVER_ZONE`` of the configured wrap value: the
increment is ``wrap - previous + current``) or was **reset** (device reboot / replacement: the
counter restarted at 0, so the increment is ``current``). An increment implying more than
``max_rate_per_s`` (e.g. rated power) is physically impossible; it is dropped and counted.
Stale readings are skipped.

The quantity in a set of spans is each increment spread evenly over its reading interval and
prorated by the overlap (``delta × |[t0, t1) ∩ spans| / (t1 - t0)``), so splitting a window and
adding the parts gives the window's total.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from seamline.contracts.messages import Quality
from seamline.rules.kpi.result import Flag
from seamline.rules.spans import Span, SpanSet

# A drop counts as a rollover only when the previous value was in the top 10 % of the range;
# anything else is a reset (a counter cannot rise through 10 % of its range between two polls).
ROLLOVER_ZONE = 0.1


@dataclass(frozen=True, slots=True)
class Reading:
    """One counter reading at UTC epoch seconds ``ts_s``."""

    ts_s: float
    value: float
    quality: Quality = Quality.GOOD


@dataclass(frozen=True, slots=True)
class Increment:
    start_s: float
    end_s: float
    delta: float


@dataclass(frozen=True, slots=True)
class CounterIncrements:
    increments: tuple[Increment, ...]
    resets: int = 0
    rollovers: int = 0
    implausible: int = 0

    def amount_in(self, spans: SpanSet) -> float:
        """Counter quantity falling into ``spans`` (same unit as the counter)."""
        total = 0.0
        for inc in self.increments:
            duration = inc.end_s - inc.start_s
            if duration <= 0:
                continue
            total += inc.delta * spans.overlap_s(Span(inc.start_s, inc.end_s)) / duration
        return total


def counter_increments(
    readings: Iterable[Reading],
    *,
    rollover_at: float | None = None,
    max_rate_per_s: float | None = None,
) -> CounterIncrements:
    """Non-negative increments between consecutive good readings (ordered by time)."""
    good = sorted((r for r in readings if r.quality is not Quality.STALE), key=lambda r: r.ts_s)
    out: list[Increment] = []
    resets = rollovers = implausible = 0
    for prev, cur in pairwise(good):
        delta = cur.value - prev.value
        if delta < 0:
            if rollover_at is not None and prev.value >= rollover_at * (1 - ROLLOVER_ZONE):
                delta = rollover_at - prev.value + cur.value
                rollovers += 1
            else:
                delta = cur.value
                resets += 1
        dt = cur.ts_s - prev.ts_s
        if max_rate_per_s is not None and delta > max_rate_per_s * dt:
            implausible += 1
            continue
        if dt > 0:
            out.append(Increment(prev.ts_s, cur.ts_s, delta))
    return CounterIncrements(tuple(out), resets, rollovers, implausible)


def counter_flags(inc: CounterIncrements) -> list[Flag]:
    """The flags a KPI built on these increments must carry."""
    flags = []
    if inc.resets:
        flags.append(Flag.COUNTER_RESET)
    if inc.rollovers:
        flags.append(Flag.COUNTER_ROLLOVER)
    if inc.implausible:
        flags.append(Flag.IMPLAUSIBLE_INCREMENT)
    return flags
