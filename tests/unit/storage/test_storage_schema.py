"""The storage schema checks names where points and queries are built: an undefined tag or field
is a SchemaError before anything reaches InfluxDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from seamline.contracts.assets import AssetKind, metric_specs
from seamline.ingest.metrics import IngestMetrics
from seamline.rules.kpi.result import Coverage, KpiResult, KpiValue
from seamline.rules.kpi_points import make_point
from seamline.rules.windows import Window
from seamline.storage.query import FieldEquals, Select
from seamline.storage.schema import (
    ALL_MEASUREMENTS,
    KPI_LINE,
    KPI_WIND,
    MACHINE_STATE,
    Retention,
    SchemaError,
    Tag,
    measurement,
    telemetry,
)

WIN = Window(datetime(2026, 5, 6, tzinfo=UTC), datetime(2026, 5, 6, 1, tzinfo=UTC))


@pytest.mark.parametrize("kind", list(AssetKind))
def test_telemetry_fields_are_the_contract_metrics_plus_seq_and_quality(kind: AssetKind) -> None:
    m = telemetry(kind)
    assert m.name == kind.value and m.retention is Retention.RAW and measurement(kind.value) is m
    derived = ({"sums_key", "run_idle_ms", "off_down_ms", "unavailable_stops_ms", "counts"}
               if kind is AssetKind.SEWING_MACHINE else set())
    assert m.fields == {*metric_specs(kind), *derived, "seq", "quality"}
    assert m.tags == (Tag.ENTERPRISE, Tag.SITE, Tag.AREA, Tag.ASSET)


def test_names_are_unique_and_retention_policies_split_raw_from_kpi() -> None:
    assert len(ALL_MEASUREMENTS) == 7 + 8 + 11 + 3  # telemetry, raw records (seq_lost, machine_down), KPIs, platform
    kpi = sorted(n for n, m in ALL_MEASUREMENTS.items() if m.retention is Retention.KPI)
    assert kpi == ["alert_state", "capacity_day", "grade", "kpi_battery", "kpi_downtime", "kpi_factory_energy",
                   "kpi_green_energy", "kpi_line", "kpi_line_carbon", "kpi_line_energy", "kpi_machine", "kpi_pv",
                   "kpi_wind", "plan_orders"]
    with pytest.raises(SchemaError, match="no measurement 'kpi_lines'"):
        measurement("kpi_lines")


def test_field_lookups_and_families() -> None:
    assert KPI_WIND.field("category_h_forced_outage") == "category_h_forced_outage"
    for bad in ("category_h_", "category_x", "flag"):
        with pytest.raises(SchemaError, match=f"no field {bad!r}"):
            KPI_WIND.field(bad)
    with pytest.raises(SchemaError, match=r"undefined tags \['asset'\], fields \['oee_pct'\]"):
        KPI_LINE.check(tags=("enterprise", "asset"), fields=("oee", "oee_pct"))


def test_a_select_with_an_undefined_name_is_refused_when_built() -> None:
    def sel(**kw: object) -> Select:
        args: dict[str, object] = {"measurement": MACHINE_STATE, "fields": ("state",), "rp": "raw",
                                   "enterprises": ("e",), "group_by": (Tag.ASSET,), "start_ms": 0, "end_ms": 1}
        return Select(**{**args, **kw})  # type: ignore[arg-type]

    assert sel().render().startswith('SELECT "state" FROM "raw"."machine_state"')
    with pytest.raises(SchemaError, match="fields \\['stat'\\]"):
        sel(fields=("stat",))
    with pytest.raises(SchemaError, match="tags \\['line'\\]"):
        sel(group_by=(Tag.LINE,))
    with pytest.raises(SchemaError, match="fields \\['period_s'\\]"):
        sel(positive="period_s")
    with pytest.raises(SchemaError, match="fields \\['mode'\\]"):
        sel(any_of=(FieldEquals(field="mode", value="x"),))


def _result(*names: str) -> KpiResult:
    return KpiResult("k", WIN, Coverage(3600.0, 3600.0), tuple(KpiValue(n, "x", 1.0) for n in names))


def test_a_kpi_point_with_an_undefined_field_or_tag_is_refused() -> None:
    tags = {"enterprise": "e", "site": "s", "line": "l", "window": "1h"}
    point = make_point(KPI_LINE, tags, WIN, [_result("oee", "line_efficiency")])
    assert point.measurement == "kpi_line" and point.get("coverage") == 1.0
    with pytest.raises(SchemaError, match=r"fields \['oee_ratio'\]"):
        make_point(KPI_LINE, tags, WIN, [_result("oee_ratio")])
    with pytest.raises(SchemaError, match=r"tags \['machine'\]"):
        make_point(KPI_LINE, {**tags, "machine": "m1"}, WIN, [_result("oee")])


def test_ingest_self_metrics_are_in_the_schema() -> None:
    metrics = IngestMetrics()
    metrics.quarantined.labels(reason="bad_json").inc()
    metrics.batch_latency.observe(0.01)
    extra = {"queue_full_waits": 0, "quarantine_rows": 1, "mqtt_connects": 1, "stale_acks": 0,
             "gap_tracked_assets": 0, "write_waited_s": 0.0}
    line = metrics.to_line(worker="w1", ts_ms=int((WIN.start_s + 1) * 1000), extra=extra)
    assert line.startswith("seamline_ingest,worker=w1 ") and "quarantined_bad_json=1.0" in line
    with pytest.raises(SchemaError, match="unknown_counter"):
        metrics.to_line(worker="w1", ts_ms=0, extra={"unknown_counter": 1})


def test_state_window_of_a_day_is_a_valid_select() -> None:
    start = int(WIN.start_s * 1000)
    s = Select(measurement=MACHINE_STATE, fields=("state", "reason"), rp="raw", enterprises=("a", "b"),
               group_by=(Tag.ENTERPRISE, Tag.SITE, Tag.AREA, Tag.ASSET), start_ms=start,
               end_ms=start + int(timedelta(days=1).total_seconds() * 1000), latest=True)
    assert '"enterprise" =~ /^(?:a|b)$/' in s.render() and s.render().endswith("ORDER BY time DESC LIMIT 1")
