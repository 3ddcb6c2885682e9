"""BufferedClient against fake sockets: the packets paho parses from buffered reads are exactly
the ones it parses from its own unbuffered reads, whatever the chunking; PUBACKs and posted work."""

from __future__ import annotations

import itertools
import random
import struct

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion

from seamline.ingest import fast_client
from seamline.ingest.fast_client import BufferedClient, PostQueueFull

Received = tuple[str, bytes, int, int]  # topic, payload, mid, qos


class FakeSocket:
    """A non-blocking stream socket: ``arrive`` makes chunks readable, ``recv(n)`` returns at most
    ``n`` bytes of the current chunk (as the kernel does across segment boundaries), then raises
    BlockingIOError once nothing is readable, and returns b"" after ``close_remote``."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.recv_sizes: list[int] = []
        self.eof = False

    def arrive(self, data: bytes) -> None:
        self.chunks.append(data)

    def close_remote(self) -> None:
        self.eof = True

    def recv(self, n: int) -> bytes:
        self.recv_sizes.append(n)
        if not self.chunks:
            if self.eof:
                return b""
            raise BlockingIOError
        head = self.chunks[0]
        out, rest = head[:n], head[n:]
        if rest:
            self.chunks[0] = rest
        else:
            self.chunks.pop(0)
        return out

    def send(self, data: bytes) -> int:
        return len(data)

    def close(self) -> None:
        pass


def remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def publish_packet(topic: str, payload: bytes, mid: int, qos: int = 1) -> bytes:
    t = topic.encode()
    body = struct.pack("!H", len(t)) + t + (struct.pack("!H", mid) if qos else b"") + payload
    return bytes([0x30 | (qos << 1)]) + remaining_length(len(body)) + body


def stream(n: int, seed: int) -> tuple[bytes, list[Received]]:
    """``n`` publishes with payloads from 0 bytes to 70 KiB (remaining lengths of 1-3 bytes, bodies
    larger than one 64 KiB read), QoS 0 and 1."""
    rnd = random.Random(seed)
    data, expected = bytearray(), []
    for k in range(n):
        size = rnd.choice([0, 1, 120, 127, 128, 200, 16_383, 16_384, 70_000])
        payload = bytes(rnd.getrandbits(8) for _ in range(min(size, 64))) * (size // 64 + 1)
        payload = payload[:size]
        qos = rnd.choice([0, 1, 1])
        topic = f"seamline/v1/acme/s1/line1/m{k % 7}/data"
        mid = 1 + k % 65535 if qos else 0
        data += publish_packet(topic, payload, mid, qos)
        expected.append((topic, payload, mid, qos))
    return bytes(data), expected


def chunk(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


def _listen(client: mqtt.Client) -> list[Received]:
    got: list[Received] = []
    client.on_message = lambda _c, _u, m: got.append((m.topic, bytes(m.payload), m.mid, m.qos))
    return got


def make(protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv311) -> tuple[BufferedClient, list[Received]]:
    client = BufferedClient(CallbackAPIVersion.VERSION2, client_id="t", protocol=protocol, manual_ack=True)
    return client, _listen(client)


def make_plain(protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv311) -> tuple[mqtt.Client, list[Received]]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="t", protocol=protocol, manual_ack=True)
    return client, _listen(client)


def feed(client: mqtt.Client, sock: FakeSocket, chunks: list[bytes], per_round: int) -> None:
    """Chunks arrive ``per_round`` at a time; after each arrival the client reads until it would block."""
    client._sock = sock  # type: ignore[assignment]
    for i in range(0, len(chunks), per_round):
        for c in chunks[i:i + per_round]:
            sock.arrive(c)
        for _ in range(10_000):  # paho's loop would call loop_read on each readable select
            assert client.loop_read() == MQTTErrorCode.MQTT_ERR_SUCCESS
            if not sock.chunks and not getattr(client, "buffered_bytes", 0):
                break


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.integers(0, 10**7), max_size=40),
       per_round=st.integers(1, 5))
def test_buffered_reads_give_paho_the_same_packets_for_any_chunking(seed: int, cuts: list[int], per_round: int) -> None:
    data, expected = stream(12, seed)
    chunks = chunk(data, cuts)
    buffered, got = make()
    feed(buffered, FakeSocket(), chunks, per_round)
    plain, got_plain = make_plain()
    feed(plain, FakeSocket(), chunks, per_round)
    assert got == expected
    assert got_plain == expected  # the oracle: paho's own unbuffered reads
    assert buffered.buffered_bytes == 0


def test_one_system_call_serves_many_packets() -> None:
    packets = [publish_packet(f"seamline/v1/a/s/l/m{k}/data", b'{"x": %d}' % k, k + 1) for k in range(200)]
    sock = FakeSocket()
    sock.arrive(b"".join(packets))
    client, got = make()
    client._sock = sock  # type: ignore[assignment]
    assert client.loop_read() == MQTTErrorCode.MQTT_ERR_SUCCESS
    assert [m[2] for m in got] == list(range(1, 201))  # all of them in one loop_read
    # one 64 KiB read got everything, the second found the socket empty
    assert sock.recv_sizes == [fast_client._READ_CHUNK_BYTES, fast_client._READ_CHUNK_BYTES]
    assert client.recv_calls == 2


def test_loop_read_is_bounded_and_keeps_the_rest_buffered() -> None:
    n = fast_client._MAX_PACKETS_PER_READ + 10
    sock = FakeSocket()
    sock.arrive(b"".join(publish_packet("seamline/t", b"p", k + 1) for k in range(n)))
    client, got = make()
    client._sock = sock  # type: ignore[assignment]
    client.loop_read()
    assert len(got) == fast_client._MAX_PACKETS_PER_READ
    assert client.buffered_bytes == 10 * len(publish_packet("seamline/t", b"p", 1))
    client.loop_read()
    assert [m[2] for m in got] == list(range(1, n + 1))


def test_a_new_or_closed_connection_drops_the_old_buffer() -> None:
    old = FakeSocket()
    old.arrive(publish_packet("seamline/old", b"x" * 10, 1) * 3)
    client, _ = make()
    client._sock = old  # type: ignore[assignment]
    assert client._sock_recv(1) == b"\x32"  # one byte served, the rest of the chunk buffered
    assert client.buffered_bytes > 0
    new = FakeSocket()
    new.arrive(b"\xab\xcd")
    client._sock = new  # type: ignore[assignment]
    assert client._sock_recv(5) == b"\xab\xcd"  # nothing of the old connection
    assert client.buffered_bytes == 0
    new.arrive(b"\x01\x02\x03")
    assert client._sock_recv(1) == b"\x01"
    assert client.buffered_bytes == 2
    client._sock_close()
    assert client.buffered_bytes == 0 and client._sock is None


def test_end_of_stream_is_reported_as_a_lost_connection() -> None:
    sock = FakeSocket()
    sock.arrive(publish_packet("seamline/t", b"p", 1))
    sock.close_remote()
    client, got = make()
    lost: list[object] = []
    client.on_disconnect = lambda *args: lost.append(args[3])
    client._sock = sock  # type: ignore[assignment]
    client.loop_read()
    assert [m[2] for m in got] == [1] and len(lost) == 1 and client._sock is None


class PendingSocket(FakeSocket):
    """Looks like an SSL socket (it has ``pending()``): it must not be read through the buffer."""

    def pending(self) -> int:
        return 0


def test_sockets_that_buffer_themselves_are_read_by_paho_directly() -> None:
    sock = PendingSocket()
    sock.arrive(b"\x32\x05abcde")
    client, _ = make()
    client._sock = sock  # type: ignore[assignment]
    assert client._sock_recv(1) == b"\x32"
    assert sock.recv_sizes == [1] and client.buffered_bytes == 0


@pytest.mark.parametrize("protocol", [MQTTProtocolVersion.MQTTv311, MQTTProtocolVersion.MQTTv5])
def test_queue_puback_queues_the_packet_paho_would(protocol: MQTTProtocolVersion) -> None:
    ours, _ = make(protocol=protocol)
    paho, _ = make_plain(protocol=protocol)
    for mid in (1, 255, 256, 65535):
        ours.queue_puback(mid)
        paho._send_puback(mid)  # no socket: it stays queued
    assert list(ours._out_packet) == list(paho._out_packet)


class CountingPair:
    def __init__(self) -> None:
        self.sent = 0

    def send(self, data: bytes) -> int:
        self.sent += 1
        return len(data)

    def close(self) -> None:
        pass


def test_posted_functions_run_in_order_with_one_wake_up_each() -> None:
    client, _ = make()
    pair = CountingPair()
    client._sockpairW = pair  # type: ignore[assignment]
    ran: list[int] = []
    for i in range(3):
        client.post(lambda i=i: ran.append(i))  # type: ignore[misc]
    assert ran == [] and pair.sent == 3
    client._run_posted()
    assert ran == [0, 1, 2]
    client._run_posted()
    assert ran == [0, 1, 2]


def test_the_post_queue_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast_client, "_MAX_POSTED", 2)
    client, _ = make()
    client.post(lambda: None)
    client.post(lambda: None)
    with pytest.raises(PostQueueFull):
        client.post(lambda: None)
    client._run_posted()
    client.post(lambda: None)  # room again once the network thread ran them
