"""Fields ingest adds to each sewing-machine aggregate so that the KPI job reads fewer sums. Pure.

InfluxDB 1.x spends about the same on every aggregate call per series, whatever the field
(``bench``, 4 000 machines' hour: one ``SUM`` 0.13–0.20 s of influxd CPU, three on one field 0.53 s,
three on three fields 0.52 s, the window's 19 sums 2.67 s). The rules' aggregate path
(:mod:`seamline.rules.aggregate_kpi`) spent half of its sums on checks — is every period there, of
the expected length, split at the expected threshold, good, fully known, without an idle reason or
a data gap — plus a statement counting stale aggregates, and the other half on one sum per figure.
Both are folded here, where each aggregate is written:

* ``sums_key`` (int, on every sample with ``period_s``): 0 when the message's quality is not
  ``good`` or the sample has no event split (``stop_threshold_s``); otherwise
  ``4 · (period_ms · 10⁹ + threshold_ms) + 2 · exact + down`` where ``exact`` means the sums stand
  for the period's events — its whole state known (``state_known_s`` = ``period_s``), no idle
  period with a reason (``idle_reason_s`` 0), no pieces counted across a data gap
  (``pieces_unobserved``, ``unobserved_s`` 0), every packed figure whole and in range — and
  ``down`` that the event timeline was down in it (``event_down_s`` > 0 or ``breakdowns``). The
  rules read a range's ``COUNT``, ``MIN`` and ``MAX`` of it; :func:`key_base` is what they compare.
* packed sums (int, on every sample with ``period_s``): several whole non-negative numbers in one int64, each in its
  own bits (:data:`WIDTHS`), so one ``SUM`` returns each part's sum exactly while every part's
  sum stays below ``2**width`` — ``run_idle_ms`` (run, idle ms), ``off_down_ms`` (off, down ms),
  ``unavailable_stops_ms`` (the event timeline's down + off ms, stop + late stop ms) and ``counts``
  (1 per period, pieces, rejects, breakdowns: the window's number of periods comes with its
  counts). The rules use them for windows up to :data:`MAX_WINDOW_MS`: 2 days (and a threshold)
  of ms stay below ``2**31``, and a period whose counts pass its :func:`count_limits` (60 s
  periods: 364 pieces, 11 rejects, 2 breakdowns) makes it inexact.

Derived from the sample and its message's quality at every write, so a replay with another quality
rewrites them with the point. Aggregates stored before these fields existed have no ``sums_key``;
the rules then count fewer keyed periods than the window holds and read those machines' events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

SUMS_KEY: Final = "sums_key"
RUN_IDLE_MS: Final = "run_idle_ms"
OFF_DOWN_MS: Final = "off_down_ms"
UNAVAILABLE_STOPS_MS: Final = "unavailable_stops_ms"
COUNTS: Final = "counts"
DERIVED_FIELDS: Final = (COUNTS, OFF_DOWN_MS, RUN_IDLE_MS, SUMS_KEY, UNAVAILABLE_STOPS_MS)  # sorted, as written

# What each packed field holds, first part in the highest bits (contract names; ms of the seconds).
PACKED: Final[Mapping[str, tuple[str, ...]]] = {
    RUN_IDLE_MS: ("run_s", "idle_s"), OFF_DOWN_MS: ("off_s", "down_s"),
    UNAVAILABLE_STOPS_MS: ("unavailable_s", "stops_s"), COUNTS: ("periods", "pieces", "rejects", "breakdowns")}
# Bits per part, first part in the highest bits; at most 63 bits, so every sum stays a positive int64.
WIDTHS: Final[Mapping[str, tuple[int, ...]]] = {
    RUN_IDLE_MS: (31, 31), OFF_DOWN_MS: (31, 31), UNAVAILABLE_STOPS_MS: (31, 31), COUNTS: (15, 20, 15, 13)}
MAX_WINDOW_MS: Final = 2 * 86_400_000  # the longest window the rules sum packed fields over

_SCALE: Final = 10**9  # threshold_ms below it; period_ms below it keeps 4·key under 2^63
EXACT: Final = 2
DOWN: Final = 1
_TOLERANCE_S: Final = 1e-6


def key_base(period_ms: int, threshold_ms: int) -> int:
    """The part of ``sums_key`` that says a good period of ``period_ms`` split at ``threshold_ms``
    (``key // 4``); 0 when either is out of the key's range (such periods get key 0)."""
    if not (0 < period_ms < _SCALE and 0 < threshold_ms < _SCALE):
        return 0
    return period_ms * _SCALE + threshold_ms


def count_limits(period_ms: int) -> tuple[int, ...]:
    """The most each part of ``counts`` may hold in one period for :data:`MAX_WINDOW_MS` of such
    periods to stay below its bits (60 s periods: 11 periods, 364 pieces, 11 rejects, 2 breakdowns)."""
    return tuple(((1 << w) - 1) * period_ms // MAX_WINDOW_MS for w in WIDTHS[COUNTS])


def pack(parts: Sequence[int], widths: Sequence[int]) -> int:
    value = 0
    for part, width in zip(parts, widths, strict=True):
        value = (value << width) | part
    return value


def unpack(value: int, widths: Sequence[int]) -> tuple[int, ...]:
    """The parts of a packed sum (each part's sum below ``2**width``)."""
    out = []
    for width in reversed(widths):
        out.append(value & ((1 << width) - 1))
        value >>= width
    return tuple(reversed(out))


def derived_fields(metrics: Mapping[str, Any], *, good: bool) -> dict[str, int]:
    """The fields to add to a sewing sample's point (none for a raw sample without ``period_s``)."""
    period_s, threshold_s = _num(metrics, "period_s"), _num(metrics, "stop_threshold_s")
    if period_s is None:
        return {}
    get = metrics.get
    figures = {n: float(get(n) or 0.0) for n in _FIGURES}  # validated numbers (or absent) from the contract
    figures["unavailable_s"] = figures["event_down_s"] + figures["event_off_s"]
    figures["stops_s"] = figures["stop_s"] + figures["stop_late_s"]
    figures["periods"] = 1.0
    out: dict[str, int] = {}
    limits = count_limits(round(period_s * 1000))
    for name, parts, scale, widths in _PACKING:
        value = 0
        for i, part in enumerate(parts):
            x = figures[part] * scale
            r = round(x)
            if abs(x - r) > _TOLERANCE_S or not 0 <= r <= (limits[i] if name == COUNTS else (1 << widths[i]) - 1):
                break
            value = (value << widths[i]) | r
        else:
            out[name] = value
    base = key_base(round(period_s * 1000), round(threshold_s * 1000)) if good and threshold_s is not None else 0
    if base == 0:
        out[SUMS_KEY] = 0
        return out
    known = float(get("state_known_s") or 0.0)
    exact = (len(out) == len(PACKED) and abs(known - period_s) <= _TOLERANCE_S and not get("idle_reason_s")
             and not get("pieces_unobserved") and not get("unobserved_s"))
    down = bool(figures["event_down_s"] or figures["breakdowns"])
    out[SUMS_KEY] = 4 * base + (EXACT if exact else 0) + (DOWN if down else 0)
    return out


def sums_key(metrics: Mapping[str, Any], *, good: bool) -> int | None:
    """The sample's ``sums_key``, ``None`` without ``period_s`` (not an aggregate)."""
    return derived_fields(metrics, good=good).get(SUMS_KEY)


# (field, its parts, their unit in the field: ms of seconds or a count, bits per part)
_PACKING: Final = tuple((name, parts, 1 if name == COUNTS else 1000, WIDTHS[name]) for name, parts in PACKED.items())
_FIGURES: Final = ("run_s", "idle_s", "off_s", "down_s", "stop_s", "stop_late_s", "event_down_s", "event_off_s",
                   "pieces", "rejects", "breakdowns")


def _num(metrics: Mapping[str, object], name: str) -> float | None:
    v = metrics.get(name)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
