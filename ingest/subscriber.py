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
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from contracts.topic import shared, subscription
from ingest.config import MqttConfig

log = logging.getLogger(__name__)

OnMessage = Callable[[str, bytes, int, int, int], None]  # topic, payload, mid, qos, generation


def topic_filters(config: MqttConfig) -> list[str]:
    """The (shared, unless configured off) subscription filters for the configured message kinds."""
    filters = [subscription(kind=kind) for kind in config.kinds]
    return [shared(config.share_group, f) for f in filters] if config.shared else filters


class MqttSubscriber:
    def __init__(self, config: MqttConfig, on_message: OnMessage) -> None:
        self._config = config
        self._on_message = on_message
        self._generation = 0
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self.stale_acks = 0
        self.connects = 0
        v5 = config.protocol == "5"
        if v5:
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2,
                client_id=config.client_id,
                protocol=mqtt.MQTTv5,
                manual_ack=True,
            )
        else:
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2,
                client_id=config.client_id,
                protocol=mqtt.MQTTv311,
                clean_session=False,
                manual_ack=True,
            )
        if config.username:
            password = config.password.get_secret_value() if config.password else None
            client.username_pw_set(config.username, password)
        # paho's own reconnect backoff (doubling, capped); it has no jitter, see README.
        client.reconnect_delay_set(min_delay=int(max(1, config.reconnect_min_s)), max_delay=int(config.reconnect_max_s))
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_message = self._handle_message
        self._client = client
        self._v5 = v5

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
        """Acknowledge message ``mid`` if it arrived on the current connection (thread-safe)."""
        if generation != self._generation or not self.connected.is_set():
            with self._lock:
                self.stale_acks += 1
            return
        self._client.ack(mid, qos)

    def stop(self) -> None:
        """Disconnect cleanly (the session stays on the broker) and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()

    def _handle_connect(
        self, client: mqtt.Client, _userdata: object, flags: mqtt.ConnectFlags, reason: ReasonCode, _props: object
    ) -> None:
        if reason.is_failure:
            log.error("MQTT connect refused: %s", reason)
            return
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
        self.connected.clear()
        if reason.is_failure:
            log.warning("MQTT connection lost (%s); reconnecting", reason)

    def _handle_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError:  # brokers should refuse these; validation quarantines it
            topic = msg._topic.decode("utf-8", errors="replace")
        self._on_message(topic, bytes(msg.payload), msg.mid, msg.qos, self._generation)
