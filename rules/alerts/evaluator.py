"""One evaluation of every alert rule, for the enterprises this replica owns.

1. ``as_of`` = now - ``evaluation_delay_s`` (late data lands before it is judged);
2. the queries of every rule in one InfluxDB request (:class:`FactsSource`), readings per target;
3. each target's verdict steps its lifecycle (:mod:`~seamline.rules.alerts.lifecycle`); targets
   without a reading this time keep their state (no data is no change);
4. under the enterprise's fence: the changed states are stored, then the ledger is told
   (fire / resolve; firing ones re-posted by the sender every ``resend_interval_s``), then the
   ``alert_state`` points are written. An enterprise whose fence fails is skipped and its alerts
   forgotten by this replica's ledger (the new owner posts them).

Alerts of an enterprise this replica newly owns (restart, takeover) are restored from the store
into the ledger with their original ``startsAt``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pydantic import ValidationError

from seamline.contracts.alerts import AlertAnnotations, AlertLabels, format_figure
from seamline.notify.alert_ledger import AlertLedger
from seamline.rules.alerts.conditions import (
    AbsenceCondition,
    KpiCondition,
    MetricCondition,
    OrderAtRiskCondition,
    StateDurationCondition,
    judge,
)
from seamline.rules.alerts.config import AlertRule
from seamline.rules.alerts.kpi_windows import KpiWindows
from seamline.rules.alerts.lifecycle import INACTIVE, Action, AlertState, Phase, Timing, step
from seamline.rules.alerts.model import Reading, Target, Verdict
from seamline.rules.alerts.queries import COMMON, Facts, Query, is_platform, queries_for
from seamline.rules.alerts.readings import (
    Platform,
    Topology,
    absence_readings,
    gateway_readings,
    kpi_readings,
    machine_state_readings,
    metric_readings,
    order_readings,
)
from seamline.rules.alerts.schema_check import MACHINE
from seamline.rules.alerts.store import AlertStore, StoredAlert
from seamline.rules.alerts.templates import Context, render
from seamline.rules.kpi_points import FencingError
from seamline.rules.master_data import MasterData
from seamline.rules.ownership import Ownership

log = logging.getLogger(__name__)
Change = tuple[StoredAlert, Action, bool]  # the new state, what to tell, whether the store must be written


class FactsSource(Protocol):
    def read(self, queries: Sequence[Query], enterprises: Sequence[str], as_of: datetime, *,
             platform: bool) -> Facts:
        """Rows per query for ``enterprises`` (platform queries only if ``platform``)."""


class StatePoints(Protocol):
    def write(self, alerts: Sequence[tuple[AlertLabels, bool]], *, at: datetime, enterprise: str) -> None:
        """Record (labels, firing) of one enterprise's alerts at ``at``, under its fence."""


@dataclass(slots=True)
class EvalReport:
    as_of: datetime
    enterprises: int = 0
    readings: int = 0
    fired: list[AlertLabels] = field(default_factory=list)
    resolved: list[AlertLabels] = field(default_factory=list)
    firing: int = 0
    fenced: list[str] = field(default_factory=list)
    invalid: int = 0  # readings whose alert could not be built (logged)


def readings_for(rule: AlertRule, facts: Facts, as_of: datetime, windows: KpiWindows, topo: Topology,
                 platform: Platform) -> list[Reading]:
    c = rule.condition
    if isinstance(c, KpiCondition):
        return kpi_readings(c, facts, as_of, windows.start, topo)
    if isinstance(c, MetricCondition):
        return metric_readings(c, facts, as_of, topo, platform)
    if isinstance(c, StateDurationCondition):
        if c.subject == MACHINE:
            return machine_state_readings(c, facts, as_of, topo)
        return gateway_readings(c, topo, as_of)
    if isinstance(c, AbsenceCondition):
        return absence_readings(c, facts, as_of, topo)
    assert isinstance(c, OrderAtRiskCondition)
    return order_readings(c, facts, as_of, windows.local_date)


