"""Builders shared by the notify integration tests: alerts, fast Alertmanager configs from the
production generator, notify.yaml channel blocks pointing at local receivers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from seamline.contracts.alerts import (
    GATEWAY_OFFLINE,
    AlertAnnotations,
    AlertLabels,
    PostableAlert,
    Severity,
)
from seamline.notify.am_config import ConfigOptions, Timings, render_config
from seamline.rules.master_data import MasterData, load_master_data

SAMPLE_MASTER = Path(__file__).resolve().parents[2] / "rules" / "master_data.sample.yaml"


def master() -> MasterData:
    return load_master_data(SAMPLE_MASTER)


def fast_timings(*, group_wait_s: float = 0.5, group_interval_s: float = 1.0,
                 repeat_interval_s: float = 3600.0) -> dict[Severity, Timings]:
    t = Timings(group_wait_s=group_wait_s, group_interval_s=group_interval_s, repeat_interval_s=repeat_interval_s)
    return {s: t for s in Severity}


def am_config(notify_url: str, **timings: float) -> str:
    """The production generator's alertmanager.yml for the sample master data, with test timings."""
    options = replace(ConfigOptions(), notify_url=notify_url, timings=fast_timings(**timings))
    return render_config(master(), options)


def machine_labels(asset: str = "m003", *, severity: Severity = Severity.CRITICAL, gateway: str | None = "gw-f001",
                   alertname: str = "machine_down", enterprise: str = "f001") -> AlertLabels:
    return AlertLabels(alertname=alertname, severity=severity, enterprise=enterprise, site="s1", area="line01",
                       asset=asset, gateway=gateway, rule=f"{alertname}-default")


def machine_annotations(asset: str = "m003", value: str = "25") -> AlertAnnotations:
    return AlertAnnotations(summary=f"机器 {asset} 停机", summary_en=f"Machine {asset} is down",
                            description="请检查机器并记录停机原因", description_en="Check the machine, log the reason",
                            value=value, threshold="10", unit="min", coverage="0.92",
                            runbook_url="https://runbooks.example/machine_down")


def gateway_labels(gateway: str = "gw-f001") -> AlertLabels:
    return AlertLabels(alertname=GATEWAY_OFFLINE, severity=Severity.CRITICAL, enterprise="f001", site="s1",
                       area="_gateway", asset=gateway, gateway=gateway, rule="gateway-offline")


def gateway_annotations(gateway: str = "gw-f001") -> AlertAnnotations:
    return AlertAnnotations(summary=f"网关 {gateway} 离线", summary_en=f"Gateway {gateway} is offline")


def firing(labels: AlertLabels, annotations: AlertAnnotations, *, starts_at: datetime | None = None,
           ends_in_s: float = 300.0) -> PostableAlert:
    start = starts_at or datetime.now(UTC)
    return PostableAlert(labels=labels, annotations=annotations, startsAt=start,
                         endsAt=datetime.now(UTC) + timedelta(seconds=ends_in_s))


def webhook_channel(url: str, *, secret: str = "whsec-test", **extra: Any) -> dict[str, Any]:
    return {"type": "webhook", "url": url, "secret": secret, **extra}
