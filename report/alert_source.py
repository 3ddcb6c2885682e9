"""The day's alerts, behind one small interface (:class:`AlertSource`).

Nothing in seamline keeps a history of alerts yet: Alertmanager holds the alerts that are firing
(or silenced, inhibited) now and forgets resolved ones. So the one real source today is
:class:`AlertmanagerSource` (``GET /api/v2/alerts`` of the first peer that answers), whose
``scope`` is ``current`` and whose note on the page says what it cannot show. A store of the day's
alert episodes, once the rules-side evaluator keeps one, plugs in as another ``AlertSource`` with
``scope="history"``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from seamline.alertmanager.client import AlertmanagerClient, AlertmanagerError, AlertState
from seamline.contracts.alerts import ALERTNAME, AREA, ASSET, ENTERPRISE, SEVERITY, SITE
from seamline.report.inputs import AlertRecord, AlertsInput

log = logging.getLogger(__name__)

# A cluster's day rarely has more than a few hundred alerts; the page lists this many at most.
MAX_ALERTS = 5_000


class AlertSource(Protocol):
    def read(self, *, start: datetime, end: datetime, enterprises: frozenset[str] | None) -> AlertsInput:
        """Alerts active at some time in ``[start, end)`` of ``enterprises`` (``None``: all)."""


class NoAlertSource:
    """No alert source configured: the page says so."""

    def read(self, *, start: datetime, end: datetime, enterprises: frozenset[str] | None) -> AlertsInput:
        return AlertsInput(source=None)


def _state(s: AlertState, now: datetime) -> str:
    if s.ends_at <= now:
        return "resolved"
    return "suppressed" if s.state == "suppressed" else "firing"


def records_from(states: Sequence[AlertState], *, start: datetime, end: datetime,
                 enterprises: frozenset[str] | None, now: datetime) -> tuple[AlertRecord, ...]:
    """The seamline alerts (those with an ``enterprise`` label) that overlap ``[start, end)``,
    newest first, at most :data:`MAX_ALERTS`. An alert without ``startsAt`` counts from ``start``."""
    out = []
    for s in states:
        ent = s.labels.get(ENTERPRISE)
        if not ent or (enterprises is not None and ent not in enterprises):
            continue
        began = s.starts_at or start
        state = _state(s, now)
        if began >= end or (state == "resolved" and s.ends_at <= start):
            continue
        a = s.annotations
        out.append(AlertRecord(
            alertname=s.labels.get(ALERTNAME, "?"), severity=s.labels.get(SEVERITY, "info"), enterprise=ent,
            site=s.labels.get(SITE, ""), area=s.labels.get(AREA), asset=s.labels.get(ASSET), starts_at=began,
            ends_at=s.ends_at if state == "resolved" else None, state=state, summary=a.get("summary", ""),
            summary_en=a.get("summary_en", ""), value=a.get("value"), threshold=a.get("threshold"),
            unit=a.get("unit"), labels=dict(s.labels)))
    out.sort(key=lambda r: (r.starts_at, r.enterprise, r.alertname), reverse=True)
    return tuple(out[:MAX_ALERTS])


@dataclass(frozen=True, slots=True)
class AlertmanagerSource:
    """The alerts Alertmanager holds now, from the first of ``peers`` that answers (HA peers hold
    the same alerts: every sender posts to every peer)."""

    peers: tuple[AlertmanagerClient, ...]
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def read(self, *, start: datetime, end: datetime, enterprises: frozenset[str] | None) -> AlertsInput:
        where = ", ".join(p.display_url for p in self.peers)
        problems = []
        for peer in self.peers:
            try:
                states = peer.alerts()
            except AlertmanagerError as exc:
                log.warning("report: %s", exc)
                problems.append(str(exc))
                continue
            records = records_from(states, start=start, end=end, enterprises=enterprises, now=self.clock())
            return AlertsInput(source=peer.display_url, scope="current", alerts=records)
        return AlertsInput(source=where, scope="current", problem="; ".join(problems) or "no peer given")
