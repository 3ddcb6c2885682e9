"""One PostgreSQL connection for the coordination of rules replicas, with a bound on every call.

Every statement is bounded three ways: ``connect_timeout`` (libpq: at least 2 s), the server's
``statement_timeout``, and ``tcp_user_timeout`` plus TCP keepalives, so a server that vanished
without closing the connection (a partition: packets silently dropped) fails the call within
about ``timeout_s`` instead of hanging for the kernel's 15-minute retransmission limit.

A failed call closes the connection and opens a *circuit*: for a jittered, capped backoff the next
calls fail at once with :class:`CoordinationUnavailable` (no network round trip), so a replica cut
off from PostgreSQL falls back to its local lease deadlines quickly instead of waiting a timeout
per check. Calls are serialised by a lock (the scheduler runs jobs on several threads).
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import re
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from pydantic import SecretStr

from seamline.backoff import backoff_delay_s

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

T = TypeVar("T")


class CoordinationUnavailable(Exception):
    """PostgreSQL could not be reached or answered with an error; retry later (the message never
    holds the DSN or a password)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PgSettings:
    """How to reach PostgreSQL. ``timeout_s`` bounds a statement on the server and unacknowledged
    data on the socket; ``connect_timeout_s`` the connection set-up (libpq rounds up to whole
    seconds, minimum 2)."""

    dsn: SecretStr
    application_name: str = "seamline-rules"
    connect_timeout_s: float = 5.0
    timeout_s: float = 5.0
    # After a failure: first wait 0.5 s (a blip), then doubling up to 10 s, so a returning server
    # is noticed within 10 s; the jitter keeps replicas from reconnecting in lockstep.
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 10.0

    def connect_kwargs(self) -> dict[str, str | int]:
        timeout_ms = max(1, int(self.timeout_s * 1000))
        return {
            "connect_timeout": max(2, math.ceil(self.connect_timeout_s)),
            "application_name": self.application_name,
            "options": f"-c statement_timeout={timeout_ms} -c lock_timeout={timeout_ms} "
                       f"-c idle_in_transaction_session_timeout={max(timeout_ms * 2, 10_000)}",
            "tcp_user_timeout": timeout_ms,
            "keepalives": 1,
            "keepalives_idle": max(1, int(self.timeout_s)),
            "keepalives_interval": 1,
            "keepalives_count": 3,
        }


class Database:
    """Runs functions on one autocommit connection; (re)connects lazily, fails fast while the
    circuit is open."""

    def __init__(self, settings: PgSettings, *, on_connect: Callable[[psycopg.Connection], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None) -> None:
        self.settings = settings
        self._on_connect = on_connect
        self._clock = clock
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._conn: psycopg.Connection | None = None
        self._failures = 0
        self._retry_at = 0.0
        self.calls = 0
        self.failed_calls = 0
        self.fast_failures = 0

    def run(self, fn: Callable[[psycopg.Connection], T]) -> T:
        """``fn(connection)``; any database error becomes :class:`CoordinationUnavailable`."""
        import psycopg

        with self._lock:
            self.calls += 1
            now = self._clock()
            if self._failures and now < self._retry_at:
                self.fast_failures += 1
                raise CoordinationUnavailable(f"PostgreSQL unavailable (next attempt in {self._retry_at - now:.1f} s)")
            try:
                conn = self._connection()
                result = fn(conn)
            except psycopg.Error as exc:
                self._fail(exc)
                raise CoordinationUnavailable(f"PostgreSQL: {type(exc).__name__}: {self._describe(exc)}") from None
            if self._failures:
                log.info("PostgreSQL reachable again after %d failed attempts", self._failures)
            self._failures = 0
            return result

    def _connection(self) -> psycopg.Connection:
        import psycopg

        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.settings.dsn.get_secret_value(), autocommit=True,
                                         **self.settings.connect_kwargs())  # type: ignore[arg-type]
            if self._on_connect is not None:
                self._on_connect(self._conn)
        return self._conn

    def _fail(self, exc: Exception) -> None:
        self.failed_calls += 1
        self._failures += 1
        delay = backoff_delay_s(self._failures - 1, initial_s=self.settings.backoff_initial_s,
                                max_s=self.settings.backoff_max_s, random=self._rng.random)
        self._retry_at = self._clock() + delay
        level = logging.WARNING if self._failures == 1 or self._failures % 10 == 0 else logging.DEBUG
        log.log(level, "PostgreSQL call failed (%d in a row, next attempt in %.1f s): %s", self._failures, delay,
                self._describe(exc))
        self.close_connection()

    def close_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # closing a broken connection may raise; it is gone either way
                log.debug("closing a failed PostgreSQL connection raised", exc_info=True)

    def close(self) -> None:
        with self._lock:
            self.close_connection()


    def _describe(self, exc: Exception) -> str:
        """The error's first line with the DSN's secrets blanked (libpq may quote a malformed DSN)."""
        lines = str(exc).strip().splitlines()
        text = lines[0] if lines else type(exc).__name__
        for secret in _secrets(self.settings.dsn.get_secret_value()):
            text = text.replace(secret, "***")
        return text


def _secrets(dsn: str) -> list[str]:
    """Parts of a DSN that must not be logged: the whole string, a URI's password, a password=… value."""
    out = [dsn]
    with contextlib.suppress(ValueError):
        if (password := urllib.parse.urlsplit(dsn).password):
            out += [password, urllib.parse.unquote(password)]
    out += re.findall(r"password\s*=\s*'?([^'\s]+)", dsn)
    return sorted({s for s in out if s}, key=len, reverse=True)
