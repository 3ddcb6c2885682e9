"""A panel target for Grafana's InfluxDB data source (InfluxQL, raw mode) as a dataquery variant
of ``grafana-foundation-sdk``, which has builders for many data sources but not this one.

:class:`InfluxTarget` is the JSON Grafana stores (``refId``, ``query``, ``rawQuery``,
``resultFormat``, ``alias``, ``hide``, ``datasource``); it keeps the typed statement it was
rendered from (not serialized) so tests can check a panel's query against what it promises.
:func:`register` makes the SDK's decoder read such targets back (``Dashboard.from_json``) instead
of keeping them as an opaque ``UnknownDataquery``.
"""

from __future__ import annotations

import enum
from typing import Any, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from seamline.dashboards.influxql import Outer, Statement

__all__ = ["INFLUXDB_PLUGIN", "InfluxTarget", "InfluxTargetBuilder", "ResultFormat", "register"]

# The plugin id of Grafana's built-in InfluxDB data source (1.x InfluxQL, 2.x/3.x through DBRP).
INFLUXDB_PLUGIN = "influxdb"


class ResultFormat(enum.StrEnum):
    TIME_SERIES = "time_series"
    TABLE = "table"


class InfluxTarget(cogvariants.Dataquery):
    """One InfluxQL query of a panel, in Grafana's InfluxDB query model."""

    def __init__(self, *, query: str, ref_id: str = "A", result_format: ResultFormat = ResultFormat.TIME_SERIES,
                 alias: str | None = None, hide: bool | None = None, datasource: DataSourceRef | None = None,
                 statement: Statement | Outer | None = None) -> None:
        self.query = query
        self.ref_id = ref_id
        self.result_format = ResultFormat(result_format)
        self.alias = alias
        self.hide = hide
        self.datasource = datasource
        self.statement = statement  # the typed source of ``query``; None after decoding JSON

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {"refId": self.ref_id, "query": self.query, "rawQuery": True,
                                      "resultFormat": self.result_format.value}
        if self.alias is not None:
            payload["alias"] = self.alias
        if self.hide is not None:
            payload["hide"] = self.hide
        if self.datasource is not None:
            payload["datasource"] = self.datasource
        return payload

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        if data.get("rawQuery") is not True or not isinstance(data.get("query"), str):
            raise ValueError(f"not a raw InfluxQL target: {sorted(data)}")
        ds = data.get("datasource")
        return cls(query=data["query"], ref_id=data.get("refId", "A"),
                   result_format=ResultFormat(data.get("resultFormat", ResultFormat.TIME_SERIES)),
                   alias=data.get("alias"), hide=data.get("hide"),
                   datasource=DataSourceRef.from_json(ds) if isinstance(ds, dict) else None)


class InfluxTargetBuilder(cogbuilder.Builder[InfluxTarget]):
    """Builds an :class:`InfluxTarget` from a typed statement (the only way to get its text)."""

    def __init__(self, statement: Statement | Outer, *, datasource: DataSourceRef) -> None:
        self._internal = InfluxTarget(query=statement.render(), datasource=datasource, statement=statement)

    def build(self) -> InfluxTarget:
        return self._internal

    def ref_id(self, ref_id: str) -> Self:
        self._internal.ref_id = ref_id
        return self

    def table(self) -> Self:
        self._internal.result_format = ResultFormat.TABLE
        return self

    def alias(self, alias: str) -> Self:
        """Series name; Grafana replaces ``$tag_<name>`` and ``$col`` in it."""
        self._internal.alias = alias
        return self


def register() -> None:
    """Teach the SDK's JSON decoder the InfluxDB target (idempotent)."""
    cogruntime.register_dataquery_variant(
        cogruntime.DataqueryConfig(identifier=INFLUXDB_PLUGIN, from_json_hook=InfluxTarget.from_json))
