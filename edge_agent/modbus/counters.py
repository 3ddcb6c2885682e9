"""Lifetime counters across register rollover and device restarts (pure).

A register counter of ``bits`` width wraps to 0 after ``2**bits - 1``. A backward step is a wrap
if the implied forward step (``raw + 2**bits - previous``) is plausible (<= max_step); any other
backward step is a device restart (counter reset or restored from an older backup). After a
restart the published total continues from where it was, never jumping back or leaping ahead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from seamline.edge_agent.modbus.profile import CounterSettings, RestartPolicy


@dataclass
class CounterTracker:
    bits: int
    settings: CounterSettings = field(default_factory=CounterSettings)
    _last_raw: int | None = None
    _total: float = 0.0
    wraps: int = 0
    restarts: int = 0
    glitches: int = 0

    def update(self, raw: int | None, scale: float = 1.0) -> float | None:
        """Feed one raw register reading; return the continuous total (raw units x ``scale``),
        or None if the reading is missing. The first reading is taken as the total as is."""
        if raw is None:
            return None  # not implemented / not available: missing, never the last value
        if self._last_raw is None:
            self._last_raw, self._total = raw, float(raw)
            return self._total * scale
        step = raw - self._last_raw
        if step < 0:
            wrapped = raw + (1 << self.bits) - self._last_raw
            if self.settings.unwrap and wrapped * scale <= self.settings.max_step_wh:
                step = wrapped
                self.wraps += 1
            else:
                self.restarts += 1
                step = raw if self.settings.restart is RestartPolicy.FROM_ZERO else 0
        elif step * scale > self.settings.max_step_wh:
            self.glitches += 1  # a corrupt read: skip it, keep the last good reading as reference
            return self._total * scale
        self._last_raw = raw
        self._total += step
        return self._total * scale
