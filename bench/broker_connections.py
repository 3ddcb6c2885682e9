"""Mosquitto's memory per connected gateway: N idle MQTT 3.1.1 sessions (persistent, one QoS 1
subscription each, as a gateway's uplink holds for its confirm/resend topics) against the broker
with none, in one run.

    .venv/bin/python -m bench.broker_connections --connections 2000,7601

Plain TCP (the TLS handshake's memory is not in it). Raw sockets, not paho: thousands of clients
in one process without a thread each.
"""

from __future__ import annotations

import argparse
import resource
import socket
import struct
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.gateway_load import proc_kb


def _utf8(s: str) -> bytes:
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def _remaining(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def connect_packet(client_id: str, keepalive_s: int = 600) -> bytes:
    """MQTT 3.1.1 CONNECT, clean session off (a persistent session, as the uplink uses)."""
    body = _utf8("MQTT") + bytes([4, 0x00]) + struct.pack("!H", keepalive_s) + _utf8(client_id)
    return bytes([0x10]) + _remaining(len(body)) + body


def subscribe_packet(topic: str, packet_id: int = 1) -> bytes:
    body = struct.pack("!H", packet_id) + _utf8(topic) + bytes([1])
    return bytes([0x82]) + _remaining(len(body)) + body


def _open(port: int, n: int) -> list[socket.socket]:
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(connect_packet(f"gw{i:05d}"))
        if s.recv(4)[:1] != b"\x20":
            raise RuntimeError("no CONNACK")
        s.sendall(subscribe_packet(f"seamline/v1/f{i:05d}/s1/_gateway/gw{i:05d}/resend"))
        s.recv(5)
        socks.append(s)
    return socks


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--connections", default="2000,7601", help="comma-separated counts")
    args = p.parse_args(argv)
    counts = [int(x) for x in args.connections.split(",")]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, max(counts) + 100)), hard))
    from seamline.localstack.mosquitto import BrokerOptions, MosquittoProcess

    print(f"{'connections':>11} {'RSS MB':>7} {'x none':>7} {'kB per connection':>18}")
    for n in counts:
        with tempfile.TemporaryDirectory(prefix="seamline-conns-") as tmp:
            # max_connections -1: unlimited; Mosquitto raises its own fd limit to the hard limit
            broker = MosquittoProcess(workdir=Path(tmp), options=BrokerOptions())
            broker.start()
            try:
                time.sleep(0.5)
                assert broker.pid is not None
                base = proc_kb(broker.pid, "VmRSS")
                socks = _open(broker.port, n)
                time.sleep(1.0)
                rss = proc_kb(broker.pid, "VmRSS")
                for s in socks:
                    s.close()
            finally:
                broker.stop()
        print(f"{n:>11} {rss / 1024:>7.1f} {rss / base:>7.1f} {(rss - base) / n:>18.1f}   (none: {base / 1024:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
