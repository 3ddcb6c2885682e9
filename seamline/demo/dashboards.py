"""The demo's Grafana dashboards: exported as file provisioning into ``<workdir>/dashboards``
(copy it to /etc/grafana/provisioning, or run ``seamline dashboards provision`` against a Grafana)."""

from __future__ import annotations

from typing import Any

from seamline.demo.cluster import DemoRun
from seamline.demo.plan import TZ
from seamline.demo.stack import DATABASE


def export_dashboards(run: DemoRun) -> dict[str, Any]:
    from seamline.dashboards.catalog import panels_of
    from seamline.dashboards.datasource import DataSource
    from seamline.dashboards.export import export
    from seamline.dashboards.settings import DashboardSettings

    settings = DashboardSettings(database=DATABASE, timezone=str(TZ))
    # secured: Grafana reads as the read-only `dashboards` user, its password from the environment
    user = "dashboards" if run.stack.security is not None else None
    out = export(run.stack.workdir / "dashboards", settings, DataSource(url=run.stack.influx.url, user=user))
    return {"directory": str(out.directory), "dashboards": [b.uid for b in out.dashboards],
            "panels": sum(len(list(panels_of(b.model))) for b in out.dashboards)}
