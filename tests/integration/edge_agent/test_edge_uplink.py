"""Uplink + SqliteSpool against a real Mosquitto: outages, SIGKILL of the publisher process, the
spool's drop policy end to end, and the Will / retained status."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from seamline.edge_agent.spool import OutMessage, Priority, SqliteSpool
from seamline.edge_agent.uplink import Uplink, UplinkSettings
from seamline.localstack import MosquittoProcess

pytestmark = pytest.mark.integration

STATUS = "t/gw/status"
BIRTH = "t/gw/birth"
DATA = "t/gw/data"
OFFLINE = OutMessage(STATUS, b"offline", Priority.STATE, retain=True)
REPO = Path(__file__).resolve().parents[3]


def on_connect_messages() -> list[OutMessage]:
    return [OutMessage(BIRTH, b"birth", Priority.STATE), OutMessage(STATUS, b"online", Priority.STATE, retain=True)]


class Collector:
    """A QoS 1 subscriber; ``persistent``: its queue survives a broker restart.

    MQTT 3.1.1 with clean_session=False on purpose: Mosquitto 2.0.11 (Debian's) does not restore
    an MQTT 5 session (SessionExpiryInterval) from persistence after a restart, a 3.1.1 one it does.
    """

    def __init__(self, port: int, topic: str = "t/#", *, persistent: bool = True) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sub-{uuid.uuid4().hex[:8]}",
                                  protocol=MQTTProtocolVersion.MQTTv311, clean_session=not persistent)
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        wait_until(lambda: self.client.is_connected(), what="subscriber connected")
        time.sleep(0.2)  # SUBACK

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def payloads(self, topic: str) -> list[bytes]:
        with self._lock:
            return [p for t, p, _ in self.messages if t == topic]

    def data_numbers(self) -> list[int]:
        return [int(p) for p in self.payloads(DATA)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def first_occurrences(values: list[int]) -> list[int]:
    seen: set[int] = set()
    return [v for v in values if not (v in seen or seen.add(v))]  # type: ignore[func-returns-value]


def wait_until(pred: Callable[[], bool], *, timeout_s: float = 20.0, what: str = "condition",
               detail: Callable[[], object] = lambda: "") -> None:
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what} {detail()}")
        time.sleep(0.02)


def settings(port: int, client_id: str = "gw-1", **kw: object) -> UplinkSettings:
    return UplinkSettings(host="127.0.0.1", port=port, client_id=client_id, backoff_initial_s=0.1,
                          backoff_max_s=0.4, keepalive_s=5, connect_timeout_s=3.0, **kw)  # type: ignore[arg-type]


def data(numbers: range) -> list[OutMessage]:
    return [OutMessage(DATA, str(n).encode(), Priority.AGGREGATE) for n in numbers]


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[SqliteSpool]:
    s = SqliteSpool(tmp_path / "spool.db", max_bytes=50_000_000)
    yield s
    s.close()


def test_broker_outage_every_message_arrives_in_order(mosquitto: MosquittoProcess, spool: SqliteSpool) -> None:
    sub = Collector(mosquitto.port)
    up = Uplink(settings=settings(mosquitto.port), spool=spool, will=OFFLINE, on_connect_messages=on_connect_messages)
    up.start()
    try:
        for start in range(0, 100, 10):
            spool.commit(data(range(start, start + 10)))
            up.wake()
        wait_until(lambda: len(set(sub.data_numbers())) == 100, what="first 100")
        mosquitto.stop()
        # the "60 s outage", compressed: the agent keeps committing while the broker is gone
        for start in range(100, 300, 10):
            spool.commit(data(range(start, start + 10)))
            up.wake()
            time.sleep(0.05)
        assert spool.stats().messages >= 200
        assert not up.stats.connected
        mosquitto.start()
        for start in range(300, 400, 10):
            spool.commit(data(range(start, start + 10)))
            up.wake()
        wait_until(lambda: len(set(sub.data_numbers())) == 400, what="all 400 after the outage",
                   detail=lambda: (sorted(set(range(400)) - set(sub.data_numbers())), up.stats, spool.stats(),
                                   sub.client.is_connected()))
        assert first_occurrences(sub.data_numbers()) == list(range(400))
        wait_until(lambda: spool.stats().messages == 0, what="spool drained")
        st = up.stats
        assert st.reconnects >= 1 and st.connect_failures >= 1 and st.connected
        assert st.acked_total == 400 and st.rejected_total == 0
        assert len(sub.payloads(BIRTH)) == st.reconnects + 1  # birth on every connect
        assert sub.payloads(STATUS)[-1] == b"online"
    finally:
        up.stop()
        sub.close()
    assert spool.stats().acked_total == 400


PUBLISHER = """
import sys, time
from pathlib import Path
from seamline.edge_agent.spool import OutMessage, Priority, SqliteSpool
from seamline.edge_agent.uplink import Uplink, UplinkSettings
path, port, total = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
spool = SqliteSpool(path, max_bytes=50_000_000)
status = "t/gw/status"
up = Uplink(
    settings=UplinkSettings(host="127.0.0.1", port=port, client_id="gw-kill", backoff_initial_s=0.1,
                            backoff_max_s=0.4),
    spool=spool, will=OutMessage(status, b"offline", Priority.STATE, retain=True),
    on_connect_messages=lambda: [OutMessage(status, b"online", Priority.STATE, retain=True)])
up.start()
nxt = int(spool.load_checkpoint("next") or b"0")
while nxt < total:
    msgs = [OutMessage("t/gw/data", str(n).encode(), Priority.AGGREGATE) for n in range(nxt, nxt + 10)]
    spool.commit(msgs, {"next": str(nxt + 10).encode()})
    up.wake()
    nxt += 10
    print(nxt, flush=True)
    time.sleep(0.005)
deadline = time.monotonic() + 30
while spool.stats().messages and time.monotonic() < deadline:
    time.sleep(0.02)
print("drained", spool.stats().messages, flush=True)
up.stop()
spool.close()
"""


def run_publisher(spool_path: Path, port: int, total: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", PUBLISHER, str(spool_path), str(port), str(total)],
                            stdout=subprocess.PIPE, text=True, cwd=REPO)


def test_sigkill_publisher_then_restart_loses_nothing(mosquitto: MosquittoProcess, tmp_path: Path) -> None:
    sub = Collector(mosquitto.port)
    total = 800
    path = tmp_path / "spool.db"
    proc = run_publisher(path, mosquitto.port, total)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if int(line) >= 300:
                os.kill(proc.pid, signal.SIGKILL)
                break
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        # kill -9: the broker publishes the retained Will
        wait_until(lambda: sub.payloads(STATUS)[-1:] == [b"offline"], what="Will after SIGKILL")
        before_restart = set(sub.data_numbers())
        assert 0 < len(before_restart) < total
        proc = run_publisher(path, mosquitto.port, total)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        assert out.strip().splitlines()[-1] == "drained 0"
        wait_until(lambda: len(set(sub.data_numbers())) == total, what="all messages after restart")
        assert first_occurrences(sub.data_numbers()) == list(range(total))
        statuses = sub.payloads(STATUS)
        assert statuses[-1] == b"offline"  # graceful stop published it
        assert statuses.count(b"online") == 2
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        sub.close()
    late = Collector(mosquitto.port, STATUS, persistent=False)  # retained, for anyone joining later
    try:
        wait_until(lambda: late.payloads(STATUS) == [b"offline"], what="retained offline")
    finally:
        late.close()


def test_full_spool_sends_exactly_what_the_policy_keeps(mosquitto: MosquittoProcess, tmp_path: Path) -> None:
    # equal sizes: payload 3 digits; capacity = 20 messages
    def m(n: int, p: Priority) -> OutMessage:
        return OutMessage(DATA, f"{n:03d}".encode(), p)

    from seamline.edge_agent.spool import message_size_bytes

    spool = SqliteSpool(tmp_path / "s.db", max_bytes=20 * message_size_bytes(DATA, b"000"))
    priorities = [Priority.STATE, Priority.AGGREGATE, Priority.TELEMETRY, Priority.AGGREGATE]
    batches = [[m(n, priorities[n % 4]) for n in range(start, start + 10)] for start in range(0, 50, 10)]
    kept: list[OutMessage] = []
    dropped = 0
    for batch in batches:  # reference: after each commit drop (priority, age) lowest until it fits
        spool.commit(batch)
        kept += batch
        while len(kept) > 20:
            victim = min(kept, key=lambda x: (x.priority, kept.index(x)))
            kept.remove(victim)
            dropped += 1
    st = spool.stats()
    assert st.dropped_total == dropped == 30
    assert st.dropped_by_priority[Priority.TELEMETRY] == 12 and st.dropped_by_priority[Priority.STATE] == 0
    sub = Collector(mosquitto.port)
    up = Uplink(settings=settings(mosquitto.port), spool=spool, will=OFFLINE, on_connect_messages=on_connect_messages)
    up.start()
    try:
        wait_until(lambda: len(sub.data_numbers()) >= 20, what="kept messages")
        time.sleep(0.2)
        assert sub.data_numbers() == [int(x.payload) for x in kept]
        assert spool.stats().put_total == 50 == len(sub.data_numbers()) + spool.stats().dropped_total
    finally:
        up.stop()
        sub.close()
        spool.close()


def test_will_on_crash_disconnect_and_offline_on_graceful_stop(mosquitto: MosquittoProcess, spool: SqliteSpool) -> None:
    sub = Collector(mosquitto.port, STATUS)
    up = Uplink(settings=settings(mosquitto.port), spool=spool, will=OFFLINE, on_connect_messages=on_connect_messages)
    up.start()
    try:
        wait_until(lambda: sub.payloads(STATUS) == [b"online"], what="online status")
        up.crash_disconnect()
        wait_until(lambda: sub.payloads(STATUS) == [b"online", b"offline"], what="Will after 0x04 disconnect")
        up = Uplink(settings=settings(mosquitto.port), spool=spool, will=OFFLINE,
                    on_connect_messages=on_connect_messages)
        up.start()
        wait_until(lambda: sub.payloads(STATUS)[-1:] == [b"online"], what="online again")
        spool.commit(data(range(5)))
        up.wake()
        wait_until(lambda: up.stats.published_total == 5, what="5 published")
        up.stop(graceful=True, timeout_s=5)
        assert spool.stats().messages == 0  # in-flight flushed before going offline
        wait_until(lambda: sub.payloads(STATUS) == [b"online", b"offline", b"online", b"offline"],
                   what="offline after graceful stop")
    finally:
        up.stop()
        sub.close()
    late = Collector(mosquitto.port, STATUS, persistent=False)
    try:
        wait_until(lambda: [(t, p, r) for t, p, r in late.messages] == [(STATUS, b"offline", True)],
                   what="retained offline")
    finally:
        late.close()


def test_graceful_stop_drains_the_spool_before_saying_offline(mosquitto: MosquittoProcess, spool: SqliteSpool) -> None:
    sub = Collector(mosquitto.port)
    up = Uplink(settings=settings(mosquitto.port, max_inflight=10), spool=spool, will=OFFLINE,
                on_connect_messages=on_connect_messages)
    up.start()
    try:
        wait_until(lambda: up.stats.connected, what="uplink connected")
        spool.commit(data(range(2000)))  # far more than the in-flight window of 10
        up.stop(graceful=True, timeout_s=15.0)
        assert spool.stats().messages == 0
        wait_until(lambda: len(sub.data_numbers()) >= 2000, what="every spooled message before the stop ended")
        assert first_occurrences(sub.data_numbers()) == list(range(2000))
        wait_until(lambda: sub.payloads(STATUS)[-1:] == [b"offline"], what="offline after the drain")
    finally:
        up.stop()
        sub.close()


def test_graceful_stop_with_the_broker_down_keeps_the_spool(mosquitto: MosquittoProcess, spool: SqliteSpool) -> None:
    up = Uplink(settings=settings(mosquitto.port), spool=spool, will=OFFLINE, on_connect_messages=on_connect_messages)
    up.start()
    wait_until(lambda: up.stats.connected, what="uplink connected")
    mosquitto.stop()
    spool.commit(data(range(50)))
    up.wake()
    up.stop(graceful=True, timeout_s=2.0)
    assert spool.stats().messages == 50  # kept for the next start, nothing dropped


def test_rebirth_repeats_the_birth_on_a_live_connection(mosquitto: MosquittoProcess, spool: SqliteSpool) -> None:
    """``rebirth_s``: the birth and online status again on the same connection, so a platform
    that lost a birth (a clustered broker losing a node) learns the gateway's assets again."""
    sub = Collector(mosquitto.port)
    up = Uplink(settings=settings(mosquitto.port, rebirth_s=0.3), spool=spool, will=OFFLINE,
                on_connect_messages=on_connect_messages)
    up.start()
    try:
        wait_until(lambda: len(sub.payloads(BIRTH)) >= 3, what="three births")
        assert up.stats.reconnects == 0  # one connection: the repeats are not reconnects
        assert sub.payloads(STATUS)[-1] == b"online"
    finally:
        up.stop()


def test_no_rebirth_by_default_in_the_uplink(mosquitto: MosquittoProcess, spool: SqliteSpool) -> None:
    sub = Collector(mosquitto.port)
    up = Uplink(settings=settings(mosquitto.port), spool=spool, will=OFFLINE, on_connect_messages=on_connect_messages)
    up.start()
    try:
        spool.commit(data(range(5)))
        up.wake()
        wait_until(lambda: len(set(sub.data_numbers())) == 5, what="5 messages")
        time.sleep(1.0)  # several idle wakes of the publisher thread
        assert len(sub.payloads(BIRTH)) == 1
    finally:
        up.stop()
