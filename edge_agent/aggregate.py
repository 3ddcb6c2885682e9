"""Periodic aggregates of one sewing machine, and the whole per-machine derivation. Pure: no I/O, no clock.

Periods are aligned to device time: ``[k * period_s, (k + 1) * period_s)`` in UTC ms. A sample at
``ts_ms`` covers ``[ts_ms, ts_ms + 1 s)`` (see :mod:`edge_agent.state`), so its current, speed and
counter delta belong to the period holding ``ts_ms``; time-in-state slices are split exactly at
period boundaries. A period is emitted once the decided time has reached its end.

Counter deltas (stitches, pieces) come from the node's since-boot counters; a counter that goes
down means the node rebooted and restarted from zero, so the delta is the new value itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from seamline.contracts.kinds import AssetKind, MachineState
from seamline.edge_agent.state import Slice, StateChange, StateTracker, Thresholds
from seamline.edge_agent.stop_split import EventTimeline
from seamline.edge_agent.wire import DataPayload, DataSample, StatePayload

# Open periods per machine; more than this means device time jumped around, and the oldest is
# emitted early rather than kept forever.
MAX_OPEN_PERIODS = 4
CHECKPOINT_VERSION = 1


@dataclass(frozen=True, slots=True)
class RawSample:
    """One node sample: device time (UTC ms), the node's seq, and the measured values."""

    ts_ms: int
    current_a: float | None
    speed_spm: float | None = None
    stitches_total: int | None = None
    pieces_total: int | None = None


@dataclass(frozen=True, slots=True)
class Andon:
    """The operator's breakdown button (a ``state`` message from the node)."""

    ts_ms: int
    state: MachineState
    reason: str


@dataclass(slots=True)
class _Window:
    start_ms: int
    end_ms: int = 0  # exclusive; a period end, or earlier for the rest of a period after a flush
    samples: int = 0
    n: int = 0
    current_sum_a: float = 0.0
    current_max_a: float | None = None
    speed_n: int = 0
    speed_sum_spm: float = 0.0
    stitches: int | None = None
    pieces: int | None = None
    stitches_unobserved: int | None = None
    pieces_unobserved: int | None = None
    unobserved_ms: int = 0
    stitches_total: int | None = None
    pieces_total: int | None = None
    ms: dict[str, int] = field(default_factory=dict)  # state -> ms


def _count(w: _Window, name: str, delta: int, *, unobserved: bool) -> None:
    """Add a counter increase to the window's ``name`` (or ``name_unobserved`` after an outage)."""
    field = f"{name}_unobserved" if unobserved and delta else name
    setattr(w, field, (getattr(w, field) or 0) + delta)


def counter_delta(previous: int | None, current: int) -> int:
    """Increase of a since-boot counter; a decrease means a reboot (counting restarted at 0)."""
    if previous is None:
        return 0
    return current - previous if current >= previous else current


