"""Fields ingest adds to each sewing-machine aggregate so that the KPI job reads fewer sums. Pure.

InfluxDB 1.x spends about the same on every aggregate call per series, whatever the field
(``bench``, 4 000 machines' hour: one ``SUM`` 0.20 s of influxd CPU, three on one field 0.53 s,
three on three fields 0.52 s, the window's 19 sums 2.67 s). The rules' aggregate path
(:mod:`seamline.rules.aggregate_kpi`) spent half of its sums on checks — is every period there, of
the expected length, split at the expected threshold, good, fully known, without an idle reason or
a data gap — plus a statement counting stale aggregates. Each of those is a property of one
period, known when its point is written, so it is folded here into one integer the rules read
with ``COUNT``, ``MIN`` and ``MAX``:

* ``sums_key`` (int, on every sample with ``period_s``): 0 when the message's quality is not
  ``good`` or the sample has no event split (``stop_threshold_s``); otherwise
  ``4 · (period_ms · 10⁹ + threshold_ms) + 2 · exact + down`` where ``exact`` means the sums stand
  for the period's events — its whole state known (``state_known_s`` = ``period_s``), no idle
  period with a reason (``idle_reason_s`` 0), no pieces counted across a data gap
  (``pieces_unobserved``, ``unobserved_s`` 0) — and ``down`` that the event timeline was down in
  it (``event_down_s`` > 0 or ``breakdowns``). :func:`key_base` is the key's part the rules compare.
* ``unavailable_s`` = ``event_down_s + event_off_s`` and ``stops_s`` = ``stop_s + stop_late_s``
  (with the split only): what a planned span needs, one sum each instead of two.

Derived from the sample and its message's quality at every write, so a replay with another quality
rewrites them with the point. Aggregates stored before these fields existed have no ``sums_key``;
the rules then count fewer keyed periods than the window holds and read those machines' events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

SUMS_KEY: Final = "sums_key"
UNAVAILABLE_S: Final = "unavailable_s"
STOPS_S: Final = "stops_s"
DERIVED_FIELDS: Final = (STOPS_S, SUMS_KEY, UNAVAILABLE_S)  # sorted, as they are written

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


def sums_key(metrics: Mapping[str, object], *, good: bool) -> int | None:
    """The sample's ``sums_key``, ``None`` without ``period_s`` (not an aggregate)."""
    period_s, threshold_s = _num(metrics, "period_s"), _num(metrics, "stop_threshold_s")
    if period_s is None:
        return None
    if not good or threshold_s is None:
        return 0
    base = key_base(round(period_s * 1000), round(threshold_s * 1000))
    if base == 0:
        return 0
    known = _num(metrics, "state_known_s") or 0.0
    exact = (abs(known - period_s) <= _TOLERANCE_S and not _num(metrics, "idle_reason_s")
             and not _num(metrics, "pieces_unobserved") and not _num(metrics, "unobserved_s"))
    down = bool(_num(metrics, "event_down_s") or _num(metrics, "breakdowns"))
    return 4 * base + (EXACT if exact else 0) + (DOWN if down else 0)


def derived_fields(metrics: Mapping[str, object], *, good: bool) -> dict[str, float | int]:
    """The fields to add to a sewing sample's point (none for a raw sample without ``period_s``)."""
    key = sums_key(metrics, good=good)
    if key is None:
        return {}
    out: dict[str, float | int] = {SUMS_KEY: key}
    if _num(metrics, "stop_threshold_s") is not None:
        out[UNAVAILABLE_S] = (_num(metrics, "event_down_s") or 0.0) + (_num(metrics, "event_off_s") or 0.0)
        out[STOPS_S] = (_num(metrics, "stop_s") or 0.0) + (_num(metrics, "stop_late_s") or 0.0)
    return out


def _num(metrics: Mapping[str, object], name: str) -> float | None:
    v = metrics.get(name)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
