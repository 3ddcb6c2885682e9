"""MqttSubscriber's batched acks, without a broker: the network thread's side (posted work) queues
PUBACKs only for the current connection's messages and counts the rest as stale."""

from __future__ import annotations

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from seamline.ingest.config import MqttConfig
from seamline.ingest.subscriber import MqttSubscriber

PUBACK = 0x40


def subscriber() -> MqttSubscriber:
    return MqttSubscriber(MqttConfig(client_id="unit", port=1), lambda *_: None)


def connect(sub: MqttSubscriber) -> None:
    """What paho's network thread does on CONNACK (no socket here: the SUBSCRIBE is not sent)."""
    sub._handle_connect(sub._client, None, mqtt.ConnectFlags(session_present=True),
                        ReasonCode(PacketTypes.CONNACK, "Success"), None)


def disconnect(sub: MqttSubscriber) -> None:
    sub._handle_disconnect(sub._client, None, None, ReasonCode(PacketTypes.DISCONNECT, "Unspecified error"), None)


def connect_new() -> MqttSubscriber:
    sub = subscriber()
    connect(sub)
    return sub


def network_thread_turn(sub: MqttSubscriber) -> list[int]:
    """Run what was posted to the network thread; return (and clear) the PUBACK mids it queued."""
    client = sub._client
    client._run_posted()
    mids = [p["mid"] for p in client._out_packet if p["command"] == PUBACK]
    client._out_packet.clear()
    return mids


def test_a_batch_is_one_post_and_acks_every_current_message() -> None:
    sub = connect_new()
    sub.ack_batch([(mid, 1, 1) for mid in range(1, 501)])
    assert len(sub._client._posted) == 1  # one hand-over (one wake-up) for the whole batch
    assert len(sub._client._out_packet) == 0  # nothing queued before the network thread ran
    assert network_thread_turn(sub) == list(range(1, 501))
    assert sub.stale_acks == 0


def test_qos0_needs_no_ack_and_an_empty_batch_posts_nothing() -> None:
    sub = connect_new()
    sub.ack_batch([])
    assert len(sub._client._posted) == 0
    sub.ack_batch([(7, 0, 1), (8, 1, 1)])
    assert network_thread_turn(sub) == [8]


def test_acks_of_an_older_connection_are_skipped_and_counted() -> None:
    sub = connect_new()
    assert sub.generation == 1
    disconnect(sub)
    sub.ack_batch([(1, 1, 1), (2, 1, 1)])  # written while the connection is down
    assert network_thread_turn(sub) == []
    assert sub.stale_acks == 2
    connect(sub)
    assert sub.generation == 2
    # the broker may reuse ids 1 and 2 for other messages on the new connection: the old acks
    # must not ack those; the new connection's own acks go out
    sub.ack_batch([(1, 1, 1), (2, 1, 2), (3, 1, 1), (3, 1, 2)])
    assert network_thread_turn(sub) == [2, 3]
    assert sub.stale_acks == 4


def test_a_reconnect_between_posting_and_sending_makes_the_acks_stale() -> None:
    sub = connect_new()
    sub.ack_batch([(5, 1, 1), (6, 1, 1)])  # posted while generation 1 was current ...
    disconnect(sub)
    connect(sub)  # ... but the network thread reconnected before it ran the post
    assert network_thread_turn(sub) == []
    assert sub.stale_acks == 2
