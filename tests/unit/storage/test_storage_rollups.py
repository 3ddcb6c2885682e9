"""Rollup definitions: which aggregate each field gets, CQ names that change with their text, the
config's checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from seamline.contracts.assets import AssetKind, metric_specs
from seamline.storage.config import InfluxConfig, RollupConfig
from seamline.storage.db_init import DbLayout
from seamline.storage.rollups import RollupSpec, aggregate_for, aggregations, backfill_statement, continuous_queries


def test_sewing_amounts_are_summed_counters_last_peaks_max() -> None:
    agg = aggregations(AssetKind.SEWING_MACHINE)
    assert {f for f, fn in agg.items() if fn == "sum"} >= {"run_s", "idle_s", "off_s", "down_s", "pieces", "rejects",
                                                           "stitches", "samples", "period_s", "pieces_unobserved"}
    assert agg["stitches_total"] == "last" and agg["current_max_a"] == "max" and agg["current_a"] == "mean"
    assert agg["seq"] == "count"
    assert set(agg) == {*metric_specs(AssetKind.SEWING_MACHINE), "seq"}


def test_stop_split_fields_sum_their_seconds_and_counts_but_not_their_end_state() -> None:
    sewing = AssetKind.SEWING_MACHINE
    assert aggregate_for(sewing, "stop_s", "s") == "sum" and aggregate_for(sewing, "breakdowns", "count") == "sum"
    assert aggregate_for(sewing, "idle_open_s", "s") == "last"
    assert aggregate_for(sewing, "stop_threshold_s", "s") == "last"
    assert aggregate_for(AssetKind.PV_INVERTER, "operating_state", "enum") == "last"


def test_energy_counters_and_codes_are_last_gauges_mean() -> None:
    assert aggregations(AssetKind.METER)["import_energy_wh"] == "last"
    assert aggregations(AssetKind.METER)["power_w"] == "mean"
    assert aggregations(AssetKind.WIND_TURBINE)["status"] == "last"
    assert aggregations(AssetKind.BATTERY)["soc_pct"] == "mean"


def test_cq_names_carry_a_fingerprint_of_their_definition() -> None:
    a = continuous_queries("db", "raw", [RollupSpec(every="1h", duration="730d")])
    assert len(a) == 6 and continuous_queries("db", "raw", [RollupSpec(every="1h", duration="730d")]) == a
    b = continuous_queries("db", "raw", [RollupSpec(every="1h", duration="730d", resample_for="3h")])
    assert not set(a) & set(b)
    stmt = next(v for k, v in a.items() if "sewing_machine" in k)
    assert 'INTO "db"."rollup_1h"."sewing_machine" FROM "db"."raw"."sewing_machine" GROUP BY time(1h), * END' in stmt
    day = continuous_queries("db", "raw", [RollupSpec(every="1d", duration="INF", offset="-8h")])
    assert all("GROUP BY time(1d, -8h), *" in v for v in day.values())
    q = backfill_statement("db", "raw", RollupSpec(every="1h", duration="1d"), AssetKind.METER, start_ms=0, end_ms=5)
    assert "WHERE time >= 0ms AND time < 5ms GROUP BY time(1h), *" in q and "RESAMPLE" not in q


def test_config_defaults_and_refusals() -> None:
    cfg = InfluxConfig()
    assert [(r.every, r.duration, r.offset) for r in cfg.rollups] == [("1h", "730d", "0s"), ("1d", "INF", "-8h")]
    assert InfluxConfig.model_validate({"rollups": []}).rollups == ()
    for bad in ({"every": "0s", "duration": "1d"}, {"every": "1h", "duration": "a year"},
                {"every": "1h", "duration": "1d", "resample_for": "10m"}, {"every": "1h", "duration": "1d", "x": 1}):
        with pytest.raises(ValidationError):
            RollupConfig.model_validate(bad)
    with pytest.raises(ValueError, match="unique"):
        DbLayout(rollups=(RollupSpec(every="1h", duration="1d"), RollupSpec(every="1h", duration="2d")))
