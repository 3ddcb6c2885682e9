"""The edge agent's validated configuration as plain data: what the running agent reads.

:mod:`edge_agent.config` validates the YAML file (pydantic, error messages naming file and key)
and turns it into :class:`EdgeSettings` with ``EdgeConfig.settings()``; the runtime of
``seamline edge run`` (:mod:`edge_agent.runtime`) receives it from the validating process and so
never loads pydantic. Field meanings and defaults: see ``edge_agent/config.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from seamline.edge_agent.modbus.profile import ModbusDevice
from seamline.edge_agent.state import Thresholds


@dataclass(frozen=True, slots=True)
class Gateway:
    id: str
    enterprise: str
    site: str


@dataclass(frozen=True, slots=True)
class LocalBroker:
    host: str
    port: int
    client_id: str
    subscription: str
    keepalive_s: int


@dataclass(frozen=True, slots=True)
class UplinkBroker:
    host: str  # the first of ``brokers``
    port: int
    brokers: tuple[tuple[str, int], ...]  # (host, port) in order of preference, at least one
    protocol: str  # "5" or "3.1.1"
    client_id: str | None
    username: str | None
    password: str | None = field(repr=False)
    tls_ca: Path | None
    tls_cert: Path | None
    tls_key: Path | None
    keepalive_s: int
    max_inflight: int
    backoff_initial_s: float
    backoff_max_s: float
    rebirth_s: float = 600.0


@dataclass(frozen=True, slots=True)
class Spool:
    path: Path
    max_bytes: int
    history_retention_s: float = 86_400.0  # keep what was sent until confirmed, at most this long (0: off)
    reserve_bytes: int = 8 * 1024 * 1024  # free space left on the filesystem
    replay_unconfirmed_s: float = 300.0  # republish what no confirm covered this long after its PUBACK


@dataclass(frozen=True, slots=True)
class Machine:
    id: str
    line: str
    type: str


@dataclass(frozen=True, slots=True)
class SimulatedClock:
    """Demos and tests only: device time runs ``speed`` times faster than the wall clock."""

    start_ms: int
    speed: float
    anchor_unix_s: float


@dataclass(frozen=True, slots=True)
class EdgeSettings:
    gateway: Gateway
    local: LocalBroker
    uplink: UplinkBroker
    spool: Spool
    machine_types: dict[str, Thresholds]  # always holds "default"
    machines: tuple[Machine, ...]
    auto_discover: bool
    aggregate_period_s: int
    flush_on_stop: bool
    telemetry_interval_s: float
    batch_max_messages: int
    modbus: tuple[ModbusDevice, ...]  # validated, register maps loaded
    simulated_clock: SimulatedClock | None
    metrics_port: int = 0  # Prometheus /metrics; 0: off
    metrics_bind: str = "127.0.0.1"

    def machine_type(self, machine_id: str, line: str | None = None) -> Thresholds:
        """The thresholds of ``machine_id`` on ``line`` (the default type for discovered machines).
        Machine ids need only be unique per line: small factories number each line m001, m002..."""
        for m in self.machines:
            if m.id == machine_id and (line is None or m.line == line):
                return self.machine_types[m.type]
        return self.machine_types["default"]

    @property
    def uplink_client_id(self) -> str:
        return self.uplink.client_id or f"edge-{self.gateway.id}"
