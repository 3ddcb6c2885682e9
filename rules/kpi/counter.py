"""Increments of cumulative counters (Wh, pieces) with rollover and reset handling.

A counter only rises. When a reading is lower than the previous one it either **rolled over**
(the previous value was within the top ``ROLLOVER_ZONE`` of the configured wrap value: the
increment is ``wrap - previous + current``) or was **reset** (device reboot / replacement: the
counter restarted at 0, so the increment is ``current``). An increment implying more than
``max_rate_per_s`` (e.g. rated power) is physically impossible; it is dropped and counted —
unless it and a neighbouring increment together are plausible: then one reading was stamped off
its value, and the two are kept as one (counted as ``merged``). Read later than its timestamp
says (a delayed Modbus reply) the reading makes its increment too steep and the next too flat;
stamped later than it was read (the poller's clock read after a stalled reply, found by the
cluster e2e on a loaded host: +9.6 kWh in 137 s then +26.2 kWh in 57 s on an 800 kW turbine)
it makes its increment too flat and the next too steep. The next increment is tried first, then
the one before. Stale readings are skipped.

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
    merged: int = 0  # steep + flat pairs kept as one increment (a reading stamped off its value)

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
    steps: list[tuple[Increment, bool]] = []  # (increment, whether it wrapped or reset)
    resets = rollovers = 0
    for prev, cur in pairwise(good):
        delta = cur.value - prev.value
        jumped = delta < 0
        if jumped:
            if rollover_at is not None and prev.value >= rollover_at * (1 - ROLLOVER_ZONE):
                delta = rollover_at - prev.value + cur.value
                rollovers += 1
            else:
                delta = cur.value
                resets += 1
        if cur.ts_s > prev.ts_s:
            steps.append((Increment(prev.ts_s, cur.ts_s, delta), jumped))
    out, implausible, merged = _plausible(steps, max_rate_per_s)
    return CounterIncrements(tuple(out), resets, rollovers, implausible, merged)


def _plausible(steps: list[tuple[Increment, bool]], max_rate_per_s: float | None) -> tuple[list[Increment], int, int]:
    """The increments within ``max_rate_per_s``; a steep one followed by a flat one that together
    are within it is kept as one (see the module docstring). Returns (increments, dropped, merged)."""
    if max_rate_per_s is None:
        return [inc for inc, _ in steps], 0, 0

    def ok(inc: Increment) -> bool:
        return inc.delta <= max_rate_per_s * (inc.end_s - inc.start_s)

    out: list[Increment] = []
    implausible = merged = 0
    joinable = False  # out[-1] is the step just before (kept, not a reset or rollover)
    i = 0
    while i < len(steps):
        inc, jumped = steps[i]
        if ok(inc):
            out.append(inc)
            joinable = not jumped
        elif i + 1 < len(steps) and not steps[i + 1][1] and ok(
                both := Increment(inc.start_s, steps[i + 1][0].end_s, inc.delta + steps[i + 1][0].delta)):
            out.append(both)
            merged += 1
            joinable = not jumped
            i += 1
        elif joinable and not jumped and ok(
                both := Increment(out[-1].start_s, inc.end_s, out[-1].delta + inc.delta)):
            out[-1] = both
            merged += 1
        else:
            implausible += 1
            joinable = False
        i += 1
    return out, implausible, merged


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
