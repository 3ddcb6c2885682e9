"""The JetStream source's pure parts: subject -> topic, the consumer/stream it asks for, the config
key that selects it."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
from nats.js.api import AckPolicy, StorageType
from pydantic import ValidationError

from seamline.ingest.config import IngestConfig, JetStreamConfig
from seamline.ingest.jetstream import JetStreamSource, consumer_config, stream_config, subject_topic
from seamline.ingest.service import make_source
from seamline.ingest.subscriber import MqttSubscriber


@pytest.mark.parametrize(("subject", "topic"), [
    ("seamline.v1.acme.s1.line1.m001.data", "seamline/v1/acme/s1/line1/m001/data"),
    ("seamline.v1.acme.s1._gateway.gw1.status", "seamline/v1/acme/s1/_gateway/gw1/status"),
    ("seamline.v1.acme.s1.line//07.m001.data", "seamline/v1/acme/s1/line.07/m001/data"),
])
def test_subject_maps_back_to_the_mqtt_topic(subject: str, topic: str) -> None:
    assert subject_topic(subject) == topic


def test_consumer_acks_explicitly_with_the_configured_window() -> None:
    c = JetStreamConfig(max_ack_pending=123, ack_wait_s=7.5, durable="workers")
    cc = consumer_config(c)
    assert (cc.durable_name, cc.ack_policy) == ("workers", AckPolicy.EXPLICIT)
    assert (cc.max_ack_pending, cc.ack_wait) == (123, 7.5)
    sc = stream_config(c)
    assert (sc.subjects, sc.num_replicas, sc.storage) == (["seamline.v1.>"], 3, StorageType.FILE)


def test_source_key_selects_the_source_and_the_batch_window() -> None:
    def on_message(*_: object) -> None:
        return None

    mqtt = IngestConfig()
    js = IngestConfig.model_validate({"source": "jetstream", "jetstream": {"servers": ["nats://a:4222"],
                                                                           "max_ack_pending": 600}})
    assert isinstance(make_source(mqtt, on_message), MqttSubscriber)
    assert isinstance(make_source(js, on_message), JetStreamSource)
    assert js.batch_max_messages == 300
    with pytest.raises(ValidationError):
        IngestConfig.model_validate({"source": "kafka"})
    with pytest.raises(ValidationError):
        JetStreamConfig(servers=())


def test_acks_before_start_are_dropped_not_raised() -> None:
    got: list[Sequence[object]] = []
    src = JetStreamSource(JetStreamConfig(), lambda *a: got.append(a))
    src.ack_batch([(1, 1, 0)])  # no loop yet: nothing to ack with, nothing breaks
    assert not got and not src.connected.is_set()
    assert isinstance(src.connected, threading.Event)
