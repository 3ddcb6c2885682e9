"""The whole cluster's sizing from one sustained run's figures (pure arithmetic, printed with its terms).

CPU time per message is what scales: it is measured per process from /proc over the run, so it
holds up better than rates on a shared machine (neighbours take wall time, not our CPU seconds).
Each process kind is sized to run at ``utilization`` of what it can use — one core for Mosquitto
and for an ingest worker (both single-threaded for their hot path), ``node_cores`` for InfluxDB —
and InfluxDB's memory from its anonymous resident size (heap, index, cache; not the mapped TSM files'
pages) per series in the run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Measured:
    """From one run: CPU µs per message of the broker and of ingest (all workers together), CPU µs
    per point of influxd, and influxd's anonymous resident MB per series (growth over the run / series)."""

    broker_us_per_msg: float
    ingest_us_per_msg: float
    influxd_us_per_point: float
    influxd_mb_per_series: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    msgs_per_s: float
    points_per_s: float
    series: int
    connections: int


@dataclass(frozen=True, slots=True)
class Row:
    component: str
    count: int
    arithmetic: str


def size(m: Measured, t: Target, *, utilization: float = 0.5, node_cores: int = 8, node_ram_gb: int = 32) -> list[Row]:
    """Brokers, ingest workers and InfluxDB nodes for ``t`` at ``utilization`` of their CPU."""
    if not 0 < utilization <= 1:
        raise ValueError("utilization must be in (0, 1]")
    broker_cap = utilization * 1e6 / m.broker_us_per_msg
    ingest_cap = utilization * 1e6 / m.ingest_us_per_msg
    influx_cores = t.points_per_s * m.influxd_us_per_point / 1e6 / utilization
    influx_gb = t.series * m.influxd_mb_per_series / 1024
    nodes = max(math.ceil(influx_cores / node_cores), math.ceil(influx_gb / (utilization * node_ram_gb)), 1)
    return [
        Row("MQTT brokers (1 core each)", math.ceil(t.msgs_per_s / broker_cap),
            f"{t.msgs_per_s:,.0f} msg/s ÷ ({utilization:.0%} × 10⁶ / {m.broker_us_per_msg:.1f} µs = "
            f"{broker_cap:,.0f} msg/s per broker); {t.connections:,} gateway connections"),
        Row("ingest workers (1 core each)", math.ceil(t.msgs_per_s / ingest_cap),
            f"{t.msgs_per_s:,.0f} msg/s ÷ ({utilization:.0%} × 10⁶ / {m.ingest_us_per_msg:.1f} µs = "
            f"{ingest_cap:,.0f} msg/s per worker)"),
        Row(f"InfluxDB nodes ({node_cores} cores, {node_ram_gb} GB)", nodes,
            f"CPU {t.points_per_s:,.0f} points/s × {m.influxd_us_per_point:.1f} µs ÷ {utilization:.0%} = "
            f"{influx_cores:.1f} cores; RAM {t.series:,} series × {m.influxd_mb_per_series * 1024:.1f} kB = "
            f"{influx_gb:.1f} GB (≤ {utilization:.0%} of a node's)"),
    ]
