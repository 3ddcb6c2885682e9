"""What a sender must keep posting to Alertmanager: the send-side half of Alertmanager's contract.

Alertmanager forgets nothing by itself except by time: a firing alert stays firing until its
``endsAt`` passes, so a sender that dies lets its alerts resolve on their own after a while, and a
sender that lives must re-post them. The rules, as Prometheus follows them:

* a firing alert is re-posted every ``resend_interval_s`` (shorter than anything that could
  resolve it by mistake) with ``endsAt`` = now + ``ends_after_intervals`` x the interval;
* a resolved alert is posted with ``endsAt`` = the resolve time, and kept being posted for
  ``resolved_retention_s`` so that a peer that was down at that moment hears of it too;
* a condition that clears and returns within ``keep_firing_for_s`` never resolved: it keeps its
  ``startsAt``, so Alertmanager sees one alert, not a new one per flap, and notifies once per
  repeat interval instead of once per flap.

Pure and thread-safe: every call takes ``now``; :class:`~seamline.notify.alert_sender.AlertSender`
posts :meth:`AlertLedger.batch` to every peer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from seamline.contracts.alerts import AlertAnnotations, AlertLabels, PostableAlert

LabelKey = tuple[tuple[str, str], ...]


def label_key(labels: AlertLabels) -> LabelKey:
    """The identity Alertmanager gives an alert: its full label set."""
    return tuple(sorted(labels.as_dict().items()))


@dataclass(slots=True)
class _Entry:
    labels: AlertLabels
    annotations: AlertAnnotations
    generator_url: str | None
    starts_at: datetime
    cleared_at: datetime | None = None  # the condition cleared at; resolves after keep_firing_for


class AlertLedger:
    """The alerts a sender owns, firing and recently resolved, bounded by ``max_alerts``."""

    def __init__(self, *, resend_interval_s: float = 60.0, ends_after_intervals: int = 4,
                 keep_firing_for_s: float = 0.0, resolved_retention_s: float = 900.0,
                 max_alerts: int = 100_000) -> None:
        if resend_interval_s <= 0 or ends_after_intervals < 2:
            # endsAt only one interval ahead would resolve an alert whenever one post is late.
            raise ValueError("need resend_interval_s > 0 and ends_after_intervals >= 2")
        if keep_firing_for_s < 0 or resolved_retention_s < 0 or max_alerts < 1:
            raise ValueError("keep_firing_for_s and resolved_retention_s must be >= 0, max_alerts >= 1")
        self.resend_interval_s = resend_interval_s
        self.ends_after = timedelta(seconds=resend_interval_s * ends_after_intervals)
        self.keep_firing_for = timedelta(seconds=keep_firing_for_s)
        self.retention = timedelta(seconds=resolved_retention_s)
        self.max_alerts = max_alerts
        self.dropped = 0  # fire() calls refused because the ledger was full
        self._entries: dict[LabelKey, _Entry] = {}
        self._lock = threading.Lock()

    def fire(self, labels: AlertLabels, annotations: AlertAnnotations, *, now: datetime,
             generator_url: str | None = None) -> bool:
        """The condition holds at ``now``. Returns False (and counts) if the ledger is full."""
        key = label_key(labels)
        with self._lock:
            entry = self._entries.get(key)
            resolved_at = None if entry is None else self._resolved_at(entry)
            if resolved_at is not None and resolved_at <= now:
                entry = None  # it had resolved for good: this is a new episode with a new startsAt
            if entry is None:
                if key not in self._entries and len(self._entries) >= self.max_alerts:
                    self.dropped += 1
                    return False
                self._entries[key] = _Entry(labels, annotations, generator_url, starts_at=now)
                return True
            entry.annotations = annotations
            entry.generator_url = generator_url
            entry.cleared_at = None
            return True

    def resolve(self, labels: AlertLabels, *, now: datetime) -> bool:
        """The condition no longer holds at ``now``. False if the alert was not firing."""
        with self._lock:
            entry = self._entries.get(label_key(labels))
            if entry is None or entry.cleared_at is not None:
                return False
            entry.cleared_at = now
            return True

    def forget(self, labels: AlertLabels) -> bool:
        """Stop posting this alert at all (its sender no longer owns it: another replica does)."""
        with self._lock:
            return self._entries.pop(label_key(labels), None) is not None

    def restore(self, labels: AlertLabels, annotations: AlertAnnotations, *, starts_at: datetime,
                resolved_at: datetime | None = None, generator_url: str | None = None) -> None:
        """Put back an alert a previous process posted (after a restart or a takeover): same
        ``startsAt``, and resolved at ``resolved_at`` if it was."""
        with self._lock:
            self._entries[label_key(labels)] = _Entry(labels, annotations, generator_url, starts_at=starts_at,
                                                      cleared_at=None if resolved_at is None
                                                      else resolved_at - self.keep_firing_for)

    def __contains__(self, labels: object) -> bool:
        return isinstance(labels, AlertLabels) and label_key(labels) in self._entries

    def batch(self, now: datetime) -> list[PostableAlert]:
        """Everything to post at ``now``; forgets resolved alerts older than the retention."""
        out: list[PostableAlert] = []
        with self._lock:
            for key, entry in list(self._entries.items()):
                resolved_at = self._resolved_at(entry)
                if resolved_at is not None and resolved_at <= now:
                    if now - resolved_at > self.retention:
                        del self._entries[key]
                        continue
                    ends = resolved_at
                else:
                    ends = now + self.ends_after
                out.append(PostableAlert(labels=entry.labels, annotations=entry.annotations,
                                         startsAt=entry.starts_at, endsAt=ends, generatorURL=entry.generator_url))
        return out

    def firing(self, now: datetime) -> int:
        """How many alerts are firing at ``now`` (those in keep_firing_for included)."""
        with self._lock:
            return sum(1 for e in self._entries.values()
                       if (r := self._resolved_at(e)) is None or r > now)

    def __len__(self) -> int:
        return len(self._entries)

    def _resolved_at(self, entry: _Entry) -> datetime | None:
        return None if entry.cleared_at is None else entry.cleared_at + self.keep_firing_for
