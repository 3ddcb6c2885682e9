"""The upstream publisher: drains the :class:`SqliteSpool` to the central broker with QoS 1.

One background thread owns the paho client and drives it with paho's external-loop API
(``loop_read``/``loop_write``/``loop_misc`` around our own ``select``), so callbacks, spool
reads, publishes and spool acks all happen on that thread and need no locks of their own.
``wake()`` pokes a socketpair that the ``select`` also watches.

Each connection gets a fresh paho client (clean start): paho's own resend queue stays empty and
the spool is the only source of truth. On every (re)connect, the birth and online-status
messages from ``on_connect_messages()`` are published first, *directly* (not spooled: they are
regenerated on every connect, and stale copies queued offline would only be noise), then the
spool replays from its oldest un-acked id. Duplicates after a reconnect are possible, losses not.

Protocol (MQTT 5 by default, 3.1.1 for NATS) and a broker cluster's failover list:
:mod:`seamline.edge_agent.uplink_settings`.
"""

from __future__ import annotations

import logging
import random as random_module
import select
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from seamline.backoff import Backoff
from seamline.contracts.kinds import MAX_PAYLOAD_BYTES
from seamline.edge_agent.quarantine import Rejection, broker_reason
from seamline.edge_agent.spool import OutMessage, SqliteSpool
from seamline.edge_agent.tls import client_ssl_context
from seamline.edge_agent.uplink_settings import UplinkSettings, UplinkStats, _Connection, new_client
from seamline.edge_agent.waker import Waker

__all__ = ["Uplink", "UplinkSettings", "UplinkStats"]

log = logging.getLogger(__name__)

# Spool rows read per query: bounds what the publisher holds in memory besides paho's in-flight.
PEEK_BATCH = 100
# Longest select() sleep: loop_misc must run often enough to send PINGREQs within keepalive.
IDLE_WAKE_S = 1.0
DISCONNECT_WITH_WILL = 0x04
# Of a graceful stop's timeout, the part kept for the last PUBACKs, the offline status and the
# DISCONNECT after the spool has been drained as far as time allows.
STOP_RESERVE_S = 2.0
_OK = MQTTErrorCode.MQTT_ERR_SUCCESS


