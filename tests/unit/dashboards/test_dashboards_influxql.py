"""Typed InfluxQL statements: only names the storage schema has can be built, and the text is
what Grafana's InfluxDB data source runs in raw mode."""

from __future__ import annotations

import pytest

from seamline.dashboards.influxql import (
    Agg,
    Column,
    DaysAhead,
    FamilyColumn,
    FieldIs,
    Fill,
    Outer,
    Statement,
    TagIs,
    VarMatch,
)
from seamline.dashboards.target import InfluxTarget, InfluxTargetBuilder
from seamline.dashboards.variables import TagValues, hierarchy
from seamline.storage.schema import GATEWAY_STATUS, INGEST_SELF, KPI_LINE, MACHINE_STATE, SchemaError, Tag, TagName


def _line(**kw: object) -> Statement:
    args: dict[str, object] = {"measurement": KPI_LINE, "rp": "kpi", "tags": (Tag.LINE,),
                               "columns": (Column(field="oee", agg=Agg.MEAN, alias="oee", scale=100),),
                               "where": (VarMatch(Tag.ENTERPRISE, "enterprise"), TagIs(Tag.WINDOW, "$window"))}
    return Statement(**{**args, **kw})  # type: ignore[arg-type]


def test_render() -> None:
    assert _line().render() == (
        'SELECT mean("oee") * 100 AS "oee" FROM "kpi"."kpi_line" WHERE $timeFilter AND "enterprise" =~ '
        "/^$enterprise$/ AND \"window\" = '$window' GROUP BY time($__interval), \"line\" fill(null)")
    assert _line().output == ("time", "oee")
    ahead = _line(interval="1d", tags=(), fill=Fill.ZERO, window=DaysAhead(14), tz="Asia/Shanghai").render()
    assert ahead.endswith("WHERE time > now() - 1d AND time < now() + 14d AND \"enterprise\" =~ /^$enterprise$/ AND "
                          "\"window\" = '$window' GROUP BY time(1d) fill(0) tz('Asia/Shanghai')")


def test_undefined_names_cannot_be_built() -> None:
    with pytest.raises(SchemaError, match=r"fields \['oee_pct'\]"):
        _line(columns=(Column(field="oee_pct", agg=Agg.MEAN),))
    with pytest.raises(SchemaError, match=r"tags \['area'\]"):
        _line(where=(VarMatch(Tag.AREA, "line"),))
    with pytest.raises(SchemaError, match=r"tags \['asset'\]"):
        _line(tags=(Tag.ASSET,))
    with pytest.raises(SchemaError, match="field family"):
        Statement(measurement=INGEST_SELF, rp="raw", columns=(FamilyColumn(prefix="rejected_"),))
    with pytest.raises(SchemaError, match=r"tags \['line'\]"):
        TagValues(measurements=(MACHINE_STATE,), rp="raw", key=TagName("line"))
    with pytest.raises(SchemaError, match=r"tags \['area'\]"):
        hierarchy([GATEWAY_STATUS], "raw", area_as="Area", upto="line")


def test_statement_shape_rules() -> None:
    with pytest.raises(ValueError, match="aggregated"):
        _line(columns=(Column(field="oee"),))
    with pytest.raises(ValueError, match="unique"):
        _line(columns=(Column(field="oee", agg=Agg.MEAN), Column(field="oee", agg=Agg.MAX)))
    with pytest.raises(ValueError, match="variable"):
        Column(field="oee", scale="0.5; DROP")
    with pytest.raises(ValueError, match="comparison"):
        FieldIs("oee", "=~", 1)


def test_subquery_names_only_inner_columns() -> None:
    inner = Statement(measurement=GATEWAY_STATUS, rp="raw", interval=None, tags=(Tag.GATEWAY,),
                      columns=(Column(field="state", agg=Agg.LAST, alias="state"),))
    outer = Outer(inner=inner, columns=(Column(field="state", agg=Agg.COUNT, alias="n"),),
                  where=(FieldIs("state", "=", "online"),))
    assert outer.render() == ('SELECT count("state") AS "n" FROM (SELECT last("state") AS "state" FROM '
                              '"raw"."gateway_status" WHERE $timeFilter GROUP BY "gateway") WHERE "state" = \'online\'')
    with pytest.raises(SchemaError, match="no columns"):
        Outer(inner=inner, columns=(Column(field="boot_id", agg=Agg.COUNT),))


def test_target_json_and_back() -> None:
    t = InfluxTargetBuilder(_line(), datasource=None).ref_id("B").table().alias("$tag_line").build()  # type: ignore[arg-type]
    doc = t.to_json()
    assert doc == {"refId": "B", "query": _line().render(), "rawQuery": True, "resultFormat": "table",
                   "alias": "$tag_line"}
    back = InfluxTarget.from_json(doc)
    assert back.to_json() == doc and back.statement is None
    with pytest.raises(ValueError, match="raw InfluxQL"):
        InfluxTarget.from_json({"refId": "A", "measurement": "x"})
