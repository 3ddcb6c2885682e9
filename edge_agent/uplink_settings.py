"""The uplink's settings (validated on construction), its counters, the state of one broker
connection, and the paho client made for each connection (:mod:`seamline.edge_agent.uplink`).

MQTT 5, not 3.1.1: a PUBACK carries a reason code, so a publish the broker refuses (ACL
"not authorized", bad topic) is seen, counted by reason, logged and kept in the spool's local
quarantine (``seamline edge quarantine list``) instead of silently vanishing; the
broker's Receive Maximum is honoured; and a crash path can DISCONNECT with reason 0x04 so the
broker still sends the Will. paho's v5 path costs more CPU per packet; ``bench/edge_publish.py``
measures it.

A broker cluster: ``brokers`` lists its nodes; after a failed or lost connection the next node is
tried (round the list), with the same backoff between attempts. ``protocol="3.1.1"`` for brokers
whose MQTT listener has no version 5 (NATS): the broker cannot refuse a single publish then (it
drops the connection), and the crash path closes the socket without DISCONNECT so the broker
still sends the Will.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from seamline.edge_agent.quarantine import Rejection
from seamline.edge_agent.spool import OutMessage

# A refused subscription (confirm/resend topics) is tried again after 1 s, doubling up to 30 s.
SUBSCRIBE_RETRY_S = 1.0
SUBSCRIBE_RETRY_MAX_S = 30.0

@dataclass(frozen=True, slots=True, kw_only=True)
class UplinkSettings:
    host: str
    port: int
    brokers: tuple[tuple[str, int], ...] = ()  # failover list (host, port); empty: host, port alone
    protocol: str = "5"  # MQTT "5" or "3.1.1"
    client_id: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in logs or reprs
    tls: bool = False  # TLS with the system trust store; implied by tls_ca / tls_cert
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_insecure_hostname: bool = False  # skip the hostname check only; chain still verified
    keepalive_s: int = 30
    max_inflight: int = 100  # QoS 1 publishes awaiting PUBACK (also capped by broker's Receive Maximum)
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    connect_timeout_s: float = 10.0  # TCP + TLS handshake, and again for the CONNACK
    # The birth and online status again every this many seconds on a live connection (0: only on
    # connect): a birth the broker acknowledged but never delivered (a clustered broker losing a
    # node) leaves the platform unable to map this gateway's assets and confirm them.
    rebirth_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("uplink host is empty")
        for host, port in self.addresses:
            if not host:
                raise ValueError("uplink host is empty")
            if not 0 < port < 65536:
                raise ValueError(f"uplink port {port} is not in 1..65535")
        if self.protocol not in ("5", "3.1.1"):
            raise ValueError(f"uplink protocol {self.protocol!r} is not '5' or '3.1.1'")
        if not 0 < self.max_inflight <= 65535:
            raise ValueError(f"max_inflight {self.max_inflight} is not in 1..65535 (MQTT packet ids)")
        if self.keepalive_s <= 0 or self.connect_timeout_s <= 0:
            raise ValueError("keepalive_s and connect_timeout_s must be > 0")
        if not 0 < self.backoff_initial_s <= self.backoff_max_s:
            raise ValueError(f"need 0 < backoff_initial_s <= backoff_max_s, got {self.backoff_initial_s}, "
                             f"{self.backoff_max_s}")
        if self.password is not None and self.username is None:
            raise ValueError("uplink password given without a username")

    @property
    def addresses(self) -> tuple[tuple[str, int], ...]:
        """The brokers to try, in order of preference."""
        return self.brokers or ((self.host, self.port),)

    @property
    def v5(self) -> bool:
        return self.protocol == "5"

    @property
    def use_tls(self) -> bool:
        return self.tls or self.tls_ca is not None or self.tls_cert is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class UplinkStats:
    published_total: int  # spool messages written to the connection (replays count again)
    acked_total: int  # spool messages acknowledged by the broker and deleted
    rejected_total: int  # refused by the broker (PUBACK reason >= 0x80) or too large; quarantined
    reconnects: int  # successful connections after the first
    connect_failures: int
    connected: bool
    inflight: int
    last_error: str | None
    rejected_by_reason: dict[str, int] = field(default_factory=dict)  # broker_0x87, oversized, ...
    last_acked_ms: int | None = None  # wall clock (UTC ms) of the broker's last PUBACK of a spool message


class _Connection:
    """State of one broker connection (one paho client)."""

    def __init__(self, client: mqtt.Client, window: int) -> None:
        self.client = client
        self.started = time.monotonic()
        self.connected = False
        self.ever_connected = False
        self.broken = False
        self.birth_pending = False
        self.birth_at = 0.0  # monotonic time of the last birth on this connection
        self.window = window
        self.cursor = 0  # highest spool id written on this connection
        self.inflight: dict[int, int | None] = {}  # mid -> spool id (None: birth/status)
        self.acked: list[int] = []  # spool ids to delete, flushed in one transaction
        self.rejected: list[Rejection] = []  # refused by the broker: moved to the quarantine
        self.offline_mid: int | None = None
        self.offline_acked = False
        self.subscribe_at: float | None = None  # monotonic time to subscribe again after a refusal
        self.subscribe_delay_s = 0.0

    def retry_subscribe(self) -> float:
        """After a refused SUBACK: subscribe again after a doubling, capped delay; returns it (s)."""
        self.subscribe_delay_s = min(SUBSCRIBE_RETRY_MAX_S, max(SUBSCRIBE_RETRY_S, 2 * self.subscribe_delay_s))
        self.subscribe_at = time.monotonic() + self.subscribe_delay_s
        return self.subscribe_delay_s



def new_client(s: UplinkSettings, *, ssl_context: ssl.SSLContext | None, will: OutMessage) -> _Connection:
    """A fresh paho client for one connection (clean start: the spool is the only resend queue),
    with its identity, TLS, in-flight window and Will; callbacks are the caller's to set."""
    if s.v5:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=s.client_id, protocol=MQTTProtocolVersion.MQTTv5)
    else:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=s.client_id,
                             protocol=MQTTProtocolVersion.MQTTv311, clean_session=True)
    conn = _Connection(client, s.max_inflight)
    client.user_data_set(conn)
    client.max_inflight_messages_set(s.max_inflight)
    client.connect_timeout = s.connect_timeout_s
    if s.username is not None:
        client.username_pw_set(s.username, s.password)
    if ssl_context is not None:
        client.tls_set_context(ssl_context)
    client.will_set(will.topic, will.payload, qos=1, retain=will.retain)
    return conn
