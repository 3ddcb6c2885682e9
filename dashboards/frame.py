"""The dashboard around the panels: stable uid, title, tag, time zone, default range, refresh,
template variables and the link bar to the other seamline dashboards."""

from __future__ import annotations

from collections.abc import Sequence

from grafana_foundation_sdk.builders.dashboard import Dashboard, TextBoxVariable
from grafana_foundation_sdk.models.dashboard import DashboardCursorSync

from seamline.dashboards.panels import TAG, datasource, nav_links
from seamline.dashboards.settings import DashboardSettings
from seamline.dashboards.variables import Variable

__all__ = ["UIDS", "frame"]

# Stable uids (links and provisioning address dashboards by them; never derived from titles at run time).
UIDS = {
    "cluster": "seamline-cluster",
    "factory": "seamline-factory",
    "line": "seamline-line",
    "machine": "seamline-machine",
    "energy": "seamline-energy",
    "pipeline": "seamline-pipeline",
}


def frame(key: str, title: str, description: str, settings: DashboardSettings, *,
          variables: Sequence[Variable | TextBoxVariable] = (), time_from: str = "now-24h",
          refresh: str = "1m") -> Dashboard:
    """A dashboard builder with everything but its panels."""
    d = (Dashboard(title).uid(UIDS[key]).description(description).tags([TAG]).timezone(settings.timezone)
         .time(time_from, "now").refresh(refresh).tooltip(DashboardCursorSync.CROSSHAIR).readonly()
         .links(nav_links()))
    ds = datasource(settings)
    for v in variables:
        d = d.with_variable(v.builder(ds) if isinstance(v, Variable) else v)
    return d
