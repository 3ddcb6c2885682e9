"""What the edge agent's ``/metrics`` says: spool depth, bytes and oldest age, broker connections,
drops and refusals by reason, the agent's counters and each Modbus device's poll state. Pure:
stats in, metric families out (:mod:`edge_agent.metrics_http` serves them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from seamline.edge_agent.spool import SpoolStats
from seamline.edge_agent.telemetry import Counters
from seamline.edge_agent.uplink import UplinkStats
from seamline.metrics_http import Family, family


@dataclass(frozen=True, slots=True)
class EdgeHealth:
    now_ms: int  # wall clock, UTC ms
    started_ms: int  # when the agent started (wall clock, UTC ms): the publish age before the first PUBACK
    spool: SpoolStats
    uplink: UplinkStats | None
    local_connected: bool
    counters: Counters
    devices: Sequence[str]  # configured Modbus assets
    offline_devices: Sequence[str]


def families(h: EdgeHealth) -> list[Family]:
    oldest = 0.0 if h.spool.oldest_created_ms is None else max(0.0, (h.now_ms - h.spool.oldest_created_ms) / 1000)
    u = h.uplink
    out = [
        family("seamline_edge_spool_messages", "gauge", "Messages in the spool, not yet acknowledged upstream",
               h.spool.messages),
        family("seamline_edge_spool_bytes", "gauge", "Bytes of the messages in the spool", h.spool.bytes),
        family("seamline_edge_spool_oldest_age_seconds", "gauge", "Age of the oldest spooled message (0: empty)",
               oldest),
        family("seamline_edge_spool_dropped_total", "counter", "Messages dropped at the spool bound, by priority",
               by=[({"priority": getattr(p, "name", str(p)).lower()}, n)
                   for p, n in h.spool.dropped_by_priority.items()]),
        family("seamline_edge_local_connected", "gauge", "1 while connected to the gateway's local broker",
               float(h.local_connected)),
        family("seamline_edge_uplink_connected", "gauge", "1 while connected to the central broker",
               float(bool(u and u.connected))),
        family("seamline_edge_uplink_acked_total", "counter", "Spool messages acknowledged by the central broker",
               u.acked_total if u else 0),
        family("seamline_edge_uplink_last_publish_age_seconds", "gauge",
               "Seconds since the central broker last acknowledged a spooled message (since start if never)",
               max(0.0, (h.now_ms - (u.last_acked_ms if u and u.last_acked_ms is not None else h.started_ms)) / 1000)),
        family("seamline_edge_uplink_connect_failures_total", "counter", "Failed connection attempts upstream",
               u.connect_failures if u else 0),
        family("seamline_edge_uplink_rejected_total", "counter", "Messages the central broker refused, by reason",
               by=[({"reason": r}, n) for r, n in (u.rejected_by_reason.items() if u else ())]),
        family("seamline_edge_samples_in_total", "counter", "Raw samples accepted from the local broker",
               h.counters.samples_in),
        family("seamline_edge_rejected_in_total", "counter", "Local messages that failed contract validation",
               h.counters.rejected_in),
        family("seamline_edge_modbus_device_up", "gauge", "1 while a Modbus device answers its polls",
               by=[({"asset": a}, float(a not in h.offline_devices)) for a in h.devices]),
    ]
    return out