class Uplink:
    def __init__(
        self, *, settings: UplinkSettings, spool: SqliteSpool, will: OutMessage,
        on_connect_messages: Callable[[], Sequence[OutMessage]], random: Callable[[], float] | None = None,
        subscriptions: Sequence[str] = (), on_message: Callable[[str, bytes], None] | None = None,
    ) -> None:
        """``subscriptions`` (QoS 1, on every connect) deliver to ``on_message`` on the publisher
        thread: the platform's confirm and resend messages for this gateway."""
        self._s = settings
        self._spool = spool
        self._will = will
        self._on_connect_messages = on_connect_messages
        self._subscriptions = tuple(subscriptions)
        self._on_message_cb = on_message
        self._replay_props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        self._replay_props.UserProperty = ("seamline-replay", "1")
        self._ssl = (
            client_ssl_context(ca_file=settings.tls_ca, cert_file=settings.tls_cert, key_file=settings.tls_key,
                               insecure_hostname=settings.tls_insecure_hostname)
            if settings.use_tls else None
        )
        self._backoff = Backoff(initial_s=settings.backoff_initial_s, max_s=settings.backoff_max_s,
                                random=random or random_module.Random().random)
        self._thread: threading.Thread | None = None
        self._waker: Waker | None = None
        self._stop_mode: str | None = None  # None, "graceful" or "will"
        self._drain_until = 0.0
        self._deadline = 0.0
        self._conn: _Connection | None = None
        self._published = self._acked = self._rejected = 0
        self._last_acked_ms: int | None = None
        self._rejected_by_reason: dict[str, int] = {}
        self._connects = self._connect_failures = 0
        self._last_error: str | None = None
        self._address = 0  # index into settings.addresses of the broker tried now

    # -- public API ----------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in a background thread; reconnect for ever with jittered, capped backoff."""
        if self._thread is not None:
            raise RuntimeError("uplink already started")
        self._waker = Waker()
        self._thread = threading.Thread(target=self._run, name=f"uplink-{self._s.client_id}", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """New messages were committed to the spool: publish them now. Any thread."""
        if self._waker is not None:
            self._waker.wake()

    def stop(self, *, graceful: bool = True, timeout_s: float = 10.0) -> None:
        """graceful: keep publishing the spool (up to ``timeout_s`` less a reserve for the rest of the
        sequence), wait for in-flight PUBACKs, publish the retained offline status (the Will)
        yourself, then disconnect cleanly. What is still spooled then waits for the next start. If
        that does not finish in time, or ``graceful`` is False, disconnect with reason 0x04 so the
        broker publishes the Will."""
        thread = self._thread
        if thread is None:
            return
        now = time.monotonic()
        self._deadline = now + (timeout_s if graceful else 0.0)
        self._drain_until = now + (max(0.0, timeout_s - min(STOP_RESERVE_S, timeout_s / 2)) if graceful else 0.0)
        self._stop_mode = "graceful" if graceful else "will"
        self.wake()
        thread.join(timeout_s + self._s.connect_timeout_s)
        if thread.is_alive():
            log.error("uplink %s: publisher thread did not stop within %.1f s", self._s.client_id, timeout_s)
            return
        self._thread = None
        if self._waker is not None:
            self._waker.close()
        self._waker = None

    def crash_disconnect(self) -> None:
        """For crash paths: DISCONNECT with reason 0x04 (the broker publishes the Will) and stop."""
        self.stop(graceful=False, timeout_s=2.0)

    @property
    def stats(self) -> UplinkStats:
        conn = self._conn
        return UplinkStats(
            published_total=self._published, acked_total=self._acked, rejected_total=self._rejected,
            reconnects=max(0, self._connects - 1), connect_failures=self._connect_failures,
            connected=bool(conn and conn.connected), inflight=len(conn.inflight) if conn else 0,
            last_error=self._last_error, rejected_by_reason=dict(self._rejected_by_reason),
            last_acked_ms=self._last_acked_ms,
        )

    # -- the publisher thread --------------------------------------------------------------------

    def _run(self) -> None:
        while self._stop_mode is None:
            conn = None
            try:
                failures = self._connect_failures
                conn = self._open()
                if conn is not None:
                    self._conn = conn
                    self._serve(conn)
                    if not conn.ever_connected and self._connect_failures == failures and self._stop_mode is None:
                        self._fail(f"{self._where} closed the connection before CONNACK "
                                   f"(TLS client certificate refused?)", connect_failure=True)
            except Exception as exc:  # never let the thread die silently: count, log, retry
                log.exception("uplink %s: unexpected error", self._s.client_id)
                self._last_error = f"{type(exc).__name__}: {exc}"
            finally:
                if conn is not None:
                    self._close(conn)
            self._address = (self._address + 1) % len(self._s.addresses)  # failed or lost: the next node
            if self._stop_mode is None:
                self._sleep(self._backoff.next_delay_s())

    def _open(self) -> _Connection | None:
        s = self._s
        host, port = s.addresses[self._address]
        conn = new_client(s, ssl_context=self._ssl, will=self._will)
        client = conn.client
        client.on_connect = self._on_connect
        client.on_publish = self._on_publish
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        try:
            if s.v5:
                client.connect(host, port, keepalive=s.keepalive_s, clean_start=True)
            else:
                client.connect(host, port, keepalive=s.keepalive_s)
        except (OSError, ValueError) as exc:  # ssl errors are OSError, CertificateError ValueError
            self._fail(f"connect to {host}:{port} failed: {exc}", connect_failure=True)
            return None
        return conn

    def _serve(self, conn: _Connection) -> None:
        client = conn.client
        assert self._waker is not None
        waker = self._waker
        while not conn.broken:
            sock = client.socket()
            if sock is None:
                return
            if self._stop_mode is not None and self._shutdown_step(conn):
                return
            if conn.connected:
                if conn.birth_pending or (self._s.rebirth_s > 0
                                          and time.monotonic() - conn.birth_at >= self._s.rebirth_s):
                    self._publish_birth(conn)
                if conn.subscribe_at is not None and time.monotonic() >= conn.subscribe_at:
                    conn.subscribe_at = None
                    client.subscribe([(t, 1) for t in self._subscriptions])
                if self._stop_mode is None or self._draining():
                    self._pump(conn)
            elif time.monotonic() - conn.started > self._s.connect_timeout_s:
                self._fail(f"no CONNACK from {self._where} within {self._s.connect_timeout_s} s",
                           connect_failure=True)
                return
            pending = sock.pending() if hasattr(sock, "pending") else 0  # decrypted TLS bytes
            timeout = 0.0 if pending else self._select_timeout()
            try:
                readable, writable, _ = select.select(
                    [sock, waker.socket], [sock] if client.want_write() else [], [], timeout
                )
            except (OSError, ValueError):
                return
            if waker.socket in readable:
                waker.drain()
            if (sock in readable or pending) and client.loop_read() != _OK:
                return
            self._flush_acks(conn)
            if sock in writable and client.socket() is not None and client.loop_write() != _OK:
                return
            if client.loop_misc() != _OK:
                return

    def _select_timeout(self) -> float:
        if self._stop_mode is None:
            return IDLE_WAKE_S
        return max(0.0, min(IDLE_WAKE_S, self._deadline - time.monotonic()))

    def _pump(self, conn: _Connection) -> None:
        """Publish spool messages after the cursor until the in-flight window is full."""
        room = conn.window - len(conn.inflight)
        while room > 0 and not conn.broken:
            batch = self._spool.peek(after_id=conn.cursor, limit=min(room, PEEK_BATCH))
            if not batch:
                break
            for m in batch:
                conn.cursor = m.id
                if len(m.payload) > MAX_PAYLOAD_BYTES:
                    self._reject(conn, m.id, "oversized", f"{len(m.payload)} bytes > {MAX_PAYLOAD_BYTES}")
                    continue
                try:
                    info = conn.client.publish(m.topic, m.payload, qos=1, retain=m.retain,
                                               properties=self._replay_props if m.replay else None)
                except ValueError as exc:  # invalid topic: permanent
                    self._reject(conn, m.id, "invalid_topic", str(exc))
                    continue
                if info.rc != _OK:
                    self._fail(f"publish failed: {mqtt.error_string(info.rc)}")
                    conn.broken = True  # resync from the spool on a new connection
                    break
                conn.inflight[info.mid] = m.id
                self._published += 1
            room = conn.window - len(conn.inflight)
        self._flush_acks(conn)

    def _publish_birth(self, conn: _Connection) -> None:
        conn.birth_pending = False
        conn.birth_at = time.monotonic()
        try:
            messages = list(self._on_connect_messages())
        except Exception as exc:
            log.exception("uplink %s: on_connect_messages failed; no birth on this connection", self._s.client_id)
            self._last_error = f"on_connect_messages: {exc}"
            return
        for m in messages:
            info = conn.client.publish(m.topic, m.payload, qos=1, retain=m.retain)
            if info.rc == _OK:
                conn.inflight[info.mid] = None

    def _draining(self) -> bool:
        return self._stop_mode == "graceful" and time.monotonic() < self._drain_until

    def _shutdown_step(self, conn: _Connection) -> bool:
        """Advance the stop sequence; True when the connection is closed (or being closed)."""
        client = conn.client
        if not conn.connected:
            return True
        overdue = time.monotonic() >= self._deadline
        if self._stop_mode == "will" or (overdue and not conn.offline_acked):
            if not self._s.v5:  # 3.1.1 has no "disconnect with Will": a DISCONNECT would discard it
                conn.broken = True
                return True
            client.disconnect(reasoncode=ReasonCode(PacketTypes.DISCONNECT, identifier=DISCONNECT_WITH_WILL))
            return True
        if conn.offline_mid is None:
            if any(v is not None for v in conn.inflight.values()):
                return False  # still waiting for spool PUBACKs
            if self._draining() and self._spool.peek(after_id=conn.cursor, limit=1):
                return False  # time left to empty the spool before saying offline
            w = self._will
            info = client.publish(w.topic, w.payload, qos=1, retain=w.retain)
            conn.offline_mid = info.mid
            conn.inflight[info.mid] = None
            return False
        if conn.offline_acked:
            client.disconnect()
            return True
        return False

    def _close(self, conn: _Connection) -> None:
        self._flush_acks(conn)
        client = conn.client
        if client.socket() is not None and client.want_write():
            client.loop_write()  # the DISCONNECT, if still queued
        sock = client.socket()
        if sock is not None:
            sock.close()
        conn.connected = False
        conn.inflight.clear()

    # -- paho callbacks (run on the publisher thread, inside loop_read/loop_misc) ---------------

    def _on_connect(self, client: mqtt.Client, conn: _Connection, flags: Any, reason: ReasonCode,
                    properties: Any) -> None:
        if reason.is_failure:
            self._fail(f"broker {self._where} refused the connection: {reason}", connect_failure=True)
            conn.broken = True
            return
        conn.connected = conn.ever_connected = True
        conn.birth_pending = True
        receive_max = getattr(properties, "ReceiveMaximum", None)
        if isinstance(receive_max, int) and receive_max > 0:
            conn.window = min(conn.window, receive_max)
        self._connects += 1
        self._backoff.reset()
        if self._subscriptions:
            client.subscribe([(t, 1) for t in self._subscriptions])
        log.info("uplink %s: connected to %s (MQTT %s)", self._s.client_id, self._where, self._s.protocol)

    def _on_publish(self, client: mqtt.Client, conn: _Connection, mid: int, reason: ReasonCode,
                    properties: Any) -> None:
        if mid not in conn.inflight:
            return
        spool_id = conn.inflight.pop(mid)
        if mid == conn.offline_mid:
            conn.offline_acked = True
        if spool_id is None:
            return
        if reason.is_failure:
            self._reject(conn, spool_id, broker_reason(reason.value), f"broker PUBACK {reason} (0x{reason.value:02x})")
            return
        conn.acked.append(spool_id)

    def _on_message(self, client: mqtt.Client, conn: _Connection, message: mqtt.MQTTMessage) -> None:
        if self._on_message_cb is None:
            return
        try:
            self._on_message_cb(message.topic, bytes(message.payload))
        except Exception:  # a bad request must not take the publisher down
            log.exception("uplink %s: handling a message on %s failed", self._s.client_id, message.topic)

    def _on_subscribe(self, client: mqtt.Client, conn: _Connection, mid: int, reasons: list[ReasonCode],
                      properties: Any) -> None:
        """A subscription the broker refused (SUBACK 0x80: nats-server 2.9.10 while its cluster
        recovers from a lost node) would leave the gateway deaf to confirms and resends: subscribe
        again on this connection after a doubling delay (a reconnect would not be needed, and an ACL
        that refuses for good then costs one SUBSCRIBE per ``SUBSCRIBE_RETRY_MAX_S``)."""
        refused = [r for r in reasons if r.is_failure]
        if refused:
            self._fail(f"{self._where} refused the subscription to confirms and resends ({refused[0]}); "
                       f"subscribing again in {conn.retry_subscribe():.0f} s")
        else:
            conn.subscribe_delay_s = 0.0

    def _on_disconnect(self, client: mqtt.Client, conn: _Connection, flags: Any, reason: ReasonCode,
                       properties: Any) -> None:
        if conn.connected and self._stop_mode is None:
            self._fail(f"connection to {self._where} lost: {reason}")
        conn.connected = False

    # -- small pieces ----------------------------------------------------------------------------

    @property
    def _where(self) -> str:
        host, port = self._s.addresses[self._address]
        return f"{host}:{port}"

    def _reject(self, conn: _Connection, spool_id: int, reason: str, why: str) -> None:
        self._rejected += 1
        self._rejected_by_reason[reason] = self._rejected_by_reason.get(reason, 0) + 1
        log.error("uplink %s: spool message %d refused (%s), kept in the local quarantine: %s",
                  self._s.client_id, spool_id, reason, why)
        conn.rejected.append(Rejection(spool_id, reason, why))

    def _flush_acks(self, conn: _Connection) -> None:
        if conn.acked:
            self._spool.ack(conn.acked)
            self._acked += len(conn.acked)
            self._last_acked_ms = time.time_ns() // 1_000_000
            conn.acked = []
        if conn.rejected:
            self._spool.quarantine(conn.rejected)
            conn.rejected = []

    def _fail(self, error: str, *, connect_failure: bool = False) -> None:
        self._last_error = error
        if connect_failure:
            self._connect_failures += 1
        log.warning("uplink %s: %s", self._s.client_id, error)

    def _sleep(self, delay_s: float) -> None:
        """Backoff wait that only a stop request cuts short (wake() does not)."""
        if self._waker is not None:
            self._waker.sleep(delay_s, until=lambda: self._stop_mode is not None)
