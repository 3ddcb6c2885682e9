"""One worker thread per channel: take the channel's oldest message, wait for the rate limit,
send, and only then take the next one.

A message that fails is retried - the same message, so order holds - after a jittered, capped
backoff (or the vendor's own "retry after"). A channel that is down for an hour therefore
delays its messages by an hour and loses none. A message leaves undelivered only when it is
older than the outbox's ``max_age_s`` or the vendor refused it for good; both are counted
(``dropped{reason}``) and logged with the message id, never with its secrets.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

from seamline.backoff import backoff_delay_s
from seamline.notify.channels.base import PermanentSendError, RetryableSendError, Sender
from seamline.notify.config import RateLimit, Retry
from seamline.notify.metrics import Metrics
from seamline.notify.outbox import Outbox, Row
from seamline.notify.rate_limit import SlidingWindowLimit

log = logging.getLogger(__name__)

# An idle worker looks at the outbox at least this often even without a wake-up (a message
# enqueued by another process, a clock jump); wake-ups make the common case immediate.
IDLE_POLL_S = 5.0


class ChannelWorker:
    def __init__(self, *, name: str, sender: Sender, outbox: Outbox, metrics: Metrics, rate: RateLimit,
                 retry: Retry, max_age_s: float, clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None) -> None:
        self.name = name
        self._sender = sender
        self._outbox = outbox
        self._metrics = metrics
        self._retry = retry
        self._max_age_s = max_age_s
        self._clock = clock
        self._random = (rng or random.Random()).random
        now = clock()
        history = outbox.recent_sends(name, since=now - rate.per_s)
        self._limit = SlidingWindowLimit(messages=rate.messages, per_s=rate.per_s, history=history)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"notify-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)
        self._sender.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.step()
            except Exception:  # a bug must not end deliveries for good: log, count, go on
                log.exception("channel %s: unexpected error; retrying in %.0f s", self.name, IDLE_POLL_S)
                self._metrics.failed_attempts.labels(self.name, "internal").inc()
                wait = IDLE_POLL_S
            if wait > 0:
                self._wake.wait(min(wait, IDLE_POLL_S))
                self._wake.clear()

    def step(self) -> float:
        """Do the next thing for this channel; return how long to wait before the next step (s)."""
        row = self._outbox.head(self.name)
        if row is None:
            return IDLE_POLL_S
        now = self._clock()
        if now - row.created_at > self._max_age_s:
            self._drop(row, "expired", f"undelivered for {now - row.created_at:.0f} s (max_age_s)")
            return 0.0
        if row.next_at > now:
            return row.next_at - now
        wait = self._limit.wait_s(now)
        if wait > 0:
            self._metrics.rate_limited.labels(self.name).inc()
            return wait
        self._send(row)
        return 0.0

    def _send(self, row: Row) -> None:
        try:
            self._send_once(row)
        finally:
            # Counted when the answer came, not when the request left: the vendor's window
            # started somewhere in between, so this end keeps us inside it whatever the latency.
            done = self._clock()
            self._limit.record(done)
            self._outbox.record_send(self.name, now=done)

    def _send_once(self, row: Row) -> None:
        try:
            self._sender.send(row.message)
        except RetryableSendError as exc:
            delay = backoff_delay_s(row.attempts, initial_s=self._retry.backoff_initial_s,
                                    max_s=self._retry.backoff_max_s, random=self._random)
            if exc.retry_after_s is not None:
                delay = max(delay, exc.retry_after_s)
            self._outbox.retry_later(row, next_at=self._clock() + delay)
            self._metrics.failed_attempts.labels(self.name, "retryable").inc()
            log.warning("channel %s: message %s not delivered (attempt %d), retry in %.1f s: %s",
                        self.name, row.message.id, row.attempts + 1, delay, exc)
            return
        except PermanentSendError as exc:
            self._metrics.failed_attempts.labels(self.name, "permanent").inc()
            self._drop(row, "refused", str(exc))
            return
        self._outbox.delivered(row)
        self._metrics.delivered.labels(self.name).inc()
        log.info("channel %s: delivered message %s (%s) after %d failed attempts",
                 self.name, row.message.id, row.message.notification.status, row.attempts)

    def _drop(self, row: Row, reason: str, detail: str) -> None:
        self._outbox.drop(row)
        self._metrics.dropped.labels(self.name, reason).inc()
        log.error("channel %s: message %s dropped (%s): %s; title: %s",
                  self.name, row.message.id, reason, detail, row.message.title)
