"""MqttSubscriber (BufferedClient, batched acks) against a real Mosquitto: every message arrives
once per connection, a batch's acks all reach the broker, and acks of an older connection never do."""

from __future__ import annotations

import socket
import threading
import time

from seamline.ingest.config import MqttConfig
from seamline.ingest.subscriber import MqttSubscriber
from seamline.localstack import MosquittoProcess
from tests.support.ingest_harness import Publisher, sewing_traffic, wait_until

Ref = tuple[int, int, int]  # mid, qos, generation


class Inbox:
    """What the subscriber delivered: (topic, payload) -> its latest (mid, qos, generation)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latest: dict[tuple[str, bytes], Ref] = {}
        self.deliveries = 0

    def on_message(self, topic: str, payload: bytes, mid: int, qos: int, generation: int) -> None:
        with self.lock:
            self.latest[(topic, payload)] = (mid, qos, generation)
            self.deliveries += 1

    def refs(self, generation: int) -> list[Ref]:
        with self.lock:
            return [r for r in self.latest.values() if r[2] == generation]


def start(broker: MosquittoProcess, inbox: Inbox) -> MqttSubscriber:
    config = MqttConfig(port=broker.port, client_id="fast-client-it", shared=False, kinds=("data",),
                        reconnect_min_s=1, reconnect_max_s=1)
    sub = MqttSubscriber(config, inbox.on_message)
    sub.start()
    assert sub.connected.wait(10)
    return sub


def drop_connection(sub: MqttSubscriber, generation_before: int) -> None:
    """Cut the TCP connection under paho; its loop reconnects (1 s backoff) with the same session."""
    sock = sub._client.socket()
    assert isinstance(sock, socket.socket)
    sock.shutdown(socket.SHUT_RDWR)  # paho reads EOF, as after a network failure
    wait_until(lambda: sub.generation > generation_before and sub.connected.is_set(), timeout_s=15,
               what="reconnect")


def test_batched_acks_reach_the_broker_only_on_their_own_connection(mosquitto: MosquittoProcess) -> None:
    n = 400
    inbox = Inbox()
    sub = start(mosquitto, inbox)
    try:
        check_acks(mosquitto, sub, inbox, n)
    finally:
        sub.stop()
    assert inbox.deliveries == 3 * n

    again = Inbox()
    sub2 = start(mosquitto, again)
    try:
        time.sleep(1.0)  # a redelivery would arrive right after CONNACK
        assert again.deliveries == 0
    finally:
        sub2.stop()


def check_acks(mosquitto: MosquittoProcess, sub: MqttSubscriber, inbox: Inbox, n: int) -> None:
    time.sleep(0.3)  # SUBACK
    traffic = sewing_traffic(n, assets=20)
    publisher = Publisher("127.0.0.1", mosquitto.port, client_id="fast-client-it-pub")
    try:
        publisher.publish_all(traffic, timeout_s=60)
    finally:
        publisher.close()
    wait_until(lambda: len(inbox.refs(1)) == n, timeout_s=30, what="first delivery")
    assert sorted(inbox.latest) == sorted(traffic)

    # nothing acked yet: after a reconnect the broker redelivers all n on generation 2 ...
    drop_connection(sub, 1)
    wait_until(lambda: len(inbox.refs(2)) == n, timeout_s=30, what="redelivery on generation 2")
    # ... and acks stamped with generation 1 are skipped, even though the ids are live again
    stale = [(mid, qos, 1) for mid, qos, _ in inbox.refs(2)]
    sub.ack_batch(stale)
    wait_until(lambda: sub.stale_acks == n, timeout_s=10, what="stale acks counted")
    drop_connection(sub, 2)
    wait_until(lambda: len(inbox.refs(3)) == n, timeout_s=30, what="redelivery on generation 3")

    # one batch with the current connection's refs acks every message
    sub.ack_batch(inbox.refs(3))
    # Mosquitto 2.0.11, measured with the old per-message acks too: right after a session resume,
    # PUBACKs immediately followed by DISCONNECT are sometimes not applied (1 run in 4 redelivers
    # ~1/3 of them). Not a loss (redelivered, written again idempotently); let the broker settle.
    time.sleep(0.5)
