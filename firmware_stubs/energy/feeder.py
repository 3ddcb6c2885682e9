"""What a meter on a device's AC feeder sees: the device's steps kept as a bounded history of
lifetime energies, read back at any instant (pure; the device holds its own lock around it).

A device's power is constant over each physics step, so its lifetime energies are linear inside
a step and exact at any instant in between: a feeder meter reading them counts what the device
really stepped with, wherever its own steps fall.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

# Steps kept. Every step of a battery is driven by some read (its own, the grid meter's, the feeder
# meter's, the truth recorder's), so between two reads of the feeder meter a few dozen steps at
# most; 512 covers a feeder meter that lags far behind the rest.
FLOW_HISTORY_MAX = 512


@dataclass(frozen=True, slots=True)
class FeederFlow:
    """A feeder seen from the grid side at one instant: ``power_w`` + import / - export, lifetime
    ``import_wh`` / ``export_wh`` (Wh) through the feeder."""

    power_w: float
    import_wh: float
    export_wh: float


@dataclass(slots=True)
class FlowHistory:
    """(ts_ms, flow over the step ending at ts_ms), oldest first, at most ``FLOW_HISTORY_MAX``."""

    _steps: deque[tuple[int, FeederFlow]] = field(default_factory=lambda: deque(maxlen=FLOW_HISTORY_MAX))
    misses: int = 0  # readings older than the kept history: served the oldest (late, never lost)

    def record(self, ts_ms: int, flow: FeederFlow) -> None:
        self._steps.append((ts_ms, flow))

    def at(self, ts_ms: int) -> FeederFlow:
        """The flow at ``ts_ms``: interpolated inside a step, held past the last one."""
        steps = self._steps
        if not steps:
            return FeederFlow(0.0, 0.0, 0.0)
        if ts_ms >= steps[-1][0]:
            return steps[-1][1]
        if ts_ms <= steps[0][0]:
            if len(steps) == steps.maxlen:
                self.misses += 1
            return steps[0][1]
        i = len(steps) - 1  # readers ask near the end: walk back from there
        while steps[i - 1][0] >= ts_ms:
            i -= 1
        (t0, a), (t1, b) = steps[i - 1], steps[i]
        f = (ts_ms - t0) / (t1 - t0)
        return FeederFlow(b.power_w, a.import_wh + (b.import_wh - a.import_wh) * f,
                          a.export_wh + (b.export_wh - a.export_wh) * f)