class PeriodAggregator:
    """Sums samples and time slices per period; :meth:`close_until` returns finished periods."""

    def __init__(self, period_s: int, *, outage_gap_s: float = 300.0) -> None:
        self.period_ms = period_s * 1000
        # A counter increase across a longer gap (an outage) happened while nobody watched: it is
        # reported as *_unobserved, so KPIs over observed time (OEE performance) are not inflated.
        self.outage_gap_ms = outage_gap_s * 1000
        self._open: dict[int, _Window] = {}
        self._last_stitches: int | None = None
        self._last_pieces: int | None = None
        self._last_ts_ms: int | None = None
        # After a flush, the rest of the flushed period is a window of its own that starts here,
        # so its aggregate gets a timestamp of its own and never overwrites the flushed one.
        self._floor_ms: int | None = None

    def _window(self, t_ms: int) -> _Window:
        start = t_ms - t_ms % self.period_ms
        end = start + self.period_ms
        if self._floor_ms is not None and start < self._floor_ms < end:
            start = min(self._floor_ms, t_ms)
        w = self._open.get(start)
        if w is None:
            w = self._open[start] = _Window(start_ms=start, end_ms=end)
        return w

    def add_sample(self, s: RawSample) -> None:
        w = self._window(s.ts_ms)
        w.samples += 1
        if s.current_a is not None:
            w.n += 1
            w.current_sum_a += s.current_a
            w.current_max_a = s.current_a if w.current_max_a is None else max(w.current_max_a, s.current_a)
        if s.speed_spm is not None:
            w.speed_n += 1
            w.speed_sum_spm += s.speed_spm
        gap = self._last_ts_ms is not None and s.ts_ms - self._last_ts_ms > self.outage_gap_ms
        if gap and self._last_ts_ms is not None:  # the last sample covered [ts, ts + 1 s)
            w.unobserved_ms += s.ts_ms - self._last_ts_ms - 1000
        self._last_ts_ms = s.ts_ms
        if s.stitches_total is not None:
            _count(w, "stitches", counter_delta(self._last_stitches, s.stitches_total), unobserved=gap)
            self._last_stitches = w.stitches_total = s.stitches_total
        if s.pieces_total is not None:
            _count(w, "pieces", counter_delta(self._last_pieces, s.pieces_total), unobserved=gap)
            self._last_pieces = w.pieces_total = s.pieces_total

    def add_slice(self, s: Slice) -> None:
        t = s.start_ms
        while t < s.end_ms:
            w = self._window(t)
            end = min(s.end_ms, w.start_ms + self.period_ms)
            w.ms[s.state.value] = w.ms.get(s.state.value, 0) + (end - t)
            t = end

    def close_until(self, watermark_ms: int) -> list[tuple[int, dict[str, int | float]]]:
        """Emit (period start ms, metrics) of every open period that ends at or before ``watermark_ms``."""
        done = [k for k in sorted(self._open) if self._open[k].end_ms <= watermark_ms]
        while len(self._open) - len(done) > MAX_OPEN_PERIODS:
            done.append(min(k for k in self._open if k not in done))
        return [(k, self._metrics(self._open.pop(k))) for k in done]

    def close_all(self, *, until_ms: int) -> list[tuple[int, dict[str, int | float]]]:
        """Emit every open period now, cut at ``until_ms`` (end of stream, e.g. the agent stops).

        A cut period reports ``period_s`` up to ``until_ms`` only; samples that arrive later for the
        rest of that period form a new window starting at ``until_ms``."""
        out = []
        for k in sorted(self._open):
            w = self._open.pop(k)
            w.end_ms = max(w.start_ms, min(w.end_ms, until_ms))
            out.append((k, self._metrics(w)))
        self._floor_ms = until_ms
        return out

    def _metrics(self, w: _Window) -> dict[str, int | float]:
        """The period's sewing-machine metrics (contract names), those without a value left out."""

        def secs(state: MachineState) -> float:
            return w.ms.get(state.value, 0) / 1000.0

        metrics = dict(
            current_a=round(w.current_sum_a / w.n, 4) if w.n else None,
            current_max_a=w.current_max_a,
            speed_spm=round(w.speed_sum_spm / w.speed_n, 2) if w.speed_n else None,
            stitches_total=w.stitches_total,
            pieces_total=w.pieces_total,
            stitches=w.stitches,
            pieces=w.pieces,
            stitches_unobserved=w.stitches_unobserved,
            pieces_unobserved=w.pieces_unobserved,
            unobserved_s=w.unobserved_ms / 1000.0 if w.unobserved_ms else None,
            run_s=secs(MachineState.RUNNING),
            idle_s=secs(MachineState.IDLE),
            off_s=secs(MachineState.OFF),
            down_s=secs(MachineState.DOWN),
            period_s=(w.end_ms - w.start_ms) / 1000.0,
            samples=w.samples,
        )
        return {k: v for k, v in metrics.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        return {
            "open": [asdict(w) for w in self._open.values()],
            "last_stitches": self._last_stitches,
            "last_pieces": self._last_pieces,
            "last_ts_ms": self._last_ts_ms,
            "floor_ms": self._floor_ms,
        }

    @classmethod
    def from_dict(cls, period_s: int, d: dict[str, Any], *, outage_gap_s: float = 300.0) -> PeriodAggregator:
        a = cls(period_s, outage_gap_s=outage_gap_s)
        for wd in d.get("open", []):
            w = _Window(**wd)
            if not w.end_ms:  # checkpoints written before windows carried their end
                w.end_ms = w.start_ms - w.start_ms % a.period_ms + a.period_ms
            a._open[w.start_ms] = w
        a._floor_ms = d.get("floor_ms")
        a._last_ts_ms = d.get("last_ts_ms")
        a._last_stitches = d.get("last_stitches")
        a._last_pieces = d.get("last_pieces")
        return a


Output = StatePayload | DataPayload


def _aggregate(start_ms: int, seq: int, metrics: dict[str, int | float]) -> DataPayload:
    return DataPayload(AssetKind.SEWING_MACHINE, (DataSample(ts_ms=start_ms, seq=seq, metrics=metrics),))


@dataclass(slots=True)
class Totals:
    """Time in each state (s) over everything this derivation has decided."""

    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, s: Slice) -> None:
        self.seconds[s.state.value] = self.seconds.get(s.state.value, 0.0) + s.duration_s


