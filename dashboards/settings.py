"""What a deployment chooses about its dashboards: the data source they all use (uid, database,
retention policy names), the folder, the time zone, and the default hourly efficiency target."""

from __future__ import annotations

import re
from dataclasses import dataclass

from seamline.storage.schema import Retention

__all__ = ["DashboardSettings"]

# Grafana uids: letters, digits, '-' and '_', at most 40 characters.
_UID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class DashboardSettings:
    """``datasource_uid`` is shared by every panel and variable (the provisioned data source gets it);
    ``raw_rp``/``kpi_rp`` are the deployment's retention policy names (``influx.raw_rp``/``kpi_rp``);
    ``timezone`` is the cluster's local time (days of free capacity are local days);
    ``target_efficiency`` (fraction) is the Line dashboard's default target, changeable there."""

    datasource_uid: str = "seamline-influxdb"
    datasource_name: str = "seamline InfluxDB"
    database: str = "seamline"
    raw_rp: str = Retention.RAW.value
    kpi_rp: str = Retention.KPI.value
    folder_uid: str = "seamline"
    folder_title: str = "seamline"
    timezone: str = "Asia/Shanghai"
    target_efficiency: float = 0.5

    def __post_init__(self) -> None:
        for name in ("datasource_uid", "folder_uid"):
            if not _UID.match(getattr(self, name)):
                raise ValueError(f"{name} must be 1-40 letters, digits, '-' or '_', got {getattr(self, name)!r}")
        if not 0 < self.target_efficiency <= 1.5:
            raise ValueError(f"target_efficiency must be in (0, 1.5], got {self.target_efficiency}")

    def rp(self, retention: Retention) -> str:
        """The deployment's name of ``retention``'s policy."""
        return self.raw_rp if retention is Retention.RAW else self.kpi_rp
