"""How much of a window was actually observed.

Missing data is never downtime. Every KPI is computed over *observed* time only, and its
denominator is scaled the same way, e.g. ``availability = run time in (planned ∩ observed) /
(planned ∩ observed)``; the KPI carries ``coverage = |observed ∩ basis| / |basis|`` where the
basis is planned time (sewing) or the window (energy). Below a configured threshold the KPI is
flagged ``low_coverage``.

What counts as observed, per asset:

* an **aggregate** sample (``period_s`` set, e.g. the 60 s sewing aggregates) covers exactly its
  period: ``[ts, ts + period_s)`` when stamped at the period start (default) or
  ``[ts - period_s, ts)`` when stamped at its end;
* a **polled** sample (no ``period_s``) vouches for the time until the next sample, at most
  ``max_hold_s``. If sequence numbers show ``k`` samples lost before the next one, it vouches
  for one estimated poll interval only: ``(t_next - t) / (k + 1)``;
* a ``stale`` sample covers nothing (``historical`` is real data replayed late and counts); a
  stale polled sample also ends the hold of the good sample before it (the device was seen not
  answering), so dropping a *stale* record can raise coverage — dropping a good one cannot;
* gateway ``offline`` intervals are removed from whatever the samples claim.

Consequences (tested as properties): removing a good sample, marking one stale, adding a sequence gap
or an offline interval never raises coverage.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from seamline.contracts.messages import Quality
from seamline.rules.spans import Pair, Span, SpanSet, merge_sorted


class Stamp(enum.StrEnum):
    """Where an aggregate's ``ts`` sits in its period."""

    PERIOD_START = "period_start"
    PERIOD_END = "period_end"


@dataclass(frozen=True, slots=True)
class Observation:
    """When a sample was taken (UTC epoch s), its sequence number, quality and aggregation period."""

    ts_s: float
    seq: int | None = None
    quality: Quality = Quality.GOOD
    period_s: float | None = None


@dataclass(frozen=True, slots=True)
class ObservationPolicy:
    # Polled samples: typical poll periods are 5-60 s; 2-3 polls of slack absorbs jitter without
    # vouching for a real outage. Set per asset from its poll period.
    max_hold_s: float = 120.0
    stamp: Stamp = Stamp.PERIOD_START

    def __post_init__(self) -> None:
        if not self.max_hold_s > 0:
            raise ValueError("max_hold_s must be > 0")


@dataclass(frozen=True, slots=True)
class Coverage:
    """``observed_s`` of ``basis_s`` seconds; ``fraction`` is 1.0 when there was nothing to observe."""

    observed_s: float
    basis_s: float

    @property
    def fraction(self) -> float:
        if self.basis_s <= 0:
            return 1.0
        return min(1.0, self.observed_s / self.basis_s)


def aggregate_span(obs: Observation, stamp: Stamp) -> Span:
    """The period an aggregate sample covers (``period_s`` must be set)."""
    period = obs.period_s or 0.0
    if stamp is Stamp.PERIOD_START:
        return Span(obs.ts_s, obs.ts_s + period)
    return Span(obs.ts_s - period, obs.ts_s)


def _aggregate_pair(obs: Observation, stamp: Stamp) -> Pair:
    period = obs.period_s or 0.0
    if stamp is Stamp.PERIOD_START:
        return (obs.ts_s, obs.ts_s + period)
    return (obs.ts_s - period, obs.ts_s)


def _polled_span(obs: Observation, nxt: Observation | None, max_hold_s: float) -> Span:
    if nxt is None:
        return Span(obs.ts_s, obs.ts_s + max_hold_s)
    gap = nxt.ts_s - obs.ts_s
    lost = 0
    if obs.seq is not None and nxt.seq is not None and nxt.seq > obs.seq + 1:
        lost = nxt.seq - obs.seq - 1
    return Span(obs.ts_s, obs.ts_s + min(max_hold_s, gap / (lost + 1)))


def observed_spans(
    observations: Iterable[Observation],
    policy: ObservationPolicy,
    *,
    offline: SpanSet = SpanSet(),  # noqa: B008 - immutable
) -> SpanSet:
    """The time the samples vouch for, minus gateway-offline time (UTC epoch s)."""
    observations = observations if isinstance(observations, list | tuple) else list(observations)
    if all(o.period_s is not None and o.period_s > 0 for o in observations):
        # Aggregates only (the sewing hot path): nothing held until a next sample, so the order
        # of the samples does not matter — SpanSet.of sorts their periods.
        periods = sorted(_aggregate_pair(o, policy.stamp) for o in observations if o.quality is not Quality.STALE)
        return SpanSet(tuple(Span(start, end) for start, end in merge_sorted(periods))).subtract(offline)
    ordered = sorted(observations, key=lambda o: (o.ts_s, o.seq if o.seq is not None else -1))
    spans = [
        aggregate_span(o, policy.stamp)
        for o in ordered
        if o.period_s is not None and o.period_s > 0 and o.quality is not Quality.STALE
    ]
    polled = [o for o in ordered if o.period_s is None or o.period_s <= 0]
    later = 0  # index of the first polled sample strictly after the current one
    for i, obs in enumerate(polled):
        later = max(later, i + 1)
        while later < len(polled) and polled[later].ts_s <= obs.ts_s:
            later += 1
        if obs.quality is not Quality.STALE:
            nxt = polled[later] if later < len(polled) else None
            spans.append(_polled_span(obs, nxt, policy.max_hold_s))
    return SpanSet.of(spans).subtract(offline)


def offline_spans(events: Iterable[tuple[float, bool]], *, until_s: float) -> SpanSet:
    """Offline intervals from gateway status events ``(ts_s, online)``: from each ``offline``
    to the next ``online`` (or ``until_s`` if it never came back)."""
    spans: list[Span] = []
    down_since: float | None = None
    for ts_s, online in sorted(events):
        if not online and down_since is None:
            down_since = ts_s
        elif online and down_since is not None:
            spans.append(Span(down_since, ts_s))
            down_since = None
    if down_since is not None and until_s > down_since:
        spans.append(Span(down_since, until_s))
    return SpanSet.of(spans)


def coverage_of(observed: SpanSet, basis: SpanSet) -> Coverage:
    """Share of ``basis`` (planned time, or the window) that ``observed`` covers."""
    return Coverage(observed_s=observed.intersect(basis).total_s, basis_s=basis.total_s)
