"""The contract's enumerations and limits, in a module that imports no pydantic.

The payload models (:mod:`contracts.assets`, :mod:`contracts.messages`) re-export every name
defined here; the edge agent's runtime imports it directly so that a gateway process that only
encodes and decodes its own messages (``edge_agent.wire``) never loads pydantic.
"""

from __future__ import annotations

import enum

SCHEMA_VERSION = 1
# A message this large is a bug or an attack; real batches are a few kB. Mosquitto's
# message_size_limit in our generated configs is set to the same figure.
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_SAMPLES_PER_MESSAGE = 1000
# 2000-01-01 .. 2100-01-01: static plausibility only; ingest applies a tighter window around now.
TS_MIN_MS = 946_684_800_000
TS_MAX_MS = 4_102_444_800_000
SEQ_MAX = 2**63  # exclusive


class AssetKind(enum.StrEnum):
    SEWING_MACHINE = "sewing_machine"
    PV_INVERTER = "pv_inverter"
    BATTERY = "battery"
    METER = "meter"
    MET_STATION = "met_station"
    WIND_TURBINE = "wind_turbine"
    GATEWAY = "gateway"


class Quality(enum.StrEnum):
    GOOD = "good"
    STALE = "stale"  # device did not answer; value repeated or missing
    HISTORICAL = "historical"  # replayed from a store after the fact


class MachineState(enum.StrEnum):
    OFF = "off"
    IDLE = "idle"
    RUNNING = "running"
    DOWN = "down"  # breakdown / maintenance, with a reason code


class GatewayState(enum.StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
