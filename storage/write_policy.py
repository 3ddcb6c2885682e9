"""Write a batch durably: retry, split, bisect and reject until every line is written or rejected.

Modelled on Telegraf's output retry: the batch is never dropped because the server is away or
busy. What the caller may acknowledge upstream is exactly ``WriteOutcome``: lines written and
lines rejected (to quarantine). If ``stop`` is set while waiting, ``WriteAborted`` is raised and the
caller acknowledges nothing (a replay is harmless: equal lines are one point in InfluxDB).

Decisions per error type:

* ``RetryableWriteError`` (429/503/5xx/connection/timeout): wait ``Retry-After`` (capped) when the
  server sent one, else exponential backoff with jitter; retry the same lines.
* ``BatchTooLargeError`` (413): split in halves, recursively, and remember the size that was
  refused: later batches go out in chunks of the size that works (probing twice as large again
  every ``probe_every`` successful requests). One line still refused is the server's limit, not
  the line's fault (the contract bounds every payload): kept and retried like a limit below.
* ``PartialWriteError`` (400 about lines' content): lines named by the server are rejected with its
  reason; reasons that name no line make us bisect the rest until single lines are rejected; the
  rest is re-written (idempotent; 1.x has already stored it, 2.x may not have). A 400 that names no
  line's content arrives as ``RetryableWriteError`` (a server fault) and is retried whole.
* ``AuthWriteError`` (401/403), ``ServerLimitError`` (the database's series/tag-value limits) and
  ``PermanentWriteError`` (404 database not found, unknown RP): an operator has to act; keep the
  batch, log ERROR (never credentials), back off, retry. Valid lines are never quarantined for
  what the database cannot take.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from seamline.backoff import backoff_delay_s
from seamline.storage.write_errors import (
    AuthWriteError,
    BatchTooLargeError,
    PartialWriteError,
    PermanentWriteError,
    RetryableWriteError,
    ServerLimitError,
)

__all__ = [
    "PointWriter",
    "WriteAborted",
    "WriteOutcome",
    "WritePolicy",
    "WritePolicyConfig",
    "WritePolicyCounters",
]

log = logging.getLogger(__name__)

# Sleeper(seconds, stop) -> True if stop was set during the wait (abort), False if the time passed.
Sleeper = Callable[[float, threading.Event], bool]

# A failing streak logs its first failure and then every Nth at WARNING; the rest go to DEBUG, so a
# 10-minute outage at a 30 s cap gives a handful of lines, not thousands.
_LOG_EVERY_NTH_FAILURE = 10


class PointWriter(Protocol):
    """Writes lines of line protocol (ms precision) or raises an ``storage.write_errors`` error."""

    def write(self, lines: Sequence[str]) -> None: ...

    def close(self) -> None: ...


class WriteAborted(Exception):
    """``stop`` was set before every line was written or rejected: acknowledge nothing."""

    def __init__(self, message: str, *, written: int, pending: int) -> None:
        super().__init__(message)
        self.written = written
        self.pending = pending


@dataclass(frozen=True, slots=True, kw_only=True)
class WritePolicyConfig:
    """Backoff tuning, all in seconds."""

    # First wait after a failure; short, because most 5xx/connection blips last under a second.
    initial_backoff_s: float = 0.5
    # Longest wait between attempts: an outage is noticed within 30 s of its end.
    max_backoff_s: float = 30.0
    # A misbehaving server must not park ingest for hours with a huge Retry-After.
    max_retry_after_s: float = 60.0
    # After a 413 taught a smaller request size, try twice that size again after this many
    # successful requests: a server whose limit was raised gets full batches back within minutes.
    probe_every: int = 200

    def __post_init__(self) -> None:
        if not 0 < self.initial_backoff_s <= self.max_backoff_s:
            raise ValueError("need 0 < initial_backoff_s <= max_backoff_s")
        if self.max_retry_after_s < 0:
            raise ValueError("max_retry_after_s must be >= 0")
        if self.probe_every < 1:
            raise ValueError("probe_every must be >= 1")


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteOutcome:
    """``written`` lines stored, ``rejected`` (line, reason) pairs to quarantine; ``attempts`` =
    write requests made, ``retries`` = requests that repeated lines after a failure."""

    written: int
    rejected: list[tuple[str, str]] = field(default_factory=list)
    attempts: int = 0
    retries: int = 0


@dataclass(frozen=True, slots=True)
class WritePolicyCounters:
    """Totals since the policy was created (a snapshot; counters only ever grow)."""

    batches: int = 0
    lines_written: int = 0
    lines_rejected: int = 0
    attempts: int = 0
    retries: int = 0
    splits_413: int = 0
    bisections: int = 0
    retryable_errors: int = 0
    auth_errors: int = 0
    server_limit_errors: int = 0
    permanent_errors: int = 0
    partial_writes: int = 0
    aborted_batches: int = 0
    waited_s: float = 0.0


_ERROR_COUNTER: dict[type[Exception], str] = {
    AuthWriteError: "auth_errors", PermanentWriteError: "permanent_errors", ServerLimitError: "server_limit_errors",
}


def _default_sleep(seconds: float, stop: threading.Event) -> bool:
    return stop.wait(seconds)


class WritePolicy:
    """Stateless per batch apart from counters; safe to share between worker threads."""

    def __init__(
        self,
        config: WritePolicyConfig | None = None,
        *,
        sleep: Sleeper | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config or WritePolicyConfig()
        self._sleep = sleep or _default_sleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._counts: dict[str, float] = dict.fromkeys(WritePolicyCounters.__slots__, 0)
        self._max_lines: int | None = None  # the request size a 413 taught (None: no limit seen)
        self._ok_at_limit = 0

    @property
    def max_lines(self) -> int | None:
        """Lines per request since a 413 taught a limit; None while no limit is known."""
        with self._lock:
            return self._max_lines

    def _refused(self, n_lines: int) -> None:
        """A request of ``n_lines`` got 413: from now on send at most half of it (a refused request
        larger than the size already learned teaches nothing new)."""
        with self._lock:
            if self._max_lines is None or n_lines <= self._max_lines:
                self._max_lines = max(1, n_lines // 2)
                self._ok_at_limit = 0

    def _accepted(self, n_lines: int) -> None:
        with self._lock:
            if self._max_lines is None or n_lines < self._max_lines:
                return
            self._ok_at_limit += 1
            if self._ok_at_limit >= self.config.probe_every:
                self._max_lines *= 2
                self._ok_at_limit = 0

    @property
    def counters(self) -> WritePolicyCounters:
        with self._lock:
            c = self._counts
            return WritePolicyCounters(
                **{k: (v if k == "waited_s" else int(v)) for k, v in c.items()}  # type: ignore[arg-type]
            )

    def _count(self, name: str, n: float = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def backoff_s(self, failures: int) -> float:
        """Wait after the ``failures``-th consecutive failure (1-based): "equal jitter" — half of
        the capped exponential delay fixed, half random — so retries never hammer in lockstep
        and never wait ~0."""
        c = self.config
        return backoff_delay_s(failures - 1, initial_s=c.initial_backoff_s, max_s=c.max_backoff_s,
                               random=self._rng.random)

    def write_durably(
        self, writer: PointWriter, lines: Sequence[str], *, stop: threading.Event
    ) -> WriteOutcome:
        """Write every line or reject it; raise ``WriteAborted`` if ``stop`` is set while waiting."""
        self._count("batches")
        run = _Run(self, writer, lines, stop)
        try:
            run.execute()
        except WriteAborted:
            self._count("aborted_batches")
            raise
        self._count("lines_written", run.written)
        self._count("lines_rejected", len(run.rejected))
        return WriteOutcome(
            written=run.written,
            rejected=[(lines[i], reason) for i, reason in sorted(run.rejected)],
            attempts=run.attempts,
            retries=run.retries,
        )


class _Run:
    """The state of one write_durably call: a stack of chunks (index lists into ``lines``)."""

    def __init__(self, policy: WritePolicy, writer: PointWriter, lines: Sequence[str], stop: threading.Event):
        self.p = policy
        self.writer = writer
        self.lines = lines
        self.stop = stop
        self.written = 0
        self.rejected: list[tuple[int, str]] = []
        self.attempts = 0
        self.retries = 0
        self.failures = 0  # consecutive, for the backoff exponent
        size = policy.max_lines or len(lines) or 1
        chunks = [list(range(i, min(i + size, len(lines)))) for i in range(0, len(lines), size)]
        self.pending: list[list[int]] = chunks[::-1]  # popped from the end: first chunk first

    def execute(self) -> None:
        while self.pending:
            chunk = self.pending.pop()
            if self._attempt(chunk):
                continue
            self.pending.append(chunk)  # failed as a whole: retry it after the wait

    def _attempt(self, chunk: list[int]) -> bool:
        """One request; True if the chunk is settled (written, split or partly rejected)."""
        if self.failures:
            self.retries += 1
            self.p._count("retries")
        self.attempts += 1
        self.p._count("attempts")
        try:
            self.writer.write([self.lines[i] for i in chunk])
        except RetryableWriteError as exc:
            self.p._count("retryable_errors")
            self._fail(exc, len(chunk), exc.retry_after_s, logging.WARNING)
            return False
        except (AuthWriteError, PermanentWriteError, ServerLimitError) as exc:
            self.p._count(_ERROR_COUNTER[type(exc)])
            self._fail(exc, len(chunk), None, logging.ERROR)
            return False
        except BatchTooLargeError as exc:
            if len(chunk) == 1:  # the server's body limit is below one valid line: keep it, shout
                self.p._count("server_limit_errors")
                self._fail(ServerLimitError(f"{exc} for a single line of {len(self.lines[chunk[0]])} bytes"),
                           1, None, logging.ERROR)
                return False
            self.failures = 0
            self.p._count("splits_413")
            self.p._refused(len(chunk))
            self._push_halves(chunk)
            return True
        except PartialWriteError as exc:
            self.failures = 0
            self.p._count("partial_writes")
            self._partial(chunk, exc)
            return True
        self.failures = 0
        self.written += len(chunk)
        self.p._accepted(len(chunk))
        return True

    def _partial(self, chunk: list[int], exc: PartialWriteError) -> None:
        bad: dict[int, str] = {}
        for pos, reason in exc.bad_lines:
            if 0 <= pos < len(chunk):
                bad.setdefault(chunk[pos], reason)
        self.rejected.extend(bad.items())
        rest = [i for i in chunk if i not in bad]
        if not rest:
            return
        if not exc.unmapped:
            self.pending.append(rest)
        elif len(rest) == 1:
            self.rejected.append((rest[0], "; ".join(exc.unmapped)))
        else:
            self.p._count("bisections")
            self._push_halves(rest)

    def _push_halves(self, chunk: list[int]) -> None:
        mid = len(chunk) // 2
        self.pending.append(chunk[mid:])
        self.pending.append(chunk[:mid])  # popped first: keeps roughly the original order

    def _fail(self, exc: Exception, n_lines: int, retry_after_s: float | None, level: int) -> None:
        self.failures += 1
        c = self.p.config
        if retry_after_s is not None:
            wait_s = min(retry_after_s, c.max_retry_after_s)
        else:
            wait_s = self.p.backoff_s(self.failures)
        if self.failures == 1 or self.failures % _LOG_EVERY_NTH_FAILURE == 0 or level >= logging.ERROR:
            log.log(
                level,
                "write of %d lines failed (%s, failure %d in a row); keeping them, retry in %.2f s: %s",
                n_lines, type(exc).__name__, self.failures, wait_s, exc,
            )
        else:
            log.debug("write failed again (%d in a row), retry in %.2f s: %s", self.failures, wait_s, exc)
        self.p._count("waited_s", wait_s)
        if self.stop.is_set() or self.p._sleep(wait_s, self.stop):
            pending = sum(len(ch) for ch in self.pending) + n_lines
            raise WriteAborted(
                f"stop requested with {pending} lines unwritten", written=self.written, pending=pending
            )