class MachineDerivation:
    """Samples and andon events of one machine in, contract messages with the agent's seq out.

    Holds everything that must survive a restart — the state tracker, the open periods, the
    upstream seq counter and the last processed device times — and round-trips it via
    :meth:`to_bytes` / :meth:`from_bytes`. Redelivered input (device time at or before the last
    processed one) is skipped and counted in ``skipped``.
    """

    def __init__(self, *, thresholds: Thresholds, period_s: int) -> None:
        self.thresholds = thresholds
        self.period_s = period_s
        self.tracker = StateTracker(thresholds)
        self.aggregator = PeriodAggregator(period_s, outage_gap_s=thresholds.outage_gap_s)
        self.seq = 0  # the next upstream seq number of this asset
        self.last_sample_ts_ms: int | None = None
        self.last_andon_ts_ms: int | None = None
        self.last_change_ts_ms: int | None = None  # of the last state change emitted
        self.skipped = 0
        self.totals = Totals()  # not checkpointed: an in-process diagnostic
        self.timeline = EventTimeline(thresholds.stop_threshold_s)  # the published changes, for the split

    def process(self, items: Iterable[RawSample | Andon]) -> list[Output]:
        """Process ``items`` in device-time order (sorted here; andon before a sample at the same ms)."""
        out: list[Output] = []
        ordered = sorted(items, key=lambda i: (i.ts_ms, isinstance(i, RawSample)))
        for item in ordered:
            if isinstance(item, Andon):
                if self.last_andon_ts_ms is not None and item.ts_ms <= self.last_andon_ts_ms:
                    self.skipped += 1
                    continue
                self.last_andon_ts_ms = item.ts_ms
                step = self.tracker.on_andon(item.ts_ms, item.state, item.reason)
            else:
                if self.last_sample_ts_ms is not None and item.ts_ms <= self.last_sample_ts_ms:
                    self.skipped += 1
                    continue
                self.last_sample_ts_ms = item.ts_ms
                self.aggregator.add_sample(item)
                step = self.tracker.on_sample(item.ts_ms, item.current_a, item.speed_spm)
            out += self._emit(step.slices, step.changes)
        return out

    def flush(self) -> list[Output]:
        """End of stream: decide held samples and emit every open period as a partial aggregate.

        Used when the agent stops gracefully, so nothing it has seen waits in a checkpoint for a
        sample that may never come. The next sample starts afresh."""
        step = self.tracker.flush()
        out = self._emit(step.slices, step.changes)
        ends = [s.end_ms for s in step.slices]
        if self.last_sample_ts_ms is not None:
            ends.append(self.last_sample_ts_ms + 1000)
        if ends:
            for start_ms, metrics in self.aggregator.close_all(until_ms=max(ends)):
                out.append(_aggregate(start_ms, self._next_seq(), self._split(start_ms, metrics, None)))
        return out

    def _split(self, start_ms: int, metrics: dict[str, int | float], decided_ms: int | None) -> dict[str, int | float]:
        """The period's metrics plus its event-timeline split (:mod:`edge_agent.stop_split`) when
        every event before its end is known (``decided_ms`` ``None``: all are, e.g. at a flush).
        A period emitted earlier (device time jumped past ``MAX_OPEN_PERIODS``) goes without it,
        and the rules read its events instead."""
        end_ms = start_ms + round(float(metrics.get("period_s", 0)) * 1000)
        if decided_ms is not None and decided_ms < end_ms:
            return metrics
        split = self.timeline.split(start_ms, end_ms)
        return {**metrics, **split.metrics(self.thresholds.stop_threshold_s)}

    def _emit(self, slices: tuple[Slice, ...], changes: tuple[StateChange, ...]) -> list[Output]:
        out: list[Output] = []
        for c in changes:
            # A time-series store keys points by (series, time): two changes of one machine in the
            # same millisecond (repaired, then off at lunch) would overwrite each other. Keep event
            # times strictly increasing; 1 ms is far below any KPI's resolution.
            ts_ms = c.ts_ms if self.last_change_ts_ms is None else max(c.ts_ms, self.last_change_ts_ms + 1)
            self.last_change_ts_ms = ts_ms
            out.append(
                StatePayload(
                    ts_ms=ts_ms,
                    seq=self._next_seq(),
                    state=c.state,
                    previous=c.previous,
                    previous_duration_s=c.previous_duration_s,
                    reason=c.reason,
                )
            )
            self.timeline.add(ts_ms, c.state, c.reason)
        for s in slices:
            self.aggregator.add_slice(s)
            self.totals.add(s)
        if slices:
            # A period waits until its events are final too (an idle candidate is stamped back to
            # where it began, up to idle_after_s earlier): its split needs every event before its end.
            pending = self.tracker.events_pending_since_ms()
            decided = slices[-1].end_ms if pending is None else min(slices[-1].end_ms, pending)
            for start_ms, metrics in self.aggregator.close_until(decided):
                out.append(_aggregate(start_ms, self._next_seq(), self._split(start_ms, metrics, decided)))
        return out

    def _next_seq(self) -> int:
        seq, self.seq = self.seq, self.seq + 1
        return seq

    def to_bytes(self) -> bytes:
        blob = orjson.dumps(
            {
                "v": CHECKPOINT_VERSION,
                "seq": self.seq,
                "last_sample_ts_ms": self.last_sample_ts_ms,
                "last_andon_ts_ms": self.last_andon_ts_ms,
                "last_change_ts_ms": self.last_change_ts_ms,
                "tracker": self.tracker.to_dict(),
                "aggregator": self.aggregator.to_dict(),
                "timeline": self.timeline.to_dict(),
            }
        )
        # orjson's bytes keep its whole ~16 KB write buffer however short the JSON (~300 B here):
        # one batch's checkpoints of 200 machines held 3.2 MB of heap, which stayed in the agent's
        # RSS as fragments. An exact-size copy costs ~0.2 us (bench/gateway_footprint.py).
        return bytes(memoryview(blob))

    @classmethod
    def from_bytes(cls, raw: bytes, *, thresholds: Thresholds, period_s: int) -> MachineDerivation:
        """Restore a checkpoint; raises ``ValueError`` if it is not one of ours."""
        d = orjson.loads(raw)
        if not isinstance(d, dict) or d.get("v") != CHECKPOINT_VERSION:
            raise ValueError("not a version-1 machine derivation checkpoint")
        m = cls(thresholds=thresholds, period_s=period_s)
        m.seq = int(d["seq"])
        m.last_sample_ts_ms = d.get("last_sample_ts_ms")
        m.last_andon_ts_ms = d.get("last_andon_ts_ms")
        m.last_change_ts_ms = d.get("last_change_ts_ms")
        m.tracker = StateTracker.from_dict(thresholds, d["tracker"])
        m.aggregator = PeriodAggregator.from_dict(period_s, d["aggregator"], outage_gap_s=thresholds.outage_gap_s)
        # checkpoints from before the split have no timeline: the first periods after the restart
        # then know less (state_known_s) and the rules read their events
        m.timeline = EventTimeline.from_dict(thresholds.stop_threshold_s, d.get("timeline") or {})
        return m
