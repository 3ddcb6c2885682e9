"""The edge agent's ``/metrics`` families from its stats (pure): the last publish age, from the
broker's last PUBACK, or from the agent's start while nothing was ever acknowledged."""

from __future__ import annotations

from seamline.edge_agent.health import EdgeHealth, families
from seamline.edge_agent.spool import SpoolStats
from seamline.edge_agent.telemetry import Counters
from seamline.edge_agent.uplink import UplinkStats
from seamline.metrics_http import render

SPOOL = SpoolStats(messages=3, bytes=300, oldest_created_ms=990_000, dropped_total=0, dropped_by_priority={},
                   put_total=3, acked_total=0)


def uplink(last_acked_ms: int | None) -> UplinkStats:
    return UplinkStats(published_total=5, acked_total=2 if last_acked_ms else 0, rejected_total=0, reconnects=0,
                       connect_failures=4, connected=False, inflight=0, last_error="refused",
                       last_acked_ms=last_acked_ms)


def values(health: EdgeHealth) -> dict[str, float]:
    out = {}
    for line in render(families(health)).splitlines():
        if not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def health(u: UplinkStats | None) -> EdgeHealth:
    return EdgeHealth(now_ms=1_000_000, started_ms=900_000, spool=SPOOL, uplink=u, local_connected=True,
                      counters=Counters(), devices=["pv1"], offline_devices=["pv1"])


def test_last_publish_age_counts_from_the_last_puback() -> None:
    m = values(health(uplink(last_acked_ms=970_000)))
    assert m["seamline_edge_uplink_last_publish_age_seconds"] == 30.0
    assert m["seamline_edge_spool_oldest_age_seconds"] == 10.0
    assert m["seamline_edge_uplink_connect_failures_total"] == 4.0
    assert m['seamline_edge_modbus_device_up{asset="pv1"}'] == 0.0


def test_never_acknowledged_counts_from_the_start() -> None:
    assert values(health(uplink(last_acked_ms=None)))["seamline_edge_uplink_last_publish_age_seconds"] == 100.0
    assert values(health(None))["seamline_edge_uplink_last_publish_age_seconds"] == 100.0
