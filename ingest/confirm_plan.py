"""Pure planning of the platform's confirmations: from the seq values stored per asset, the ranges
to confirm per gateway and the holes to ask for again once they stayed open past a grace period.

Keys: an asset is ``(enterprise, site, area, asset)``; a gateway ``(enterprise, site, gateway_id)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from seamline.contracts import seqranges
from seamline.contracts.seqranges import Range

AssetKey = tuple[str, str, str, str]
GatewayKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Plan:
    confirms: dict[GatewayKey, dict[AssetKey, list[Range]]]  # stored ranges per gateway and asset
    resends: dict[GatewayKey, dict[AssetKey, list[Range]]]  # holes past the grace period
    open_holes: int  # seq values missing between stored ranges, not yet reported lost


@dataclass(slots=True)
class HoleTracker:
    """When each hole was first seen and last asked for; what was asked and has since been filled
    counts as repaired."""

    first_seen: dict[tuple[AssetKey, Range], float] = field(default_factory=dict)
    asked: dict[tuple[AssetKey, Range], float] = field(default_factory=dict)
    requested: dict[AssetKey, list[Range]] = field(default_factory=dict)
    repaired_seqs: int = 0
    repaired_ranges: list[tuple[AssetKey, Range]] = field(default_factory=list)

    def update(self, stored: Mapping[AssetKey, list[Range]]) -> None:
        """Count as repaired what was requested and is stored now."""
        for asset, wanted in list(self.requested.items()):
            have = stored.get(asset, [])
            still = seqranges.subtract(wanted, have)
            filled = seqranges.subtract(wanted, still)
            if filled:
                self.repaired_seqs += seqranges.count(filled)
                self.repaired_ranges += [(asset, r) for r in filled]
            if still:
                self.requested[asset] = still
            else:
                del self.requested[asset]


def plan(
    stored: Mapping[AssetKey, list[Range]], gateway_of: Mapping[AssetKey, str],
    lost: Mapping[AssetKey, list[Range]], tracker: HoleTracker, *, now_s: float, grace_s: float,
) -> Plan:
    """What to publish now. Assets whose gateway is unknown (no birth stored yet) wait."""
    tracker.update(stored)
    confirms: dict[GatewayKey, dict[AssetKey, list[Range]]] = {}
    resends: dict[GatewayKey, dict[AssetKey, list[Range]]] = {}
    seen: set[tuple[AssetKey, Range]] = set()
    open_seqs = 0
    for asset, ranges in stored.items():
        gw = gateway_of.get(asset)
        if gw is None or not ranges:
            continue
        gkey = (asset[0], asset[1], gw)
        confirms.setdefault(gkey, {})[asset] = ranges
        for hole in seqranges.subtract(seqranges.gaps(ranges), lost.get(asset, [])):
            key = (asset, hole)
            seen.add(key)
            open_seqs += hole[1] - hole[0] + 1
            first = tracker.first_seen.setdefault(key, now_s)
            if now_s - first < grace_s or now_s - tracker.asked.get(key, -1e18) < grace_s:
                continue
            tracker.asked[key] = now_s
            resends.setdefault(gkey, {}).setdefault(asset, []).append(hole)
            tracker.requested[asset] = seqranges.merge([*tracker.requested.get(asset, []), hole])
    for key in set(tracker.first_seen) - seen:
        tracker.first_seen.pop(key, None)
        tracker.asked.pop(key, None)
    return Plan(confirms=confirms, resends=resends, open_holes=open_seqs)


def ranges_by_asset(rows: Iterable[tuple[AssetKey, int]]) -> dict[AssetKey, list[Range]]:
    values: dict[AssetKey, list[int]] = {}
    for asset, seq in rows:
        values.setdefault(asset, []).append(seq)
    return {a: seqranges.from_values(v) for a, v in values.items()}
