"""The uplink's failover list and MQTT 3.1.1 against real Mosquitto brokers: a dead first address
is skipped, a lost broker is replaced by the next one in the list, nothing committed is lost, and
the 3.1.1 crash path still makes the broker publish the Will."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from seamline.edge_agent.spool import OutMessage, Priority, SqliteSpool
from seamline.edge_agent.uplink import Uplink, UplinkSettings
from seamline.localstack import MosquittoProcess, free_port
from tests.integration.edge_agent.test_edge_uplink import (
    DATA,
    OFFLINE,
    STATUS,
    Collector,
    on_connect_messages,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[SqliteSpool]:
    s = SqliteSpool(tmp_path / "spool.db", max_bytes=50_000_000)
    yield s
    s.close()


def uplink(spool: SqliteSpool, brokers: tuple[tuple[str, int], ...], protocol: str) -> Uplink:
    s = UplinkSettings(host=brokers[0][0], port=brokers[0][1], brokers=brokers, protocol=protocol, client_id="gw-fo",
                       backoff_initial_s=0.1, backoff_max_s=0.3, keepalive_s=5, connect_timeout_s=2.0)
    return Uplink(settings=s, spool=spool, will=OFFLINE, on_connect_messages=on_connect_messages)


def commit(spool: SqliteSpool, up: Uplink, numbers: range) -> None:
    spool.commit([OutMessage(DATA, str(n).encode(), Priority.AGGREGATE) for n in numbers])
    up.wake()


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_dead_first_address_then_lost_broker_fail_over_without_loss(
    mosquitto_factory: Callable[..., MosquittoProcess], spool: SqliteSpool, protocol: str
) -> None:
    a, b = mosquitto_factory(), mosquitto_factory()
    sub_a, sub_b = Collector(a.port), Collector(b.port)
    up = uplink(spool, (("127.0.0.1", free_port()), ("127.0.0.1", a.port), ("127.0.0.1", b.port)), protocol)
    up.start()
    try:
        commit(spool, up, range(100))
        wait_until(lambda: set(sub_a.data_numbers()) == set(range(100)), what="first 100 on broker a")
        assert up.stats.connect_failures >= 1  # the dead first address was tried
        assert sub_b.data_numbers() == []
        a.stop()
        commit(spool, up, range(100, 200))
        wait_until(lambda: set(sub_b.data_numbers()) >= set(range(100, 200)), what="next 100 on broker b")
        wait_until(lambda: spool.stats().messages == 0, what="spool drained")
        assert up.stats.reconnects >= 1
    finally:
        up.stop()
        sub_a.close()
        sub_b.close()
    assert sub_b.payloads(STATUS)[-1] == b"offline"  # graceful stop: published by the uplink itself


def test_mqtt311_crash_path_still_gets_the_will_published(mosquitto: MosquittoProcess, spool: SqliteSpool) -> None:
    sub = Collector(mosquitto.port)
    up = uplink(spool, (("127.0.0.1", mosquitto.port),), "3.1.1")
    up.start()
    try:
        wait_until(lambda: sub.payloads(STATUS)[-1:] == [b"online"], what="online status")
        up.crash_disconnect()  # 3.1.1 has no DISCONNECT-with-Will: the socket is closed instead
        wait_until(lambda: sub.payloads(STATUS)[-1:] == [b"offline"], what="the Will from the broker")
    finally:
        up.stop()
        sub.close()
