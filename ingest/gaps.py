"""Per-asset sequence-gap detection (pure, bounded).

Each asset has one ``seq`` counter shared by its data samples and state events. A forward jump of
more than one is a gap: samples the device produced that never reached this worker.

Caveat: with several ingest workers on one shared subscription an asset's messages are split
between workers, so each worker sees jumps that another worker filled: per-worker detection then
reports false gaps. Turn it off (``gaps.enabled: false``) when running more than one worker; the
rules engine computes coverage authoritatively from the stored ``seq`` values either way.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AssetKey:
    enterprise: str
    site: str
    area: str
    asset: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Gap:
    key: AssetKey
    from_seq: int  # last seq seen before the gap
    to_seq: int  # first seq seen after it
    ts_ms: int  # time of the sample after the gap (UTC ms)

    @property
    def missing(self) -> int:
        return self.to_seq - self.from_seq - 1


class GapTracker:
    """Remembers the last ``(seq, ts_ms)`` per asset, at most ``max_assets`` (least recently seen
    evicted first and counted in :attr:`evicted`)."""

    def __init__(self, *, max_assets: int) -> None:
        if max_assets < 1:
            raise ValueError("max_assets must be >= 1")
        self._max_assets = max_assets
        self._last: OrderedDict[AssetKey, tuple[int, int]] = OrderedDict()
        self.evicted = 0
        self.gaps = 0
        self.out_of_order = 0  # duplicates, late arrivals and counter resets

    def __len__(self) -> int:
        return len(self._last)

    def observe(self, key: AssetKey, seq: int, ts_ms: int) -> Gap | None:
        """Record ``seq`` (sample time ``ts_ms``) of ``key``; return the gap it closes, if any.

        A seq at or below the last one is a duplicate or a late arrival (ignored) unless its time is
        later than the last one's: then the device restarted its counter and we follow it.
        """
        last = self._last.get(key)
        if last is None:
            self._remember(key, seq, ts_ms)
            return None
        self._last.move_to_end(key)
        last_seq, last_ts = last
        if seq == last_seq + 1:
            self._last[key] = (seq, ts_ms)
            return None
        if seq <= last_seq:
            self.out_of_order += 1
            if ts_ms > last_ts:
                self._last[key] = (seq, ts_ms)
            return None
        self._last[key] = (seq, ts_ms)
        self.gaps += 1
        return Gap(key=key, from_seq=last_seq, to_seq=seq, ts_ms=ts_ms)

    def _remember(self, key: AssetKey, seq: int, ts_ms: int) -> None:
        self._last[key] = (seq, ts_ms)
        while len(self._last) > self._max_assets:
            self._last.popitem(last=False)
            self.evicted += 1
