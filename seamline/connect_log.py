"""Logging of failed connection attempts, rate-limited: the first failure at once with its cause
and the next retry, then one summary line per ``every_s`` while the server stays away, and one
line when the connection comes back. A broker that is down for an hour is ~60 lines, not 3 600,
and never silence. Standard library only (the gateway's pydantic-free runtime uses it).

paho calls ``on_connect_fail`` from inside its ``except OSError`` block; :meth:`paho_hook` reads
the cause from there (paho passes no exception to the callback)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any

# A summary a minute while a server stays away: enough to see it in `journalctl -f`, few enough
# that a week-long outage does not fill the journal.
SUMMARY_EVERY_S = 60.0


class ConnectFailureLog:
    """Counts failed attempts to reach ``what`` (e.g. ``local broker 127.0.0.1:1883``)."""

    def __init__(self, log: logging.Logger, what: str, *, retry_min_s: float, retry_max_s: float,
                 every_s: float = SUMMARY_EVERY_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._log, self.what = log, what
        self._min, self._max, self._every, self._clock = retry_min_s, retry_max_s, every_s, clock
        self.failures = 0  # in a row, since the last success
        self.total = 0
        self._first_at = 0.0
        self._logged_at: float | None = None
        self._since_logged = 0

    def next_retry_s(self) -> float:
        """The reconnect delay after ``failures`` failures in a row (doubling, capped), seconds."""
        return float(min(self._max, self._min * 2 ** max(0, self.failures - 1)))

    def failed(self, cause: BaseException | str | None) -> None:
        now = self._clock()
        self.failures += 1
        self.total += 1
        self._since_logged += 1
        if self.failures == 1:
            self._first_at = now
        if self._logged_at is not None and now - self._logged_at < self._every:
            return
        reason = _describe(cause)
        if self.failures == 1:
            self._log.warning("cannot connect to %s: %s; retrying in %.0f s", self.what, reason, self.next_retry_s())
        else:
            self._log.warning("still cannot connect to %s after %d attempts over %.0f s: %s; retrying every "
                              "%.0f s at most", self.what, self.failures, now - self._first_at, reason,
                              self.next_retry_s())
        self._logged_at, self._since_logged = now, 0

    def connected(self) -> None:
        if self.failures:
            self._log.info("connected to %s after %d failed attempts over %.0f s", self.what, self.failures,
                           self._clock() - self._first_at)
        self.failures, self._logged_at, self._since_logged = 0, None, 0

    def paho_hook(self) -> Callable[..., None]:
        """An ``on_connect_fail`` callback for a paho client (the cause is the OSError being handled)."""

        def on_connect_fail(*_args: Any) -> None:
            self.failed(sys.exc_info()[1])

        return on_connect_fail


def _describe(cause: BaseException | str | None) -> str:
    if cause is None:
        return "unknown cause"
    if isinstance(cause, str):
        return cause
    text = getattr(cause, "strerror", None) or str(cause) or type(cause).__name__
    return f"{type(cause).__name__}: {text}"
