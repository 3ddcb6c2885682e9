"""paho-mqtt 2.2's ``Client`` with fewer system calls per received packet.

paho reads every packet with separate ``recv`` calls (the fixed header byte, each remaining-length
byte, the body), handles one packet per ``select`` wake-up, and every packet it queues from another
thread (``client.ack``) writes a wake-up byte to its socket pair. At ~200-byte QoS 1 publishes that
is ~34 µs of CPU per message before any ingest work. :class:`BufferedClient` changes three things
and keeps paho's protocol handling, callbacks, keepalive and reconnect loop:

* **Buffered reads.** On a plain TCP/Unix socket, ``_sock_recv`` reads up to
  ``_READ_CHUNK_BYTES`` per system call into a user-space buffer and serves paho's small reads from
  it. TLS and WebSocket sockets have their own buffering (and ``pending()``): they are passed
  through to paho untouched. A new connection (or a closed one) drops whatever was buffered, so
  no byte of an old connection can reach the new one.
* **Several packets per wake-up.** ``loop_read`` handles packets until the socket and the buffer
  are empty (at most ``_MAX_PACKETS_PER_READ``), and ``_loop`` consumes buffered bytes before it
  waits in ``select`` -- the socket is no longer readable once its bytes sit in our buffer (paho
  does the same for SSL's ``pending()``).
* **Work posted to the network thread.** :meth:`post` runs a function in the network thread at
  its next wake-up (one wake-up byte per call, however much the function does), and
  :meth:`queue_puback` queues a PUBACK from there without a wake-up byte (the network thread is
  awake already and writes it before it waits again). The subscriber sends a whole batch's acks
  this way.

Everything here overrides private methods of paho-mqtt **2.2.0** (pinned); the unit tests check
the byte streams and packets against paho's own.
"""

from __future__ import annotations

import contextlib
import struct
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

# One recv per 64 KiB: ~300 single-sample publishes (~200 bytes each) per system call, and the
# kernel's loopback/TCP receive buffers usually hold about this much between two wake-ups.
_READ_CHUNK_BYTES = 64 * 1024
# Packets handled per loop_read before paho's loop gets its turn (writes, keepalive, posted acks):
# at ~30 µs per packet this is ~8 ms, far below any keepalive and short enough for ack latency.
_MAX_PACKETS_PER_READ = 256
# Functions posted to the network thread and not yet run. Each post is one acked batch (or a
# flush marker), so the real bound is the broker's in-flight window; this is the safety net.
_MAX_POSTED = 10_000
_PUBACK = 0x40
_WAKE_BYTE = b"0"


class PostQueueFull(RuntimeError):
    """More than ``_MAX_POSTED`` functions wait for the network thread (it is stuck)."""


class BufferedClient(mqtt.Client):
    """A paho ``Client`` with buffered reads, several packets per wake-up, and :meth:`post`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rx = b""  # bytes received from _rx_sock and not yet handed to paho
        self._rx_pos = 0
        self._rx_sock: object = None
        self._rx_plain = False  # whether _rx_sock is read through the buffer
        self._posted: deque[Callable[[], None]] = deque()
        self._posted_lock = threading.Lock()
        self.recv_calls = 0  # system calls made through the buffer (for tests and benchmarks)

    # ------------------------------------------------------------------ buffered reads
    @property
    def buffered_bytes(self) -> int:
        """Bytes received and not yet handed to paho's packet parser."""
        return len(self._rx) - self._rx_pos

    def _sock_recv(self, bufsize: int) -> bytes:
        sock = self._sock
        if sock is not self._rx_sock:
            self._rx_reset(sock)
        if sock is None or not self._rx_plain:
            return super()._sock_recv(bufsize)
        pos = self._rx_pos
        if pos == len(self._rx):
            self.recv_calls += 1
            chunk = sock.recv(_READ_CHUNK_BYTES)  # BlockingIOError when empty, b"" at EOF
            if len(chunk) <= bufsize:
                return chunk
            self._rx, pos = chunk, 0
        end = pos + bufsize
        out = self._rx[pos:end]
        if end >= len(self._rx):
            self._rx, self._rx_pos = b"", 0
        else:
            self._rx_pos = end
        return out

    def _rx_reset(self, sock: object) -> None:
        """Forget what was buffered (a new or closed connection) and decide whether to buffer
        ``sock``: TLS and WebSocket sockets buffer themselves and say so with ``pending()``,
        which paho's loop polls, so they (and None) take paho's own path."""
        self._rx, self._rx_pos, self._rx_sock = b"", 0, sock
        self._rx_plain = sock is not None and not hasattr(sock, "pending")

    def _sock_close(self) -> None:
        self._rx_reset(None)
        super()._sock_close()

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """Handle received packets until the socket and the buffer are empty (at most
        ``max(max_packets, _MAX_PACKETS_PER_READ)`` of them)."""
        for _ in range(max(max_packets, _MAX_PACKETS_PER_READ)):
            if self._sock is None:
                return MQTTErrorCode.MQTT_ERR_NO_CONN
            rc = self._packet_read()
            if rc > 0:
                return self._loop_rc_handle(rc)
            if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
                break
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _loop(self, timeout: float = 1.0) -> MQTTErrorCode:
        self._run_posted()
        if self.buffered_bytes:  # select would not report these: the kernel has handed them over
            rc = self.loop_read()
            if rc or self._sock is None:
                return rc
            if self.buffered_bytes:
                timeout = 0.0
        return super()._loop(timeout)

    # ------------------------------------------------------------------ work for the network thread
    def post(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` in the network thread at its next wake-up (thread-safe, FIFO). Raises
        :class:`PostQueueFull` when ``_MAX_POSTED`` functions are already waiting."""
        with self._posted_lock:
            if len(self._posted) >= _MAX_POSTED:
                raise PostQueueFull(f"{len(self._posted)} functions wait for the MQTT network thread")
            self._posted.append(fn)
        wake = self._sockpairW
        if wake is not None:
            # OSError: the pair is full (the thread is waking anyway) or closed by loop_stop.
            with contextlib.suppress(OSError):
                wake.send(_WAKE_BYTE)

    def _run_posted(self) -> None:
        if not self._posted:
            return
        with self._posted_lock:
            todo = list(self._posted)
            self._posted.clear()
        for fn in todo:
            fn()

    def queue_puback(self, mid: int) -> None:
        """Queue a PUBACK for ``mid``. Call only from the network thread (a posted function): no
        wake-up byte is written, paho writes the packet before it waits in ``select`` again."""
        packet = struct.pack("!BBH", _PUBACK, 2, mid)
        self._out_packet.append(
            {"command": _PUBACK, "mid": mid, "qos": 1, "pos": 0, "to_process": len(packet),
             "packet": packet, "info": None}
        )
