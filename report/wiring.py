"""The report's composition: real sources from the rules config (InfluxDB through the storage
layer, the MQTT broker's retained topics, the plan summary file, Alertmanager peers)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from seamline.errors import UsageError
from seamline.notify.alertmanager import AlertmanagerClient
from seamline.report.alert_source import AlertmanagerSource, AlertSource, NoAlertSource
from seamline.report.gather import Sources
from seamline.report.kpi_source import CLUSTER_WINDOWS, FACTORY_WINDOWS, InfluxKpiReader
from seamline.report.plan_source import PlanSummaryFile
from seamline.report.retained_source import BrokerSettings, RetainedPlatformReader
from seamline.rules.config import RulesConfig
from seamline.storage.connect import query_client
from seamline.storage.query import CountingClient


def broker_settings(cfg: RulesConfig) -> BrokerSettings:
    """The rules service's broker and its bounds for reading retained topics (``capacity.bookings_*``)."""
    m, c = cfg.mqtt, cfg.capacity
    return BrokerSettings(url=f"mqtt://{m.host}:{m.port}", client_id=f"{m.client_id}-report", username=m.username,
                          password=m.password, identity=m, quiet_s=c.bookings_quiet_s, timeout_s=c.bookings_timeout_s,
                          max_messages=c.bookings_max_messages)


def alert_source(urls: Sequence[str]) -> AlertSource:
    if not urls:
        return NoAlertSource()
    try:
        return AlertmanagerSource(peers=tuple(AlertmanagerClient(u) for u in urls))
    except ValueError as exc:
        raise UsageError(f"--alertmanager: {exc}") from None


def sources_for(cfg: RulesConfig, *, cluster: bool, alertmanagers: Sequence[str], plan_summary: Path | None,
                clock: Callable[[], datetime]) -> Sources:
    client = CountingClient(query_client(cfg.influx), database=cfg.influx.database)
    return Sources(
        kpis=InfluxKpiReader(client=client, kpi_rp=cfg.influx.kpi_rp,
                             windows=CLUSTER_WINDOWS if cluster else FACTORY_WINDOWS),
        platform=RetainedPlatformReader(settings=broker_settings(cfg)),
        plan=PlanSummaryFile(plan_summary),
        alerts=alert_source(alertmanagers),
        clock=clock,
    )