def labels_of(rule: AlertRule, t: Target) -> AlertLabels:
    return AlertLabels(alertname=rule.alertname, severity=rule.severity, enterprise=t.enterprise, site=t.site,
                       area=t.area, asset=t.asset, gateway=t.gateway, rule=rule.id)


def annotations_of(rule: AlertRule, r: Reading) -> AlertAnnotations:
    c, t, a = rule.condition, r.target, rule.annotations
    ctx = Context(t.enterprise, t.site, t.area, t.asset, t.gateway, rule.id, r.value, c.threshold, c.clear_at,
                  c.unit, r.coverage, r.detail, r.since)
    return AlertAnnotations(
        summary=render(a.summary, ctx), summary_en=render(a.summary_en, ctx) if a.summary_en else None,
        description=render(a.description, ctx) if a.description else None,
        description_en=render(a.description_en, ctx) if a.description_en else None,
        value=format_figure(r.value) if r.value is not None else None, threshold=format_figure(c.threshold),
        unit=c.unit, coverage=format_figure(min(1.0, max(0.0, r.coverage))) if r.coverage is not None else None,
        since=r.since, runbook_url=rule.runbook_url)


@dataclass(kw_only=True)
class AlertEvaluator:
    rules: Sequence[AlertRule]
    source: FactsSource
    owner: Ownership
    master: MasterData
    ledger: AlertLedger
    store: AlertStore
    points: StatePoints | None = None
    platform: Platform = field(default_factory=lambda: Platform("platform", "ingest"))
    evaluation_delay_s: float = 60.0
    wake: Callable[[], None] = lambda: None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _posted: dict[tuple[str, str], AlertLabels] = field(default_factory=dict)
    evaluations: int = 0

    def __post_init__(self) -> None:
        self._windows = KpiWindows(self.master)
        self._queries = sorted({q for r in self.rules for q in (*COMMON, *queries_for(r.condition))},
                               key=repr)
        self._by_id = {r.id: r for r in self.rules}

    def owned(self) -> list[str]:
        ids = [e.id for e in self.master.enterprises if self.owner.owns(e.id)]
        if self.owner.owns(self.platform.enterprise) and self.platform.enterprise not in ids:
            ids.append(self.platform.enterprise)
        return ids

    def evaluate(self, now: datetime | None = None) -> EvalReport:
        now = now or self.clock()
        as_of = now - timedelta(seconds=self.evaluation_delay_s)
        self.evaluations += 1
        owned = self.owned()
        report = EvalReport(as_of, enterprises=len(owned))
        mine = set(owned)
        self._forget_not_owned(mine)
        if not owned:
            return report
        stored = self.store.load(mine)
        self._restore(stored, now)
        platform = self.platform.enterprise in mine
        queries = [q for q in self._queries if platform or not is_platform(q)]
        ents = [e for e in owned if e != self.platform.enterprise] or [self.platform.enterprise]
        facts = self.source.read(queries, ents, as_of, platform=platform)
        topo = Topology.of(facts, as_of)
        changes: dict[str, list[Change]] = {}
        for rule in self.rules:
            for r in readings_for(rule, facts, as_of, self._windows, topo, self.platform):
                if r.target.enterprise not in mine:
                    continue
                report.readings += 1
                try:
                    change = self._step(rule, r, stored.get((rule.id, r.target.key())), now)
                except ValidationError as exc:  # a name outside the topic grammar, an annotation too long
                    report.invalid += 1
                    log.warning("alert %s of %s not raised: %s", rule.id, r.target.key(), exc.errors()[0]["msg"])
                    continue
                if change is not None:
                    changes.setdefault(r.target.enterprise, []).append(change)
        self._apply(changes, now, report)
        report.firing = self.ledger.firing(now)
        self.store.prune(resolved_before=now - self.ledger.retention)
        if report.fired or report.resolved:
            self.wake()
        return report

    def _step(self, rule: AlertRule, r: Reading, prev: StoredAlert | None, now: datetime) -> Change | None:
        state = prev.state if prev is not None else INACTIVE
        verdict = judge(rule.condition, r)
        new, action = step(state, verdict, now, Timing(rule.for_s, rule.keep_firing_for_s))
        if new == state and action is not Action.REFRESH:
            return None
        labels = labels_of(rule, r.target)
        # a gap, and a clear figure (a resolve says what was wrong, not the 0 it is now), keep what was last said
        keep = prev is not None and verdict not in (Verdict.BREACH, Verdict.HOLD)
        annotations = prev.annotations if prev is not None and keep else annotations_of(rule, r).as_dict()
        stored = StoredAlert(rule.id, r.target.key(), r.target.enterprise, new, labels.as_dict(), annotations)
        dirty = prev is None or new != state or annotations != prev.annotations
        return stored, action, dirty

    def _apply(self, changes: dict[str, list[Change]], now: datetime, report: EvalReport) -> None:
        """Store every fenced enterprise's changes in one transaction, then post and record them."""
        allowed: dict[str, list[Change]] = {}
        for ent, items in changes.items():
            try:
                self.owner.fence_for(ent).check()
            except FencingError as exc:
                log.warning("alerts of %s not evaluated: %s", ent, exc)
                report.fenced.append(ent)
                continue
            allowed[ent] = items
        if report.fenced:
            self._forget_not_owned(set(self.owned()) - set(report.fenced))
        self.store.save([s for items in allowed.values() for s, _, dirty in items if dirty], now=now)
        for ent, items in allowed.items():
            self._post(ent, items, now, report)

    def _post(self, ent: str, items: list[Change], now: datetime, report: EvalReport) -> None:
        recorded: list[tuple[AlertLabels, bool]] = []
        for s, action, _ in items:
            labels = AlertLabels.model_validate(s.labels)
            ann = AlertAnnotations.model_validate(s.annotations)
            key = (s.rule, s.target)
            if action in (Action.FIRE, Action.REFRESH):
                if action is Action.FIRE or labels not in self.ledger:
                    assert s.state.fired_at is not None
                    self.ledger.restore(labels, ann, starts_at=s.state.fired_at)
                    if action is Action.FIRE:
                        report.fired.append(labels)
                else:
                    self.ledger.fire(labels, ann, now=now)
                self._posted[key] = labels
                recorded.append((labels, True))
            elif action is Action.RESOLVE:
                assert s.state.fired_at is not None and s.state.resolved_at is not None
                self.ledger.restore(labels, ann, starts_at=s.state.fired_at, resolved_at=s.state.resolved_at)
                self._posted[key] = labels
                report.resolved.append(labels)
                recorded.append((labels, False))
        if self.points is not None and recorded:
            try:
                self.points.write(recorded, at=now, enterprise=ent)
            except Exception as exc:  # the dashboards' record must not hold up the alerts themselves
                log.warning("alert state of %s not recorded: %s", ent, exc)

    def _restore(self, stored: dict[tuple[str, str], StoredAlert], now: datetime) -> None:
        """Alerts in the store that this replica's ledger does not post yet (a restart, a takeover)."""
        for key, s in stored.items():
            if key in self._posted or s.rule not in self._by_id:
                continue
            st = s.state
            if st.fired_at is None or st.phase not in (Phase.FIRING, Phase.RESOLVED):
                continue
            labels = AlertLabels.model_validate(s.labels)
            ann = AlertAnnotations.model_validate(s.annotations)
            resolved = st.resolved_at if st.phase is Phase.RESOLVED else None
            self.ledger.restore(labels, ann, starts_at=st.fired_at, resolved_at=resolved)
            self._posted[key] = labels
            log.info("alert %s %s restored (%s since %s)", s.rule, s.target, st.phase.value, st.fired_at)

    def _forget_not_owned(self, mine: set[str]) -> None:
        for key, labels in list(self._posted.items()):
            if labels.enterprise not in mine:
                self.ledger.forget(labels)
                del self._posted[key]


def state_of(store: AlertStore) -> dict[tuple[str, str], AlertState]:
    """Every stored state (for status output and tests)."""
    return {k: v.state for k, v in store.load().items()}
