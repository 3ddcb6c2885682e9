"""Post an :class:`AlertLedger` to every Alertmanager peer, each peer on its own thread.

Alertmanager's high availability wants every sender to post every alert to every peer (the peers
gossip notification logs, not alerts). Each peer here is independent: a peer that is down or
slow backs off (jittered, capped) without delaying the others, and catches up with the current
ledger - not a queue of stale batches - when it answers again. Every post is counted per peer.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from seamline.alertmanager.client import AlertmanagerClient, AlertmanagerError, AlertmanagerRejected
from seamline.alertmanager.ledger import AlertLedger

# One jittered, capped backoff for the whole code base (pure, stdlib only; lives with its first user).
from seamline.backoff import Backoff

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PeerStats:
    """Counters of one peer since start."""

    url: str
    posts_ok: int
    posts_failed: int
    alerts_posted: int
    consecutive_failures: int
    last_error: str | None


class _Peer:
    def __init__(self, client: AlertmanagerClient, backoff: Backoff) -> None:
        self.client = client
        self.backoff = backoff
        self.wake = threading.Event()
        self.ok = 0
        self.failed = 0
        self.alerts = 0
        self.last_error: str | None = None
        self.thread: threading.Thread | None = None

    def stats(self) -> PeerStats:
        return PeerStats(self.client.display_url, self.ok, self.failed, self.alerts, self.backoff.attempt,
                         self.last_error)


class AlertSender:
    """Every ``ledger.resend_interval_s`` (or at once after :meth:`wake`), post the ledger's
    batch to each peer. ``clock`` gives wall-clock time (the ledger's ``now``)."""

    def __init__(self, ledger: AlertLedger, peers: Sequence[AlertmanagerClient], *,
                 backoff_initial_s: float = 1.0, backoff_max_s: float = 60.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 rng: random.Random | None = None) -> None:
        if not peers:
            raise ValueError("AlertSender needs at least one Alertmanager peer")
        rng = rng or random.Random()
        self.ledger = ledger
        self._clock = clock
        self._stop = threading.Event()
        self._peers = [_Peer(c, Backoff(initial_s=backoff_initial_s, max_s=backoff_max_s, random=rng.random))
                       for c in peers]

    def start(self) -> None:
        for i, peer in enumerate(self._peers):
            peer.thread = threading.Thread(target=self._run, args=(peer,), name=f"alert-sender-{i}", daemon=True)
            peer.thread.start()

    def wake(self) -> None:
        """Post now (call after fire/resolve, so a change does not wait for the next interval)."""
        for peer in self._peers:
            peer.wake.set()

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the threads (after one last post of the current ledger, if a peer answers)."""
        self._stop.set()
        self.wake()
        deadline = time.monotonic() + timeout_s
        for peer in self._peers:
            if peer.thread is not None:
                peer.thread.join(max(0.0, deadline - time.monotonic()))

    def stats(self) -> list[PeerStats]:
        return [p.stats() for p in self._peers]

    def _run(self, peer: _Peer) -> None:
        while True:
            delay = self._post(peer)
            if self._stop.is_set():
                return
            peer.wake.wait(delay)
            peer.wake.clear()

    def _post(self, peer: _Peer) -> float:
        """Post once; the seconds to wait before the next post."""
        batch = self.ledger.batch(self._clock())
        if not batch:
            return self.ledger.resend_interval_s
        try:
            peer.client.post_alerts(batch)
        except AlertmanagerError as exc:
            peer.failed += 1
            peer.last_error = str(exc)
            delay = peer.backoff.next_delay_s()
            level = logging.ERROR if isinstance(exc, AlertmanagerRejected) else logging.WARNING
            log.log(level, "alerts not posted (%d alerts), retry in %.1f s: %s", len(batch), delay, exc)
            return delay
        peer.ok += 1
        peer.alerts += len(batch)
        peer.backoff.reset()
        return self.ledger.resend_interval_s
