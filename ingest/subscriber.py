"""The MQTT side: a persistent, shared, manually-acknowledged subscription (paho-mqtt 2.x).

* Shared subscription ``$share/<group>/seamline/v1/+/+/+/+/<kind>`` so workers split the load.
* Persistent session: fixed client id, clean_session=False (3.1.1) or clean_start=False plus a
  session expiry (5), so the broker queues messages while this worker restarts.
* ``manual_ack=True``: a message is acknowledged only when :meth:`ack` is called, after its points
  are durably written. Un-acked messages are bounded by the broker's in-flight window.
* Acks carry the connection *generation* the message arrived on. After a reconnect the broker
  redelivers un-acked messages and may reuse their packet ids for new messages, so an ack from an
  older connection is skipped (the redelivered copy is acked by its own batch) rather than risking
  an ack of a different, not yet written message.
* A batch's acks are handed to paho's network thread in one go (:meth:`ack_batch`: one wake-up per
  batch instead of one per message); the generation check runs there, in the thread that also
  reconnects and counts generations, so no reconnect can slip between the check and the PUBACK.
* A graceful stop first leaves the share group (:meth:`leave`: UNSUBSCRIBE, wait for UNSUBACK):
  Mosquitto 2.0.11 keeps routing a ``$share`` group's messages to a member whose persistent session
  is offline, so a stopped worker would otherwise strand its share until it returns. It
  subscribes again on its next connect.
* The client is :class:`ingest.fast_client.BufferedClient` (buffered reads, several packets per
  wake-up); paho's own reconnect loop, keepalive and packet handling are unchanged.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from seamline.connect_log import ConnectFailureLog
from seamline.contracts.topic import shared, subscription
from seamline.ingest.config import MqttConfig
from seamline.ingest.fast_client import BufferedClient
from seamline.mqtt_connect import apply_identity

log = logging.getLogger(__name__)

OnMessage = Callable[[str, bytes, int, int, int], None]  # topic, payload, mid, qos, generation
AckRef = tuple[int, int, int]  # mid, qos, generation of one received message

# How long stop() waits for the network thread to send the acks posted before it (s): the last
# batch's PUBACKs must leave before the DISCONNECT, or the broker redelivers written messages.
_ACK_FLUSH_TIMEOUT_S = 5.0


def topic_filters(config: MqttConfig) -> list[str]:
    """The (shared, unless configured off) subscription filters for the configured message kinds."""
    filters = [subscription(kind=kind) for kind in config.kinds]
    return [shared(config.share_group, f) for f in filters] if config.shared else filters


class MqttSubscriber:
    def __init__(self, config: MqttConfig, on_message: OnMessage) -> None:
        self._config = config
        self._on_message = on_message
        self._generation = 0
        self.connected = threading.Event()
        self.stale_acks = 0
        self.connects = 0
        self.received = 0  # messages handed to on_message (the network thread writes it)
        self._unsubscribed = threading.Event()
        v5 = config.protocol == "5"
        if v5:
            client = BufferedClient(
                CallbackAPIVersion.VERSION2,
                client_id=config.client_id,
                protocol=mqtt.MQTTv5,
                manual_ack=True,
            )
        else:
            client = BufferedClient(
                CallbackAPIVersion.VERSION2,
                client_id=config.client_id,
                protocol=mqtt.MQTTv311,
                clean_session=False,
                manual_ack=True,
            )
        # TLS context and user/password; paho's connect_async raises nothing here, a refusal shows
        # in _handle_connect's reason code and paho retries with backoff.
        apply_identity(client, config)
        # paho's own reconnect backoff (doubling from min to max); _jitter() re-draws the cap on every
        # disconnect, so workers that lost the same broker do not come back in lockstep.
        self._jitter(client)
        client.on_connect = self._handle_connect
        self.connect_log = ConnectFailureLog(log, f"MQTT broker {config.host}:{config.port}",
                                             retry_min_s=config.reconnect_min_s, retry_max_s=config.reconnect_max_s)
        client.on_connect_fail = self.connect_log.paho_hook()
        client.on_disconnect = self._handle_disconnect
        client.on_message = self._handle_message
        client.on_unsubscribe = self._handle_unsubscribe
        self._client = client
        self._v5 = v5

    def _jitter(self, client: mqtt.Client) -> None:
        c = self._config
        cap = random.uniform(max(c.reconnect_min_s, c.reconnect_max_s / 2), c.reconnect_max_s)
        client.reconnect_delay_set(min_delay=c.reconnect_min_s, max_delay=cap)  # type: ignore[arg-type]

    @property
    def generation(self) -> int:
        return self._generation

    def start(self) -> None:
        """Connect in the background (paho's network thread retries until it succeeds)."""
        kwargs: dict[str, object] = {}
        if self._v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = self._config.session_expiry_s
            props.ReceiveMaximum = self._config.receive_maximum
            kwargs = {"clean_start": False, "properties": props}
        self._client.connect_async(self._config.host, self._config.port, self._config.keepalive_s, **kwargs)  # type: ignore[arg-type]
        self._client.loop_start()

    def ack(self, mid: int, qos: int, generation: int) -> None:
        """Acknowledge one message; see :meth:`ack_batch`."""
        self.ack_batch([(mid, qos, generation)])

    def ack_batch(self, acks: Sequence[AckRef]) -> None:
        """Acknowledge ``(mid, qos, generation)`` messages that arrived on the current connection
        (thread-safe). The PUBACKs are queued by the network thread at its next wake-up; acks of
        an older connection are skipped and counted in ``stale_acks``."""
        if acks:
            self._client.post(lambda: self._send_acks(acks))

    def _send_acks(self, acks: Sequence[AckRef]) -> None:
        """In the network thread: PUBACK (QoS 1) / PUBCOMP (QoS 2) for the current connection's acks."""
        current = self._generation if self.connected.is_set() else -1
        client = self._client
        stale = 0
        for mid, qos, generation in acks:
            if generation != current:
                stale += 1
            elif qos == 1:
                client.queue_puback(mid)
            elif qos == 2:
                client.ack(mid, qos)
        self.stale_acks += stale  # written by the network thread only

    def leave(self, timeout_s: float) -> bool:
        """Unsubscribe the shared filters so the broker routes new messages to the other workers, and
        wait up to ``timeout_s`` for the UNSUBACK. What the broker already queued for this session
        keeps arriving and is written and acked as usual. False if not shared, not connected or no
        UNSUBACK came in time."""
        if not self._config.shared or not self.connected.is_set():
            return False
        self._unsubscribed.clear()
        rc, _mid = self._client.unsubscribe(topic_filters(self._config))
        if rc != mqtt.MQTT_ERR_SUCCESS:
            log.warning("MQTT: could not leave the share group before stopping: %s", mqtt.error_string(rc))
            return False
        if not self._unsubscribed.wait(timeout_s):
            log.warning("MQTT: no UNSUBACK within %.1f s; stopping without leaving the share group", timeout_s)
            return False
        log.info("MQTT: left share group %s; new messages go to the other workers", self._config.share_group)
        return True

    def stop(self) -> None:
        """Send the acks posted so far, disconnect cleanly (the session stays on the broker) and
        stop the network thread."""
        sent = threading.Event()
        self._client.post(sent.set)
        if self.connected.is_set() and not sent.wait(_ACK_FLUSH_TIMEOUT_S):
            log.warning("MQTT network thread did not send the last acks within %.0f s", _ACK_FLUSH_TIMEOUT_S)
        self._client.disconnect()
        self._client.loop_stop()

    def _handle_connect(
        self, client: mqtt.Client, _userdata: object, flags: mqtt.ConnectFlags, reason: ReasonCode, _props: object
    ) -> None:
        if reason.is_failure:
            self.connect_log.failed(f"refused: {reason}")
            return
        self.connect_log.connected()
        self._generation += 1
        self.connects += 1
        filters = topic_filters(self._config)
        # Subscribing again on a resumed session is harmless and covers a session the broker lost.
        client.subscribe([(f, 1) for f in filters])
        self.connected.set()
        log.info(
            "MQTT connected to %s:%d (session present: %s), subscribed %s",
            self._config.host, self._config.port, flags.session_present, filters,
        )

    def _handle_disconnect(
        self, _client: mqtt.Client, _userdata: object, _flags: object, reason: ReasonCode, _props: object
    ) -> None:
        if self.connected.is_set():  # a connection that had worked: a new cap for the coming backoff
            self._jitter(_client)
        self.connected.clear()
        if reason.is_failure:
            log.warning("MQTT connection to %s:%d lost (%s); reconnecting within %.0f s, then re-subscribing first",
                        self._config.host, self._config.port, reason, self._config.reconnect_max_s)

    def _handle_unsubscribe(self, _client: mqtt.Client, _userdata: object, _mid: int, _reasons: object,
                            _props: object) -> None:
        self._unsubscribed.set()

    def _handle_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        self.received += 1
        try:
            topic = msg.topic
        except UnicodeDecodeError:  # brokers should refuse these; validation quarantines it
            topic = msg._topic.decode("utf-8", errors="replace")
        self._on_message(topic, bytes(msg.payload), msg.mid, msg.qos, self._generation)
