"""A wake-up for a thread that sleeps in ``select``: any thread pokes a socketpair whose reading end
the sleeper also watches (the uplink's publisher thread, :mod:`seamline.edge_agent.uplink`)."""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections.abc import Callable


class Waker:
    def __init__(self) -> None:
        self._r, self._w = socket.socketpair()
        self._r.setblocking(False)
        self._w.setblocking(False)

    @property
    def socket(self) -> socket.socket:
        """The end to ``select`` on for reading; :meth:`drain` it once readable."""
        return self._r

    def wake(self) -> None:
        """Any thread. A full buffer means a wake-up is pending already."""
        with contextlib.suppress(BlockingIOError, OSError):
            self._w.send(b"\0")

    def drain(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while self._r.recv(4096):
                pass

    def sleep(self, delay_s: float, *, until: Callable[[], bool]) -> None:
        """Sleep ``delay_s``, cut short only once ``until()`` is true (a wake-up alone does not)."""
        deadline = time.monotonic() + delay_s
        while not until():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            select.select([self._r], [], [], remaining)
            self.drain()

    def close(self) -> None:
        self._r.close()
        self._w.close()
