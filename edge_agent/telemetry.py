"""Self-telemetry of the edge agent: its counters and the ``GatewayData`` message built from them
(as :class:`edge_agent.wire.DataPayload` of asset kind ``gateway``).

Published like any asset's data (Priority.TELEMETRY, dropped first when the spool is full) on
``Topic.gateway(..., kind=DATA)``. Counters are since agent start (a restart resets them, as
Prometheus counters do); the spool's drop counter is persistent (it lives in the spool file).
"""

from __future__ import annotations

from dataclasses import dataclass

from seamline.contracts.kinds import AssetKind
from seamline.edge_agent.spool import SpoolStats
from seamline.edge_agent.uplink import UplinkStats
from seamline.edge_agent.wire import DataPayload, DataSample


@dataclass(slots=True)
class Counters:
    samples_in: int = 0  # raw samples accepted from the local broker
    rejected_in: int = 0  # local messages that failed contract validation
    committed: int = 0  # messages this agent committed to the spool


class TelemetryClock:
    """Due every ``interval_s`` of wall time; the first report goes out at the first check."""

    def __init__(self, *, interval_s: float) -> None:
        self.interval_ms = round(interval_s * 1000)
        self._next_ms: int | None = None

    def due(self, now_ms: int) -> bool:
        if self._next_ms is not None and now_ms < self._next_ms:
            return False
        # Skip missed ticks instead of bursting them after a stall.
        self._next_ms = now_ms + self.interval_ms
        return True


def telemetry_message(
    *, ts_ms: int, seq: int, spool: SpoolStats, uplink: UplinkStats | None, counters: Counters
) -> DataPayload:
    """One self-telemetry sample; ``ts_ms`` is the agent's wall clock (UTC ms)."""
    oldest_age_s = None if spool.oldest_created_ms is None else max(0.0, (ts_ms - spool.oldest_created_ms) / 1000)
    metrics = dict(
        spool_messages=spool.messages,
        spool_bytes=spool.bytes,
        spool_oldest_age_s=oldest_age_s,
        published=uplink.acked_total if uplink else None,
        dropped=spool.dropped_total,
        reconnects=uplink.reconnects if uplink else None,
        samples_in=counters.samples_in,
        rejected_in=counters.rejected_in,
    )
    values = {k: v for k, v in metrics.items() if v is not None}
    return DataPayload(AssetKind.GATEWAY, (DataSample(ts_ms=ts_ms, seq=seq, metrics=values),))
