"""A Modbus device profile as the poller uses it: plain, validated data, no pydantic.

``edge_agent.modbus.config`` validates the ``modbus:`` entries of the edge config (pydantic) and
returns these; the gateway's runtime (``seamline edge run``) only ever sees them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from seamline.contracts.kinds import AssetKind
from seamline.edge_agent.modbus.register_map import RegisterMap

# SunSpec devices put the marker at one of these (0-based PDU addresses), 40000 by far the most.
DEFAULT_SUNSPEC_BASES = (40000, 50000, 0)


class Framer(enum.StrEnum):
    TCP = "tcp"  # Modbus TCP (MBAP header)
    RTU = "rtu"  # RTU frames tunnelled over TCP by a serial-to-Ethernet gateway


class Protocol(enum.StrEnum):
    SUNSPEC = "sunspec"
    REGISTER_MAP = "register_map"


class RestartPolicy(enum.StrEnum):
    ZERO_DELTA = "zero_delta"  # first reading after a restart adds nothing (safe, loses a little)
    FROM_ZERO = "from_zero"  # assume the counter restarted at 0: adds the whole new reading


@dataclass(frozen=True, slots=True)
class CounterSettings:
    """How lifetime energy counters are turned into a continuous series."""

    unwrap: bool = True  # treat a backward jump over half the range as a rollover
    restart: RestartPolicy = RestartPolicy.ZERO_DELTA
    max_step_wh: float = 1e9  # a forward step above this (Wh) is a glitch: counted, not added


@dataclass(frozen=True, slots=True)
class ModbusDevice:
    """One validated device profile (see ``ModbusDeviceConfig`` for what each field means);
    ``register_map`` is the loaded ``map_file`` of a ``register_map`` device."""

    asset: str
    area: str
    asset_kind: AssetKind
    host: str
    port: int = 502
    unit_id: int = 1
    framer: Framer = Framer.TCP
    protocol: Protocol = Protocol.SUNSPEC
    map_file: Path | None = None
    sunspec_bases: tuple[int, ...] = DEFAULT_SUNSPEC_BASES
    poll_interval_s: float = 1.0
    timeout_s: float = 1.0
    retries: int = 1
    offline_after: int = 3
    reconnect_max_s: float = 30.0
    counters: CounterSettings = field(default_factory=CounterSettings)
    register_map: RegisterMap | None = None
