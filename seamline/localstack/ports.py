"""Free loopback TCP ports."""

from __future__ import annotations

import collections
import socket
import threading
import time

# Ports handed out lately by this process: a port is free again as soon as its probe socket closes,
# so the kernel may offer it twice before the first server binds it (seen once: a NATS node's
# cluster port equal to another node's MQTT port). Bounded: the oldest are forgotten.
_RECENT: collections.deque[int] = collections.deque(maxlen=4096)
_RECENT_LOCK = threading.Lock()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it), never one this
    process handed out among its last 4 096."""
    with _RECENT_LOCK:
        for _ in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                port = int(s.getsockname()[1])
            if port not in _RECENT:
                _RECENT.append(port)
                return port
    raise RuntimeError("no free TCP port on 127.0.0.1 that was not handed out already")


def wait_for_port(port: int, *, host: str = "127.0.0.1", timeout_s: float = 15.0) -> None:
    """Block until ``host:port`` accepts TCP connections; raise TimeoutError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s:.0f} s") from None
            time.sleep(0.05)
