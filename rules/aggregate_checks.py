"""The aggregate path's checks, passed by a whole batch of machines at once (pure: no I/O).

Most of the sums :mod:`rules.aggregate_kpi` reads per machine only check that the sums stand for
the events: every period ``P`` long, fully known, split at the rules' threshold, without an idle
reason or unobserved pieces, none stale. InfluxDB's cost goes by series × aggregate *per group*
(one ``sum()`` over 1 000 machine-hours: 0.094 s grouped by machine, 0.017 s without ``GROUP BY``),
and in a steady hour every machine of a batch passes them. So each range's statement asks, for
the whole batch and without ``GROUP BY``, the few extremes that decide a :class:`Check` for every
machine at once (e.g. the least and the greatest ``stop_threshold_s`` and how many periods carry
it); per machine it reads only the sums the KPIs are made of. A check the batch does not pass
is read per machine as before (:func:`fallback_needs`), so a machine is refused or taken exactly
as when every sum is read (the checks' equivalences are in :func:`verified`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from seamline.rules.aggregate_kpi import Check, Part, Range, SpanSums, SumPlan, sums_for

_W, _B, _T = Part.WINDOW, Part.BEFORE, Part.TAIL
# The SpanSums a check stands for, per part of a plan it is read for.
REPLACES: Mapping[Check, Mapping[Part, frozenset[str]]] = {
    Check.PERIODS: {_W: frozenset({"period_max_s"}), _B: frozenset({"period_max_s"})},
    Check.KNOWN: {_W: frozenset({"state_known_s"})},
    Check.SPLIT: {_W: frozenset({"threshold_sum_s", "threshold_max_s"}), _B: frozenset({"split_count"}),
                  _T: frozenset({"split_count", "count"})},
    Check.CLEAN: {_W: frozenset({"idle_reason_s", "pieces_unobserved", "unobserved_s"})},
    Check.GOOD: {},  # the count of stale or replayed aggregates, a statement of its own
}
ALL = frozenset(Check)
# (function, field) asked of the whole batch per part, answered as ``fn_field``
_PERIOD = "period_s"
Extreme = Literal["count", "min", "max"]
_BATCH: Mapping[Part, tuple[tuple[Extreme, str], ...]] = {
    _W: (("count", _PERIOD), ("min", _PERIOD), ("max", _PERIOD), ("count", "state_known_s"),
         ("min", "state_known_s"), ("max", "state_known_s"), ("count", "stop_threshold_s"),
         ("min", "stop_threshold_s"), ("max", "stop_threshold_s"), ("max", "idle_reason_s"),
         ("max", "pieces_unobserved"), ("max", "unobserved_s")),
    _B: (("count", _PERIOD), ("min", _PERIOD), ("max", _PERIOD), ("count", "stop_threshold_s"),
         ("min", "stop_threshold_s"), ("max", "stop_threshold_s")),
    _T: (("count", _PERIOD), ("count", "stop_threshold_s"), ("min", "stop_threshold_s"),
         ("max", "stop_threshold_s")),
}


def _replaced(parts: Part, checks: frozenset[Check]) -> frozenset[str]:
    return frozenset().union(*(names for c in checks for p, names in REPLACES[c].items() if p & parts))


def _keep(name: str, parts: Part, checks: frozenset[Check]) -> bool:
    """Whether some part of ``parts`` that reads ``name`` still needs it per machine."""
    return any(p & parts and name in sums_for(p) and name not in _replaced(p, checks) for p in Part)


def grouped_needs(plan: SumPlan, checks: frozenset[Check] = ALL) -> dict[Range, frozenset[str]]:
    """Per range, the sums read per machine when the batch answers ``checks`` as a whole."""
    return {rng: frozenset(n for n in sums_for(parts) if _keep(n, parts, checks))
            for rng, parts in plan.parts().items()}


def fallback_needs(plan: SumPlan, failed: frozenset[Check]) -> dict[Range, frozenset[str]]:
    """Per range, the sums to read per machine for the checks the batch did not pass (ranges
    without any left out)."""
    out = {}
    for rng, parts in plan.parts().items():
        names = frozenset(n for n in sums_for(parts) & _replaced(parts, failed))
        if names:
            out[rng] = names
    return out


def batch_aggregates(parts: Part) -> tuple[tuple[Extreme, str], ...]:
    """(function, field) pairs the whole batch is asked for a range playing ``parts`` (none: the
    range needs no batch statement)."""
    seen: dict[tuple[Extreme, str], None] = {}
    for p, pairs in _BATCH.items():
        if p & parts:
            seen.update(dict.fromkeys(pairs))
    return tuple(seen)


def verified(plan: SumPlan, rows: Mapping[Range, Mapping[str, Any]], *, not_good: int,
             threshold_s: float) -> frozenset[Check]:
    """The checks every machine of the batch passes, from the batch's answer row per range
    (``fn_field`` -> value; absent or None when no row of the range has the field) and its count
    of stale or replayed aggregates.

    Each equals its per-machine form (:func:`rules.aggregate_kpi.aggregate_totals`) for every
    machine whose per-machine ``count`` check passes: ``PERIODS`` — every period read is ``P``
    long, so a machine's longest is ``P``; ``KNOWN`` — every period of the window carries
    ``state_known_s = P``, so ``count·P`` periods know the window; ``SPLIT`` — every period read
    carries the split at ``T``, so its sum is ``count·T``, its max ``T`` and every count of
    periods with the split is the count of periods; ``CLEAN`` — the greatest idle-reason,
    unobserved seconds and pieces are 0, so their sums are; ``GOOD`` — no stale or replayed row,
    so none per machine."""
    out = set()
    parts = plan.parts()
    p_s, known_ok, periods_ok, split_ok, clean_ok = plan.period_ms / 1000, True, True, True, True
    for rng, row in rows.items():
        part = parts[rng]
        n = int(row.get(f"count_{_PERIOD}") or 0)
        if part & (_W | _B) and n and not row.get(f"min_{_PERIOD}") == row.get(f"max_{_PERIOD}") == p_s:
            periods_ok = False
        if part & (_W | _B | _T) and not _split_at(row, n, threshold_s):
            split_ok = False
        if part & _W:
            known = int(row.get("count_state_known_s") or 0)
            if known != n or (n and not row.get("min_state_known_s") == row.get("max_state_known_s") == p_s):
                known_ok = False
            if any((row.get(f"max_{f}") or 0) > 0 for f in ("idle_reason_s", "pieces_unobserved", "unobserved_s")):
                clean_ok = False
    for check, ok in ((Check.PERIODS, periods_ok), (Check.KNOWN, known_ok), (Check.SPLIT, split_ok),
                      (Check.CLEAN, clean_ok), (Check.GOOD, not not_good)):
        if ok:
            out.add(check)
    return frozenset(out)


def _split_at(row: Mapping[str, Any], periods: int, threshold_s: float) -> bool:
    split = int(row.get("count_stop_threshold_s") or 0)
    return split == periods and (not split or row.get("min_stop_threshold_s") == row.get("max_stop_threshold_s")
                                 == threshold_s)


def merged(first: SpanSums | None, more: Mapping[str, Any]) -> SpanSums:
    """``first`` with the fallback's sums added (``more``: SpanSums fields)."""
    values = {} if first is None else {f: getattr(first, f) for f in SpanSums.__dataclass_fields__}
    values.update(more)
    return SpanSums(**values)


__all__ = ["ALL", "REPLACES", "batch_aggregates", "fallback_needs", "grouped_needs", "merged", "verified"]
