"""Template variables: enterprise → site → line → machine, chained (each lists the values that
exist under the ones chosen before it), from ``SHOW TAG VALUES`` on the storage schema's tags, and
the KPI window. Multi-valued ones have "All" as ``.*`` (a 7 600-enterprise regex would not be)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grafana_foundation_sdk.builders.dashboard import QueryVariable, TextBoxVariable
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

from seamline.dashboards.influxql import VarMatch
from seamline.dashboards.settings import DashboardSettings
from seamline.storage.influxql import quote_ident
from seamline.storage.schema import Measurement, Tag, TagName

__all__ = ["ENTERPRISE", "LINE", "MACHINE", "SITE", "TARGET_EFFICIENCY", "WINDOW", "TagValues", "Variable"]

# Variable names, written once: panels filter with VarMatch(tag, ENTERPRISE) etc.
ENTERPRISE, SITE, LINE, MACHINE, WINDOW, TARGET_EFFICIENCY = (
    "enterprise", "site", "line", "machine", "window", "target_efficiency")


@dataclass(frozen=True, slots=True, kw_only=True)
class TagValues:
    """``SHOW TAG VALUES FROM rp.m1, rp.m2 WITH KEY = "key" WHERE <earlier variables>``."""

    measurements: tuple[Measurement, ...]
    rp: str
    key: TagName
    where: tuple[VarMatch, ...] = ()

    def __post_init__(self) -> None:
        for m in self.measurements:
            m.check(tags=(self.key, *(w.tag for w in self.where)))

    def render(self) -> str:
        sources = ", ".join(f"{quote_ident(self.rp)}.{quote_ident(m.name)}" for m in self.measurements)
        q = f"SHOW TAG VALUES FROM {sources} WITH KEY = {quote_ident(self.key)}"
        return q + (" WHERE " + " AND ".join(w.render() for w in self.where) if self.where else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class Variable:
    """A query variable: its name, label, query, and whether it takes several values with "All"."""

    name: str
    label: str
    query: TagValues
    multi: bool = True
    default: str | None = None

    def builder(self, datasource: DataSourceRef) -> QueryVariable:
        v = (QueryVariable(self.name).label(self.label).query(self.query.render()).datasource(datasource)
             .refresh(VariableRefresh.ON_DASHBOARD_LOAD).sort(VariableSort.ALPHABETICAL_ASC))
        if self.multi:
            v = v.multi(True).include_all(True).all_value(".*")
        if self.default is not None:
            v = v.current(VariableOption(selected=True, text=self.default, value=self.default))
        return v


def hierarchy(measurements: Sequence[Measurement], rp: str, *, area_as: str, upto: str) -> list[Variable]:
    """enterprise, site, line (the ``area`` tag of raw telemetry) and machine (``asset``), each
    filtered by the ones before it, up to and including ``upto``."""
    ms = tuple(measurements)
    steps = ((ENTERPRISE, "Enterprise", Tag.ENTERPRISE), (SITE, "Site", Tag.SITE), (LINE, area_as, Tag.AREA),
             (MACHINE, "Machine", Tag.ASSET))
    out: list[Variable] = []
    earlier: list[VarMatch] = []
    for name, label, tag in steps:
        out.append(Variable(name=name, label=label, query=TagValues(measurements=ms, rp=rp, key=tag,
                                                                    where=tuple(earlier))))
        if name == upto:
            return out
        earlier.append(VarMatch(tag, name))
    raise ValueError(f"unknown variable {upto!r}")


def window_variable(kpi_line: Measurement, settings: DashboardSettings) -> Variable:
    """The KPI window label the KPI panels read (``5m``, ``1h``, ``shift``, ``1d``), one at a time:
    windows overlap, so adding two of them would count time twice."""
    return Variable(name=WINDOW, label="KPI window", multi=False, default="1h",
                    query=TagValues(measurements=(kpi_line,), rp=settings.kpi_rp, key=Tag.WINDOW))


def target_variable(settings: DashboardSettings) -> TextBoxVariable:
    """The line's efficiency target (fraction) the hourly output is held against."""
    value = f"{settings.target_efficiency:g}"
    return (TextBoxVariable(TARGET_EFFICIENCY).label("Target efficiency").default_value(value)
            .current(VariableOption(selected=True, text=value, value=value)))
