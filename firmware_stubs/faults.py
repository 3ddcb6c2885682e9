"""Fault injection for simulated nodes: configuration, a concrete deterministic schedule, garbage
payloads and the log of what was done (the fault part of the truth).

Faults:
- **disconnect**: the node is offline for a window; what it produces meanwhile is kept in a ring
  buffer of ``buffer_samples`` events (0 = a tiny ESP32 that keeps nothing) and sent on reconnect;
  anything that does not fit is lost and logged by seq.
- **garbage**: bursts of invalid payloads on the node's data topic (invalid JSON, wrong types,
  NaN, huge values, wrong schema version). They carry no new seq.
- **clock skew**: device timestamps are offset by ``clock_skew_s`` (truth stays in true time).
- **duplicates**: a message is sent twice, byte for byte (same seqs).
"""

from __future__ import annotations

import bisect
import enum
import json
import random
from dataclasses import dataclass, field

import orjson


class GarbageKind(enum.StrEnum):
    INVALID_JSON = "invalid_json"
    WRONG_TYPES = "wrong_types"
    NAN = "nan"
    HUGE = "huge"
    WRONG_SCHEMA_VERSION = "wrong_schema_version"


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultPlan:
    """What faults a node suffers. Rates are per hour of simulated time."""

    disconnect_rate_per_h: float = 0.0
    disconnect_min_s: float = 30.0
    disconnect_max_s: float = 300.0
    disconnect_windows_ms: tuple[tuple[int, int], ...] = ()  # explicit windows, in addition
    buffer_samples: int = 0  # events kept while offline (ring buffer, oldest dropped)
    garbage_rate_per_h: float = 0.0
    garbage_burst: int = 3  # payloads per burst
    garbage_kinds: tuple[GarbageKind, ...] = tuple(GarbageKind)
    clock_skew_s: float = 0.0
    duplicate_prob: float = 0.0  # per message

    def __post_init__(self) -> None:
        if self.disconnect_rate_per_h < 0 or self.garbage_rate_per_h < 0:
            raise ValueError("fault rates must be >= 0")
        if not 0 < self.disconnect_min_s <= self.disconnect_max_s:
            raise ValueError("need 0 < disconnect_min_s <= disconnect_max_s")
        if self.buffer_samples < 0 or self.garbage_burst < 1 or not self.garbage_kinds:
            raise ValueError("buffer_samples >= 0, garbage_burst >= 1 and garbage_kinds non-empty")
        if not 0 <= self.duplicate_prob < 1:
            raise ValueError("duplicate_prob must be in [0, 1)")
        for s, e in self.disconnect_windows_ms:
            if not s < e:
                raise ValueError(f"disconnect window {s}..{e}: start must be before end")


NO_FAULTS = FaultPlan()


@dataclass(frozen=True, slots=True)
class FaultSchedule:
    """Concrete faults of one node over one window (all times UTC epoch ms)."""

    offline: tuple[tuple[int, int], ...]  # sorted, disjoint [start, end)
    garbage: tuple[tuple[int, GarbageKind], ...]  # sorted by time
    skew_ms: int
    duplicate_prob: float
    buffer_samples: int

    def offline_window(self, t_ms: int) -> tuple[int, int] | None:
        """The offline window containing ``t_ms``, if any."""
        i = bisect.bisect_right(self.offline, (t_ms, 2**62)) - 1
        if i >= 0 and self.offline[i][0] <= t_ms < self.offline[i][1]:
            return self.offline[i]
        return None


def _poisson_times(rng: random.Random, start_ms: int, end_ms: int, rate_per_h: float) -> list[int]:
    out: list[int] = []
    if rate_per_h <= 0:
        return out
    t = float(start_ms)
    while True:
        t += rng.expovariate(rate_per_h) * 3_600_000
        if t >= end_ms:
            return out
        out.append(int(t))


def _merge(windows: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(windows):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return tuple(merged)


def schedule_faults(plan: FaultPlan, *, start_ms: int, end_ms: int, rng: random.Random) -> FaultSchedule:
    """Draw the concrete fault schedule of ``plan`` over ``[start_ms, end_ms)``."""
    windows = [
        (t, t + int(rng.uniform(plan.disconnect_min_s, plan.disconnect_max_s) * 1000))
        for t in _poisson_times(rng, start_ms, end_ms, plan.disconnect_rate_per_h)
    ]
    garbage = [
        (t, rng.choice(plan.garbage_kinds))
        for t in _poisson_times(rng, start_ms, end_ms, plan.garbage_rate_per_h)
        for _ in range(plan.garbage_burst)
    ]
    return FaultSchedule(
        offline=_merge(windows + list(plan.disconnect_windows_ms)),
        garbage=tuple(garbage),
        skew_ms=round(plan.clock_skew_s * 1000),
        duplicate_prob=plan.duplicate_prob,
        buffer_samples=plan.buffer_samples,
    )


def garbage_payload(kind: GarbageKind, *, ts_ms: int, seq: int) -> bytes:
    """An invalid data payload of ``kind``; none of them passes ``contracts.messages.parse_data``."""
    metrics = {"current_a": 1.0, "speed_spm": 0.0, "stitches_total": 0, "pieces_total": 0}
    sample: dict[str, object] = {"ts_ms": ts_ms, "seq": seq, "metrics": metrics}
    body: dict[str, object] = {"schema_version": 1, "asset_kind": "sewing_machine", "samples": [sample]}
    if kind is GarbageKind.INVALID_JSON:
        return orjson.dumps(body)[:-7] + b"\x00\xff{"
    if kind is GarbageKind.WRONG_TYPES:
        sample["seq"] = "seven"
        sample["metrics"] = {**metrics, "current_a": [1, 2]}
        return orjson.dumps(body)
    if kind is GarbageKind.NAN:
        # orjson refuses NaN (it writes null), so write the non-standard literal by hand.
        return orjson.dumps(body).replace(b'"current_a":1.0', b'"current_a":NaN')
    if kind is GarbageKind.HUGE:
        metrics["current_a"] = 1e300
        metrics["stitches_total"] = 10**30
        # orjson rejects ints above 64 bits; the stdlib writes them, as a buggy firmware might.
        return json.dumps(body, separators=(",", ":")).encode()
    body["schema_version"] = 2
    return orjson.dumps(body)


@dataclass(slots=True)
class FaultLog:
    """What the faults did to one node (mutable counters, filled while planning its messages)."""

    skew_ms: int = 0
    offline: list[tuple[int, int]] = field(default_factory=list)
    lost: list[tuple[int, int, str]] = field(default_factory=list)  # (seq, ts_ms, "sample"|"andon")
    buffered: int = 0  # events held while offline and sent on reconnect
    buffer_dropped: int = 0  # events pushed out of a full buffer (also in ``lost``)
    duplicated_seqs: list[int] = field(default_factory=list)  # first seq of each duplicated message
    garbage: dict[str, int] = field(default_factory=dict)

    def lost_seq_ranges(self) -> list[tuple[int, int]]:
        """Lost seqs as inclusive ranges."""
        ranges: list[tuple[int, int]] = []
        for seq in sorted(s for s, _, _ in self.lost):
            if ranges and seq == ranges[-1][1] + 1:
                ranges[-1] = (ranges[-1][0], seq)
            else:
                ranges.append((seq, seq))
        return ranges
