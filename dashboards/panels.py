"""The pieces every dashboard is made of: the shared data-source reference, typed targets, panel
dressing (title, description, size, unit), links between the dashboards, and the handful of
Grafana transformations the panels use (sorting a Pareto, hiding the time column of a table)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, Self, TypeVar

from grafana_foundation_sdk.builders.dashboard import DashboardLink
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.dashboard import DashboardLinkType, DataSourceRef, DataTransformerConfig

from seamline.dashboards.influxql import Outer, Statement
from seamline.dashboards.settings import DashboardSettings
from seamline.dashboards.target import INFLUXDB_PLUGIN, InfluxTargetBuilder

__all__ = ["TAG", "PanelBuilder", "PanelLike", "datasource", "dress", "drill_link", "hide_time", "merge", "nav_links",
           "sort_desc", "target"]

# Every seamline dashboard carries this tag; the dashboards' own link bar lists them by it.
TAG = "seamline"


class PanelBuilder(Protocol):
    """What the SDK's panel builders (timeseries, stat, table, ...) have in common and we use."""

    def title(self, title: str) -> Self: ...

    def description(self, description: str) -> Self: ...

    def datasource(self, datasource: DataSourceRef) -> Self: ...

    def with_target(self, target: cogbuilder.Builder[cogvariants.Dataquery]) -> Self: ...

    def span(self, w: int) -> Self: ...

    def height(self, h: int) -> Self: ...

    def unit(self, unit: str) -> Self: ...

    def links(self, links: list[cogbuilder.Builder[model.DashboardLink]]) -> Self: ...


P = TypeVar("P", bound=PanelBuilder)
# What a dashboard's with_panel takes: any of the SDK's panel builders.
PanelLike = cogbuilder.Builder[model.Panel]


def datasource(settings: DashboardSettings) -> DataSourceRef:
    """The one InfluxDB data source every panel and variable queries (by uid)."""
    return DataSourceRef(type_val=INFLUXDB_PLUGIN, uid=settings.datasource_uid)


def target(statement: Statement | Outer, settings: DashboardSettings, *, ref: str = "A", table: bool = False,
           alias: str | None = None) -> InfluxTargetBuilder:
    t = InfluxTargetBuilder(statement, datasource=datasource(settings)).ref_id(ref)
    if table:
        t = t.table()
    if alias is not None:
        t = t.alias(alias)
    return t


def dress(panel: P, settings: DashboardSettings, *, title: str, description: str,
          targets: Sequence[InfluxTargetBuilder] = (), w: int = 12, h: int = 8, unit: str | None = None) -> P:
    """Title, description (what the panel answers, with units), the shared data source, the
    targets (refIds A, B, ... in order) and the grid size (24 columns wide)."""
    out = panel.title(title).description(description).span(w).height(h)
    if targets:
        out = out.datasource(datasource(settings))
    for t in targets:
        out = out.with_target(t)
    return out.unit(unit) if unit is not None else out


def drill_link(title: str, uid: str, *, variables: Sequence[str]) -> DashboardLink:
    """A panel link to another seamline dashboard, keeping the time range and passing ``variables``."""
    query = "&".join([*(f"${{{v}:queryparam}}" for v in variables), "${__url_time_range}"])
    return DashboardLink(title).type(DashboardLinkType.LINK).url(f"/d/{uid}?{query}").target_blank(False)


def nav_links() -> list[cogbuilder.Builder[model.DashboardLink]]:
    """The dashboards' link bar: every seamline dashboard, keeping the time range and variables."""
    link = (DashboardLink("seamline").type(DashboardLinkType.DASHBOARDS).tags([TAG]).as_dropdown(True)
            .include_vars(True).keep_time(True))
    return [link]


def sort_desc(field: str) -> DataTransformerConfig:
    """Largest first (a Pareto chart's order)."""
    return DataTransformerConfig(id_val="sortBy", options={"sort": [{"field": field, "desc": True}]})


def hide_time() -> DataTransformerConfig:
    """Tables of per-series aggregates have a meaningless ``time`` column (the range start)."""
    return DataTransformerConfig(id_val="organize", options={"excludeByName": {"Time": True, "time": True}})


def merge() -> DataTransformerConfig:
    """One table row per series (InfluxDB returns a frame per tag combination)."""
    return DataTransformerConfig(id_val="merge", options={})
