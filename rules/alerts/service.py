"""The alerts side of the rules service, wired: evaluator, state store, the sender that posts to
every Alertmanager peer, and the job the scheduler runs every ``interval_s``."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime

from seamline.notify.alert_ledger import AlertLedger
from seamline.notify.alert_sender import AlertSender
from seamline.notify.alertmanager import AlertmanagerClient
from seamline.rules.alerts.config import AlertsConfig, resolve_rules
from seamline.rules.alerts.evaluator import AlertEvaluator, EvalReport
from seamline.rules.alerts.facts import InfluxFacts
from seamline.rules.alerts.points import AlertStatePoints
from seamline.rules.alerts.readings import Platform
from seamline.rules.alerts.store import AlertStore
from seamline.rules.kpi_points import KpiPointWriter
from seamline.rules.lease import Lease
from seamline.rules.master_data import MasterData
from seamline.rules.ownership import Ownership
from seamline.storage.config import InfluxConfig
from seamline.storage.connect import point_writer, query_client
from seamline.storage.query_errors import QueryError
from seamline.storage.schema import Retention

log = logging.getLogger(__name__)


@dataclass(slots=True)
class AlertsRuntime:
    config: AlertsConfig
    evaluator: AlertEvaluator
    lease: Lease
    sender: AlertSender | None
    failures: int = 0

    def start(self) -> None:
        if self.sender is not None:
            self.sender.start()

    def tick(self, now: datetime | None = None) -> EvalReport | None:
        """One evaluation (the scheduler's job); None when the lease is not held or InfluxDB failed."""
        self.lease.acquire()
        try:
            report = self.evaluator.evaluate(now)
        except QueryError as exc:
            self.failures += 1
            log.warning("alerts not evaluated (InfluxDB): %s", exc)
            return None
        if report.fired or report.resolved:
            log.info("alerts: %d fired, %d resolved, %d firing", len(report.fired), len(report.resolved),
                     report.firing)
        return report

    def close(self) -> None:
        if self.sender is not None:
            self.sender.close()
        self.evaluator.store.close()


def make_alerts(cfg: AlertsConfig, *, influx: InfluxConfig, master: MasterData, lease: Lease,
                owner: Ownership) -> AlertsRuntime:
    token = os.environ.get(cfg.alertmanager.bearer_token_env) if cfg.alertmanager.bearer_token_env else None
    ledger = AlertLedger(resend_interval_s=cfg.resend_interval_s)
    sender = AlertSender(ledger, [AlertmanagerClient(u, timeout_s=cfg.alertmanager.timeout_s, bearer_token=token)
                                  for u in cfg.alertmanager.peers]) if cfg.alertmanager.peers else None
    facts = InfluxFacts(query_client(influx), database=influx.database, raw_rp=influx.raw_rp, kpi_rp=influx.kpi_rp)
    points = AlertStatePoints(KpiPointWriter(point_writer(influx, Retention.KPI), fence=lease), owner)
    evaluator = AlertEvaluator(rules=resolve_rules(cfg), source=facts, owner=owner, master=master, ledger=ledger,
                               store=AlertStore(cfg.state_path), points=points,
                               platform=Platform(cfg.platform.enterprise, cfg.platform.site),
                               evaluation_delay_s=cfg.evaluation_delay_s,
                               wake=sender.wake if sender is not None else lambda: None)
    return AlertsRuntime(cfg, evaluator, lease, sender)
