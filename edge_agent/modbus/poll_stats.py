"""Counters of the Modbus poller, and the frozen snapshot the edge agent reads."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

LATENCY_WINDOW = 4096  # last N poll durations for percentiles: ~1 h of one device at 1 s


@dataclass(frozen=True, slots=True)
class ModbusStats:
    polls: int
    errors: int  # failed attempts (timeouts, exception responses, refused connects)
    samples: int
    connects: int
    overruns: int  # ticks skipped because a poll outlasted its interval
    invalid_values: int  # decoded values the contract rejected (dropped from their sample)
    offline_devices: tuple[str, ...]
    discovered: dict[str, tuple[int, ...]]  # asset -> SunSpec model ids found
    poll_latency_p50_ms: float | None
    poll_latency_p99_ms: float | None
    poll_latency_max_ms: float | None


@dataclass
class PollStats:
    """Mutable counters; touched only from the poller's event loop thread."""

    polls: int = 0
    errors: int = 0
    samples: int = 0
    connects: int = 0
    overruns: int = 0
    invalid_values: int = 0
    offline: set[str] = field(default_factory=set)
    discovered: dict[str, tuple[int, ...]] = field(default_factory=dict)
    latencies_s: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))

    def record_latency_s(self, _asset: str, seconds: float) -> None:
        self.latencies_s.append(seconds)

    def reset_latencies(self) -> None:
        """Start a new latency window (e.g. once start-up connects and discovery are done)."""
        self.latencies_s.clear()

    def set_offline(self, asset: str, offline: bool) -> None:
        if offline:
            self.offline.add(asset)
        else:
            self.offline.discard(asset)

    def snapshot(self) -> ModbusStats:
        lat = sorted(self.latencies_s)

        def pct(q: float) -> float | None:
            return None if not lat else 1000.0 * lat[min(len(lat) - 1, int(q * len(lat)))]

        return ModbusStats(
            polls=self.polls, errors=self.errors, samples=self.samples, connects=self.connects,
            overruns=self.overruns, invalid_values=self.invalid_values,
            offline_devices=tuple(sorted(self.offline)), discovered=dict(self.discovered),
            poll_latency_p50_ms=pct(0.50), poll_latency_p99_ms=pct(0.99),
            poll_latency_max_ms=None if not lat else 1000.0 * lat[-1],
        )  # fmt: skip
