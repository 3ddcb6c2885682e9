"""Piecewise-constant power over time and its exact running energy (pure numpy).

A load of the simulated factory (a machine's motor, the irons, the lights) is constant between
known instants, so its energy up to any instant is exact: the integral of a step function. A
meter that counts ``energy_wh(t1) - energy_wh(t0)`` per step therefore counts exactly what the
components drew, whatever its step grid, and the same numbers are the truth the tests hold the
pipeline against.

Outside the profile's span the power is held: the first step's power before it, the last step's
after it (a meter polled a little after the simulated window keeps counting the night load).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
MS_PER_H = 3_600_000.0


@dataclass(frozen=True, slots=True, eq=False)
class PowerProfile:
    """Power ``power_w[i]`` (W) on ``[t_ms[i], t_ms[i + 1])`` (UTC ms); ``cum_wh[i]`` is the
    energy (Wh) from ``t_ms[0]`` to ``t_ms[i]``. ``t_ms`` strictly increasing, one longer than
    ``power_w``."""

    t_ms: I64
    power_w: F64
    cum_wh: F64

    def __post_init__(self) -> None:
        if len(self.t_ms) != len(self.power_w) + 1 or len(self.cum_wh) != len(self.t_ms) or len(self.power_w) < 1:
            raise ValueError("a power profile needs n + 1 knots, n >= 1 powers and n + 1 energies")

    @classmethod
    def constant(cls, start_ms: int, end_ms: int, watts: float) -> PowerProfile:
        return cls.from_intervals(start_ms, end_ms, [start_ms], [end_ms], [watts])

    @classmethod
    def from_intervals(cls, start_ms: int, end_ms: int, starts: Sequence[int] | I64, ends: Sequence[int] | I64,
                       watts: Sequence[float] | F64) -> PowerProfile:
        """The sum of ``watts[k]`` drawn over ``[starts[k], ends[k])``, clipped to
        ``[start_ms, end_ms)``; intervals may overlap (they add up) and come in any order."""
        if end_ms <= start_ms:
            raise ValueError(f"empty profile span {start_ms}..{end_ms}")
        s = np.clip(np.asarray(starts, dtype=np.int64), start_ms, end_ms)
        e = np.clip(np.asarray(ends, dtype=np.int64), start_ms, end_ms)
        w = np.asarray(watts, dtype=np.float64)
        keep = e > s
        s, e, w = s[keep], e[keep], w[keep]
        times = np.concatenate([s, e, np.array([start_ms, end_ms], dtype=np.int64)])
        deltas = np.concatenate([w, -w, np.zeros(2)])
        order = np.argsort(times, kind="stable")
        times, deltas = times[order], deltas[order]
        knots, first = np.unique(times, return_index=True)
        level = np.cumsum(deltas)
        # the power after all changes at a knot: the running sum at the knot's last change
        last = np.append(first[1:], len(times)) - 1
        power = np.round(level[last][:-1], 9)  # 1e-9 W: cancelling +w/-w leaves no float dust
        return cls._of(knots, power)

    @classmethod
    def _of(cls, knots: I64, power: F64) -> PowerProfile:
        cum = np.concatenate([np.zeros(1), np.cumsum(power * np.diff(knots).astype(np.float64) / MS_PER_H)])
        return cls(knots, power, cum)

    @classmethod
    def sum(cls, profiles: Iterable[PowerProfile]) -> PowerProfile:
        """The profile of several loads drawing at once (exact: energies add knot by knot)."""
        ps = list(profiles)
        if not ps:
            raise ValueError("sum of no profiles")
        knots = np.unique(np.concatenate([p.t_ms for p in ps]))
        power = np.zeros(len(knots) - 1)
        cum = np.zeros(len(knots))
        for p in ps:
            power += p.power_at_many(knots[:-1])
            cum += p.energy_at_many(knots)
        return cls(knots, power, cum)

    @property
    def start_ms(self) -> int:
        return int(self.t_ms[0])

    @property
    def end_ms(self) -> int:
        return int(self.t_ms[-1])

    def power_at_many(self, ts_ms: I64) -> F64:
        idx = np.clip(np.searchsorted(self.t_ms, ts_ms, side="right") - 1, 0, len(self.power_w) - 1)
        return np.asarray(self.power_w[idx], dtype=np.float64)

    def energy_at_many(self, ts_ms: I64) -> F64:
        t = np.asarray(ts_ms, dtype=np.int64)
        inside = np.interp(t.astype(np.float64), self.t_ms.astype(np.float64), self.cum_wh)
        before = self.cum_wh[0] - self.power_w[0] * (self.t_ms[0] - t) / MS_PER_H
        after = self.cum_wh[-1] + self.power_w[-1] * (t - self.t_ms[-1]) / MS_PER_H
        return np.asarray(np.where(t < self.t_ms[0], before, np.where(t > self.t_ms[-1], after, inside)),
                          dtype=np.float64)

    def power_w_at(self, ts_ms: int) -> float:
        """Power (W) at ``ts_ms``: the step that contains it (held outside the span)."""
        i = int(np.searchsorted(self.t_ms, ts_ms, side="right")) - 1
        return float(self.power_w[min(max(i, 0), len(self.power_w) - 1)])

    def energy_wh(self, ts_ms: int) -> float:
        """Energy (Wh) drawn from the profile's start to ``ts_ms`` (negative before the start)."""
        return float(self.energy_at_many(np.array([ts_ms], dtype=np.int64))[0])

    def energy_between_wh(self, start_ms: int, end_ms: int) -> float:
        """Energy (Wh) drawn in ``[start_ms, end_ms)``."""
        return self.energy_wh(end_ms) - self.energy_wh(start_ms)
