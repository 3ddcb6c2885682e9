"""Config files the demo writes for its processes — the same YAML an operator writes by hand."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from seamline.demo.stack import DATABASE
from seamline.storage.schema import Retention


@dataclass(frozen=True, slots=True, kw_only=True)
class SimTime:
    start_ms: int
    speed: float
    anchor_unix_s: float

    def as_config(self) -> dict[str, Any]:
        return {"start_ms": self.start_ms, "speed": self.speed, "anchor_unix_s": self.anchor_unix_s}


def write_yaml(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# written by seamline demo\n" + yaml.safe_dump(doc, sort_keys=False))
    return path


# How far ahead of real time the demo's ingest accepts samples: 7 simulated days, i.e. 10 wall
# minutes of simulated clocks running past the window at 1 000x (found: a quick demo started at
# 13:16 local on the replayed day itself had its energy samples reach 16:06 local, up to 10 134 s
# ahead of real time, and quarantined 3 266 of them as ts_out_of_window; the rogue sample 400 days
# ahead is still refused).
SIM_AHEAD_S = 7 * 86400.0

# Wall seconds after its PUBACK a gateway republishes what no confirm covered (the demo's repair).
REPLAY_UNCONFIRMED_S = 4.0


def ingest_config(*, workdir: Path, worker: int, broker_port: int, influx_url: str,
                  mqtt_identity: dict[str, Any] | None = None, influx_user: dict[str, Any] | None = None,
                  metrics_port: int = 0) -> dict[str, Any]:
    """``mqtt_identity``/``influx_user``: the secured demo's TLS files and InfluxDB user (file names only)."""
    return {
        "mqtt": {"host": "127.0.0.1", "port": broker_port, "client_id": f"seamline-ingest-{worker}",
                 "share_group": "ingest", **(mqtt_identity or {})},
        "influx": {"version": 1, "url": influx_url, "database": DATABASE, "raw_rp": Retention.RAW.value,
                   **(influx_user or {})},
        # Simulated shifts are replayed from the past at high speed: accept a few days back. The
        # simulated clocks keep running after the window while the demo drains and reports, and a
        # window that ended shortly before now (replayed the same afternoon) runs past real time
        # within seconds at 1 000x: accept that much ahead (SIM_AHEAD_S).
        "validation": {"max_past_s": 40 * 86400.0, "max_future_s": SIM_AHEAD_S},
        "quarantine": {"path": str(workdir / f"quarantine-{worker}.sqlite")},
        # Several workers share one subscription: an asset's messages interleave between them, so
        # per-worker gap detection would report false gaps. Coverage comes from stored seq values.
        "gaps": {"enabled": False},
        "metrics": {"port": metrics_port, "interval_s": 5.0, "worker": f"ingest-{worker}"},
    }


def edge_config(
    *, workdir: Path, enterprise: str, gateway: str, local_port: int, central_port: int, sim: SimTime,
    modbus: list[dict[str, Any]] | None = None, uplink_tls: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``uplink_tls``: the secured demo's uplink host, port and the gateway's certificate files."""
    return {
        "gateway": {"id": gateway, "enterprise": enterprise, "site": "s1"},
        "local": {"host": "127.0.0.1", "port": local_port, "client_id": f"edge-local-{gateway}",
                  "subscription": f"seamline/v1/{enterprise}/+/+/+/+"},
        "uplink": {"host": "127.0.0.1", "port": central_port, "backoff_initial_s": 0.2, "backoff_max_s": 5.0,
                   **(uplink_tls or {})},
        "spool": {"path": str(workdir / f"spool-{gateway}.sqlite"), "max_bytes": 64 * 1024 * 1024,
                  "replay_unconfirmed_s": REPLAY_UNCONFIRMED_S},
        "machine_types": {"default": {"idle_current_a": 0.45, "run_current_a": 3.2}},
        "auto_discover": True,
        "aggregate_period_s": 60,
        # self-telemetry every 10 simulated minutes
        "telemetry_interval_s": 600.0,
        "flush_on_stop": True,
        "modbus": modbus or [],
        "simulated_clock": sim.as_config(),
    }


def modbus_device(*, asset: str, area: str, kind: str, port: int, map_file: Path | None = None,
                  poll_interval_s: float = 0.5) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "asset": asset, "area": area, "asset_kind": kind, "host": "127.0.0.1", "port": port,
        # the agent refuses a timeout that could make a device lag 10 polls behind
        "poll_interval_s": poll_interval_s, "timeout_s": min(0.5, 5 * poll_interval_s), "retries": 1,
    }
    if map_file is not None:
        entry |= {"protocol": "register_map", "map_file": str(map_file)}
    return entry
