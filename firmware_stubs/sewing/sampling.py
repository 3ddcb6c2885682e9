"""Vectorised 1-second node samples from a true timeline (pure numpy, no I/O).

A sample covers ``[ts_ms, ts_ms + period_ms)``. Its current is the RMS of the true current over
that window, computed exactly from the piecewise-constant timeline (so a short burst yields a
realistic partial second), plus sensor noise. Speed is the mean needle speed over the window;
``stitches_total`` and ``pieces_total`` are the node's counters at the window's end.

Noise is drawn per chunk of ``NOISE_CHUNK`` samples from its own seeded stream, so samples are
identical whether a caller materialises the whole window or streams it chunk by chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Samples per noise stream; also the natural streaming chunk (one hour at 1 Hz).
NOISE_CHUNK = 3600

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SampleBlock:
    """Consecutive samples as arrays of equal length."""

    ts_ms: I64
    seq: I64
    current_a: F64
    speed_spm: F64
    stitches_total: I64
    pieces_total: I64

    def __len__(self) -> int:
        return len(self.ts_ms)


class TimelineSampler:
    """Samples of one machine. Segment arrays must tile ``[start_ms, end_ms)`` in order."""

    def __init__(
        self,
        *,
        seg_start_ms: I64,
        seg_end_ms: I64,
        level_a: F64,
        speed_spm: F64,
        powered: npt.NDArray[np.bool_],
        pieces_ms: I64,
        andon_ts_ms: I64,
        period_ms: int,
        noise_a: float,
        off_noise_a: float,
        noise_seed: int,
    ) -> None:
        self.start_ms = int(seg_start_ms[0])
        self.period_ms = period_ms
        self.count = int((int(seg_end_ms[-1]) - self.start_ms) // period_ms)
        # Integrals at segment boundaries, relative to start for float precision.
        self._knots = np.concatenate([seg_start_ms, seg_end_ms[-1:]]).astype(np.float64) - self.start_ms
        dur = (seg_end_ms - seg_start_ms).astype(np.float64)
        zero = np.zeros(1)
        self._i2 = np.concatenate([zero, np.cumsum(level_a * level_a * dur)])  # A²·ms
        self._st = np.concatenate([zero, np.cumsum(speed_spm / 60_000.0 * dur)])  # stitches
        self._pw = np.concatenate([zero, np.cumsum(powered.astype(np.float64) * dur)])  # ms powered
        self._pieces = np.asarray(pieces_ms, dtype=np.int64)
        self._andon = np.asarray(andon_ts_ms, dtype=np.int64)
        self._noise_a = noise_a
        self._off_noise_a = off_noise_a
        self._noise_seed = noise_seed

    def _integral(self, cum: F64, x: F64) -> F64:
        return np.asarray(np.interp(x, self._knots, cum), dtype=np.float64)

    def _noise(self, k0: int, k1: int) -> F64:
        parts = []
        for c in range(k0 // NOISE_CHUNK, (k1 - 1) // NOISE_CHUNK + 1):
            z = np.random.default_rng([self._noise_seed, c]).standard_normal(NOISE_CHUNK)
            lo, hi = max(k0, c * NOISE_CHUNK) - c * NOISE_CHUNK, min(k1, (c + 1) * NOISE_CHUNK) - c * NOISE_CHUNK
            parts.append(z[lo:hi])
        return np.concatenate(parts)

    def block(self, k0: int, k1: int) -> SampleBlock:
        """Samples with index ``k0 <= k < k1`` (index 0 starts at the window start)."""
        k1 = min(k1, self.count)
        if not 0 <= k0 < k1:
            raise ValueError(f"empty or invalid sample range {k0}..{k1} of {self.count}")
        k = np.arange(k0, k1, dtype=np.int64)
        a = (k * self.period_ms).astype(np.float64)
        b = a + self.period_ms
        rms = np.sqrt(np.maximum(self._integral(self._i2, b) - self._integral(self._i2, a), 0.0) / self.period_ms)
        powered_frac = (self._integral(self._pw, b) - self._integral(self._pw, a)) / self.period_ms
        sd = self._off_noise_a + (self._noise_a - self._off_noise_a) * powered_frac
        current: F64 = np.round(np.abs(rms + sd * self._noise(k0, k1)), 3).astype(np.float64)
        stitches_b = self._integral(self._st, b)
        speed = np.round((stitches_b - self._integral(self._st, a)) * 60_000.0 / self.period_ms, 1)
        ts = self.start_ms + k * self.period_ms
        return SampleBlock(
            ts_ms=ts,
            # One counter for samples and andon events, in timestamp order (andon first on a tie).
            seq=k + np.searchsorted(self._andon, ts, side="right"),
            current_a=current,
            speed_spm=speed,
            stitches_total=np.floor(stitches_b + 1e-6).astype(np.int64),
            pieces_total=np.searchsorted(self._pieces, ts + self.period_ms, side="left").astype(np.int64),
        )

    def blocks(self, chunk: int = NOISE_CHUNK) -> list[tuple[int, int]]:
        """Index ranges covering all samples in chunks of ``chunk``."""
        return [(k, min(k + chunk, self.count)) for k in range(0, self.count, chunk)]

    def andon_seq(self, ts_ms: int, index: int) -> int:
        """Seq of the ``index``-th andon event (at ``ts_ms``): samples strictly before it come first."""
        before = 0 if ts_ms <= self.start_ms else min(self.count, -(-(ts_ms - self.start_ms) // self.period_ms))
        return index + before

    def final_stitches(self) -> int:
        """The stitch counter at the end of the last sample window."""
        end = np.array([float(self.count * self.period_ms)])
        return int(np.floor(self._integral(self._st, end)[0] + 1e-6))
