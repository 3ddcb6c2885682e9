"""Lines InfluxDB refused, retried automatically before they need a person.

A ``db_rejected`` line is often refused for a reason that passes: a field type conflict until the
shard rolls over, a point outside a retention policy that an operator then widens. The writer
thread retries due entries between batches (:meth:`RejectedRetrier.maybe_run`), a bounded number
per round, each entry with its own exponential backoff (``initial_s`` doubling to ``max_s``) for
``max_attempts`` attempts; after that it stays for ``seamline ingest quarantine replay``.
Written entries are deleted only after the write is durable (the write policy returned).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from seamline.ingest.metrics import IngestMetrics
from seamline.ingest.quarantine import QuarantineStore
from seamline.ingest.validate import Reason
from seamline.storage.write_policy import PointWriter, WritePolicy

__all__ = ["RejectedRetrier", "RetrySettings"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetrySettings:
    # The first retry a minute after the refusal; doubling to an hour: ten attempts span ~9 hours.
    initial_s: float = 60.0
    max_s: float = 3600.0
    max_attempts: int = 10
    # Entries per round: a round runs between two batches and must not hold live traffic up long.
    per_round: int = 200
    # How often the writer looks for due entries (s).
    check_every_s: float = 10.0


class RejectedRetrier:
    def __init__(self, *, store: QuarantineStore, policy: WritePolicy, writer: PointWriter, metrics: IngestMetrics,
                 settings: RetrySettings, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._policy = policy
        self._writer = writer
        self._metrics = metrics
        self._s = settings
        self._clock = clock
        self._next_check = 0.0

    def delay_s(self, attempts: int) -> float:
        """Wait after the ``attempts``-th failed automatic retry (0: after the first refusal)."""
        return float(min(self._s.max_s, self._s.initial_s * 2 ** max(0, attempts)))

    def maybe_run(self, abort: threading.Event) -> int:
        """Retry the due entries if the check interval has passed; return how many were written."""
        now = self._clock()
        if now < self._next_check:
            return 0
        self._next_check = now + self._s.check_every_s
        return self.run_due(abort)

    def run_due(self, abort: threading.Event) -> int:
        now_ms = int(self._clock() * 1000)
        due = self._store.due_retries(reason=Reason.DB_REJECTED.value, now_ms=now_ms,
                                      max_attempts=self._s.max_attempts, limit=self._s.per_round)
        written = 0
        for item in due:
            if item.attempts == 0 and item.received_ms + self.delay_s(0) * 1000 > now_ms:
                self._store.retry_later(item.id, attempts=0, retry_at_ms=item.received_ms + int(self.delay_s(0) * 1000),
                                        detail=item.detail)
                continue
            outcome = self._policy.write_durably(self._writer, [item.payload.decode()], stop=abort)
            if outcome.rejected:
                attempts = item.attempts + 1
                self._store.retry_later(item.id, attempts=attempts, detail=outcome.rejected[0][1][:500],
                                        retry_at_ms=now_ms + int(self.delay_s(attempts) * 1000))
                self._metrics.rejected_retries.labels(result="refused").inc()
                if attempts >= self._s.max_attempts:
                    log.warning("quarantine entry %d refused %d times; left for `seamline ingest quarantine "
                                "replay`: %s", item.id, attempts, outcome.rejected[0][1][:200])
                continue
            self._store.delete([item.id])
            self._metrics.rejected_retries.labels(result="written").inc()
            written += 1
        if written:
            log.info("wrote %d quarantined line(s) InfluxDB had refused before", written)
        return written
