"""A sewing machine's totals from *sums* of its edge aggregates (pure): the fast path.

:func:`rules.machine_kpi.machine_totals` reads every ``machine_state`` event (~350 per machine-hour)
to find the stops. Aggregates from edges with the event split (:mod:`edge_agent.stop_split`) carry
per period the event timeline's down, off and stop seconds, so one machine's window needs only
sums over a few time ranges (InfluxQL ``SUM``/``COUNT``/``MAX`` grouped by asset,
:mod:`rules.aggregate_source`). The result is the same :class:`~rules.kpi.sewing.MachineTotals`,
within float rounding (tests/unit/rules/test_rules_aggregate_path.py).

The stops of a planned span ``[a, b)`` of whole periods are ``Σ stop_s + Σ stop_late_s`` over it,
corrected at its ends: an idle period open and undecided at ``a`` (``idle_open_s`` of the period
before, ``L_a``) that reaches the threshold before ``min(b, a + threshold)`` put ``L_a`` seconds from
before ``a`` into a ``stop_late_s`` inside the span (subtracted); one undecided at ``b`` (``L_b``) that
reaches it in ``[b, b + threshold)`` owes the span ``min(L_b, b − a)`` seconds (added). No other
idle period can resolve in those ranges when the threshold is a whole number of periods.

The sums stand for the events only when :func:`aggregate_totals` says so; otherwise it returns
the reason and the caller computes the machine from its events (the reference path, kept for
production): a data gap, stale or replayed data, a gateway offline, an edge without the split or
with another threshold, a breakdown or an idle period with a reason in the window (their reasons
are in the events), pieces counted across a gap (their span is in the aggregates), boundaries
not on whole periods, or no state event known for part of the window. Seconds in, seconds out.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from seamline.rules.kpi.sewing import MachineTotals, machine_time_kpi
from seamline.rules.kpi.state_time import StateEvent, down_by_reason_s
from seamline.rules.machine_kpi import MachineWindow
from seamline.rules.spans import SpanSet
from seamline.rules.windows import Window
from seamline.storage.sewing_sums import (
    COUNTS,
    DOWN,
    EXACT,
    MAX_WINDOW_MS,
    OFF_DOWN_MS,
    RUN_IDLE_MS,
    UNAVAILABLE_STOPS_MS,
    WIDTHS,
    key_base,
    unpack,
)

Range = tuple[int, int]  # [start, end) UTC ms


class Part(enum.Flag):
    """The ranges of a plan a sum is read for (see :meth:`SumPlan.needs`)."""

    WINDOW = enum.auto()  # the window, validated in full
    SPAN = enum.auto()  # a planned span
    BEFORE = enum.auto()  # the period before a span
    HEAD = enum.auto()  # the threshold after a span's start (clipped to it)
    END = enum.auto()  # the span's last period
    TAIL = enum.auto()  # the threshold after a span's end


def _sum(parts: Part, default: float = 0.0) -> Any:
    return field(default=default, metadata={"parts": parts})


_W, _S, _B, _H, _E, _T = Part.WINDOW, Part.SPAN, Part.BEFORE, Part.HEAD, Part.END, Part.TAIL


@dataclass(frozen=True, slots=True, kw_only=True)
class SpanSums:
    """Sums over one machine's aggregates whose period starts in one range (rows with ``period_s``);
    each is read only for the parts of a plan its metadata names (absent: 0). ``count``,
    ``key_min`` and ``key_max`` are the ``COUNT``, ``MIN`` and ``MAX`` of the ``sums_key`` ingest
    writes on every aggregate; the packed fields are sums of several figures each
    (:mod:`seamline.storage.sewing_sums`; the properties unpack them)."""

    count: int = _sum(_B, 0)
    key_min: int = _sum(_W | _T, 0)
    key_max: int = _sum(_W | _B, 0)
    run_idle_ms: int = _sum(_W | _S, 0)
    off_down_ms: int = _sum(_W, 0)
    counts: int = _sum(_W, 0)
    unavailable_stops_ms: int = _sum(_S, 0)
    stop_late_s: float = _sum(_H | _T)
    idle_open_s: float = _sum(_B | _E)

    def _parts(self, name: str) -> tuple[int, ...]:
        return unpack(getattr(self, name), WIDTHS[name])

    @property
    def periods(self) -> int:
        """Periods with every packed figure (from ``counts``)."""
        return self._parts(COUNTS)[0]

    @property
    def run_s(self) -> float:
        return self._parts(RUN_IDLE_MS)[0] / 1000

    @property
    def idle_s(self) -> float:
        return self._parts(RUN_IDLE_MS)[1] / 1000

    @property
    def off_s(self) -> float:
        return self._parts(OFF_DOWN_MS)[0] / 1000

    @property
    def down_s(self) -> float:
        return self._parts(OFF_DOWN_MS)[1] / 1000

    @property
    def unavailable_s(self) -> float:
        return self._parts(UNAVAILABLE_STOPS_MS)[0] / 1000

    @property
    def stops_s(self) -> float:
        return self._parts(UNAVAILABLE_STOPS_MS)[1] / 1000

    @property
    def pieces(self) -> int:
        return self._parts(COUNTS)[1]

    @property
    def rejects(self) -> int:
        return self._parts(COUNTS)[2]

    @property
    def breakdowns(self) -> int:
        return self._parts(COUNTS)[3]


def sums_for(parts: Part) -> frozenset[str]:
    """Names of the :class:`SpanSums` read for a range playing ``parts``."""
    return frozenset(f.name for f in fields(SpanSums) if f.metadata.get("parts", Part(0)) & parts)


@dataclass(frozen=True, slots=True)
class SumPlan:
    """The ranges one window needs summed, for a planned time and aggregation period."""

    window: Range
    planned: tuple[Range, ...]  # planned ∩ window, whole periods
    period_ms: int
    threshold_ms: int

    @classmethod
    def of(cls, window: Window, planned: SpanSet, *, period_s: float, threshold_s: float) -> SumPlan:
        w = (round(window.start_s * 1000), round(window.end_s * 1000))
        spans = planned.intersect(SpanSet((window.span,)))
        ranges = tuple((round(s.start_s * 1000), round(s.end_s * 1000)) for s in spans.spans)
        return cls(w, ranges, round(period_s * 1000), round(threshold_s * 1000))

    @property
    def aligned(self) -> bool:
        """Every boundary on a whole period and the threshold a whole number of periods."""
        p = self.period_ms
        edges = [*self.window, *(t for r in self.planned for t in r)]
        return p > 0 and self.threshold_ms % p == 0 and all(t % p == 0 for t in edges)

    def needs(self) -> dict[Range, frozenset[str]]:
        """Every range to sum and the :class:`SpanSums` it needs (the fewer, the less InfluxDB
        works: its cost goes by series × aggregate): the window in full, each planned span's
        times, the period before each span (whole, its open idle) and the threshold's worth of
        periods after its start and after its end (their late stops)."""
        out: dict[Range, Part] = {self.window: Part.WINDOW}
        p, thr = self.period_ms, self.threshold_ms
        for a, b in self.planned:
            for rng, part in (((a, b), _S), ((a - p, a), _B), ((a, min(b, a + thr)), _H), ((b - p, b), _E),
                              ((b, b + thr), _T)):
                out[rng] = out.get(rng, Part(0)) | part
        return {rng: sums_for(parts) for rng, parts in out.items()}

    def ranges(self) -> list[Range]:
        return list(self.needs())


def _whole(s: SpanSums, rng: Range, period_ms: int, base: int) -> str | None:
    """Why the window's sums ``s`` do not stand for every period of it.

    Two aggregates of ``sums_key`` and the periods packed in ``counts`` where the checks took eight
    and a statement of their own: as many periods with every packed figure as the range holds,
    every key's base ``base`` (this period length and threshold, the split, good quality) and every
    one exact (:mod:`seamline.storage.sewing_sums`)."""
    if s.periods * period_ms != rng[1] - rng[0]:
        return "not every period observed"
    if s.key_min // 4 != base or s.key_max // 4 != base:
        return "aggregates of another period or threshold, without the split, stale or replayed"
    if not s.key_min & EXACT:
        return NOT_EXACT
    return None


NOT_EXACT = "a period the sums do not stand for (an idle period with a reason, part of its state unknown, a data gap)"


BREAKDOWN = "a breakdown (its reasons are in the events)"
DOWN_MISMATCH = "down events whose seconds are not the aggregates' down time (missing, or stored before machine_down)"
_MS_S = 0.001  # each period's down time is stored in whole ms


def _refusal(plan: SumPlan, sums: Mapping[Range, SpanSums], *, reasons: bool) -> str | None:
    if not plan.aligned:
        return "boundaries not on whole periods"
    if plan.window[1] - plan.window[0] > MAX_WINDOW_MS or plan.threshold_ms > MAX_WINDOW_MS:
        return "a window longer than the packed sums' range (2 days)"
    base = key_base(plan.period_ms, plan.threshold_ms)
    if base == 0:
        return "a period or threshold outside the sums key's range"
    w = sums.get(plan.window, SpanSums())
    why = _whole(w, plan.window, plan.period_ms, base)
    if why:
        return why
    if w.key_max & DOWN and not reasons:
        return BREAKDOWN
    for a, _ in plan.planned:
        before = sums.get((a - plan.period_ms, a), SpanSums())
        if before.count != 1 or before.key_max // 4 != base:
            return "the period before a planned span missing or without the split"
    for _, b in plan.planned:  # no row after a span (not stored yet): nothing to check
        after = sums.get((b, b + plan.threshold_ms))
        if after is not None and after.key_min <= 0:
            return "aggregates after a planned span without the split, stale or replayed"
    return None


def span_stop_s(plan: SumPlan, sums: Mapping[Range, SpanSums], span: Range) -> float:
    """Stop seconds in ``span`` (a planned range of ``plan``), see the module docstring."""
    a, b = span
    s = sums[span]
    stop = s.stops_s
    head = sums.get((a, min(b, a + plan.threshold_ms)), SpanSums())
    if head.stop_late_s > 0:
        stop -= sums[(a - plan.period_ms, a)].idle_open_s
    tail = sums.get((b, b + plan.threshold_ms), SpanSums())
    if tail.stop_late_s > 0:
        stop += min(sums[(b - plan.period_ms, b)].idle_open_s, (b - a) / 1000)
    return max(0.0, stop)


def aggregate_totals(plan: SumPlan, sums: Mapping[Range, SpanSums], window: Window, *, stop_threshold_s: float,
                     down_reasons: Mapping[str, float] | None = None) -> MachineTotals | str:
    """One machine's totals of ``window`` from the sums of ``plan.ranges()``, or why the sums do
    not stand for its events (then compute it from the events). A machine down in the window
    needs ``down_reasons`` (:func:`window_down_reasons`), else it is refused with
    :data:`BREAKDOWN`; reasons whose seconds are not the window's down time (within a ms per
    period) are refused with :data:`DOWN_MISMATCH`."""
    why = _refusal(plan, sums, reasons=down_reasons is not None)
    if why:
        return why
    w = sums[plan.window]
    if down_reasons is not None and abs(sum(down_reasons.values()) - w.down_s) > w.periods * _MS_S:
        return DOWN_MISMATCH
    planned_s = run_planned = operating = stop = 0.0
    for span in plan.planned:
        s = sums[span]
        length_s = (span[1] - span[0]) / 1000
        span_stop = span_stop_s(plan, sums, span)
        planned_s += length_s
        run_planned += s.run_s
        stop += span_stop
        operating += max(0.0, length_s - s.unavailable_s - span_stop)
    return MachineTotals(
        window_s=window.duration_s, observed_s=window.duration_s, planned_s=planned_s,
        planned_observed_s=planned_s, run_s=w.run_s, idle_s=w.idle_s, off_s=w.off_s, down_s=w.down_s,
        run_planned_s=run_planned, operating_s=operating, stop_s=stop, breakdowns=w.breakdowns, good_pieces=w.pieces,
        rejects=w.rejects, unobserved_pieces=0,
        downtime_s=(*sorted((down_reasons or {}).items()), *((("stop", stop),) if stop > 0 else ())))


def window_down_reasons(events: Sequence[StateEvent], window: Window) -> dict[str, float]:
    """Down seconds per reason in ``window`` (fully observed) from the last state event before it
    and the window's events into and out of ``down``: the edge never repeats a state, so the event
    after a ``down`` is the one that ends it (its ``previous`` is ``down``); the same figure
    :func:`rules.kpi.state_time.down_by_reason_s` gives from every event."""
    win = SpanSet((window.span,))
    return down_by_reason_s(events, win, win)


def machine_window(totals: MachineTotals, window: Window, *, coverage_threshold: float) -> MachineWindow:
    """What :func:`rules.machine_kpi.machine_kpi` returns, for totals from sums (fully observed:
    the observed time is the window, no gap bridged)."""
    return MachineWindow(machine_time_kpi(totals, window, coverage_threshold=coverage_threshold), totals,
                         SpanSet((window.span,)))
