"""Field conditions (``positive``, ``any_of``) on a real InfluxDB 1.x: a Select renders them around
a subquery that holds the tag and time conditions (InfluxDB matches an outer field condition
against every series of the measurement, storage/query.py); the rows, aggregates, tags and times
must be what the conditions say, for the enterprises asked only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from seamline.contracts.assets import AssetKind
from seamline.localstack import InfluxdProcess
from seamline.storage.query import AggregateFn, CountingClient, FieldEquals, Select, Series, SeriesIs
from seamline.storage.query_client import InfluxQLClient
from seamline.storage.schema import ASSET_IDENTITY, MACHINE_STATE, Field, Tag, telemetry
from seamline.storage.writer_v1 import InfluxV1Writer

pytestmark = pytest.mark.integration

SEWING = telemetry(AssetKind.SEWING_MACHINE)
T0 = 1_778_029_200_000  # ms
MIN = 60_000
NOT_GOOD = (FieldEquals(field=Field.QUALITY, value="stale"), FieldEquals(field=Field.QUALITY, value="historical"))

# (enterprise, asset, minute, period_s or None, quality); e3 is never asked for
ROWS = [
    ("e1", "m1", 0, 60, "good"), ("e1", "m1", 1, 60, "stale"), ("e1", "m1", 2, 60, "historical"),
    ("e1", "m1", 3, None, "stale"),  # a raw sample: no period, not an aggregate
    ("e1", "m1", 9, 60, "stale"),  # after the range
    ("e1", "m2", 0, 60, "good"), ("e1", "m2", 1, 0, "good"),
    ("e2", "m1", 4, 60, "historical"), ("e2", "m1", 5, 60, "good"),
    ("e3", "m1", 1, 60, "stale"),
]


def _line(ent: str, asset: str, minute: int, period: int | None, quality: str) -> str:
    fields = [f'quality="{quality}"', f"run_s={minute + 1}"] + ([f"period_s={period}"] if period is not None else [])
    return f"sewing_machine,area=l1,asset={asset},enterprise={ent},site=s1 {','.join(fields)} {T0 + minute * MIN}"


@pytest.fixture
def counting(influxd: InfluxdProcess, influx_db: str) -> CountingClient:
    InfluxV1Writer(url=influxd.url, database=influx_db, retention_policy="autogen").write([_line(*r) for r in ROWS])
    return CountingClient(InfluxQLClient(url=influxd.url), database=influx_db)


def _sel(**kw: Any) -> Select:
    args: dict[str, Any] = {"measurement": SEWING, "fields": (), "rp": "autogen", "enterprises": ("e1", "e2"),
                            "group_by": ASSET_IDENTITY, "start_ms": T0, "end_ms": T0 + 6 * MIN}
    return Select(**{**args, **kw})


def _by_asset(series: Sequence[Series]) -> dict[tuple[str, str], list[dict[str, object]]]:
    return {(s.tags[Tag.ENTERPRISE], s.tags[Tag.ASSET]): [dict(r) for r in s.rows] for s in series}


def test_any_of_counts_the_stale_and_replayed_aggregates_of_the_enterprises_asked(counting: CountingClient) -> None:
    sel = _sel(aggregates=(AggregateFn("count", "period_s"),), any_of=NOT_GOOD)
    assert "(SELECT" in sel.render()
    got = _by_asset(counting.run([sel])[0])
    # e1/m1: minutes 1 and 2 (the raw sample at 3 has no period, minute 9 is after the range);
    # e1/m2 has none; e3 is not asked for
    assert {k: rows[0]["count_period_s"] for k, rows in got.items()} == {("e1", "m1"): 2, ("e2", "m1"): 1}
    # the aggregate row's time is the range's start, as without a condition
    plain = _by_asset(counting.run([_sel(aggregates=(AggregateFn("count", "period_s"),))])[0])
    assert got[("e1", "m1")][0]["time"] == plain[("e1", "m1")][0]["time"] == T0


def test_positive_keeps_the_rows_with_a_period_and_the_fields_asked(counting: CountingClient) -> None:
    got = _by_asset(counting.run([_sel(fields=("run_s", "period_s"), positive="period_s")])[0])
    assert got[("e1", "m2")] == [{"time": T0, "run_s": 1, "period_s": 60}]  # minute 1's period is 0
    assert [r["time"] for r in got[("e1", "m1")]] == [T0 + m * MIN for m in (0, 1, 2)]
    assert set(got) == {("e1", "m1"), ("e1", "m2"), ("e2", "m1")}


def test_any_of_with_series_and_latest(counting: CountingClient, influxd: InfluxdProcess, influx_db: str) -> None:
    only = (SeriesIs(((Tag.ENTERPRISE, "e1"), (Tag.SITE, "s1"), (Tag.AREA, "l1"), (Tag.ASSET, "m1"))),)
    got = _by_asset(counting.run([_sel(fields=("run_s",), any_of=NOT_GOOD, series=only, latest=True)])[0])
    assert got == {("e1", "m1"): [{"time": T0 + 3 * MIN, "run_s": 4}]}  # the raw stale sample is the latest
    # machine_state: the state or the previous state is down
    InfluxV1Writer(url=influxd.url, database=influx_db, retention_policy="autogen").write([
        f'machine_state,area=l1,asset=m1,enterprise=e1,site=s1 state="down",previous="run" {T0}',
        f'machine_state,area=l1,asset=m1,enterprise=e1,site=s1 state="idle",previous="down" {T0 + MIN}',
        f'machine_state,area=l1,asset=m1,enterprise=e1,site=s1 state="run",previous="idle" {T0 + 2 * MIN}'])
    down = (FieldEquals(field=Field.STATE, value="down"), FieldEquals(field=Field.PREVIOUS, value="down"))
    sel = Select(measurement=MACHINE_STATE, fields=(Field.STATE,), rp="autogen", enterprises=("e1",),
                 group_by=ASSET_IDENTITY, start_ms=T0, end_ms=T0 + 6 * MIN, any_of=down, series=only)
    rows = _by_asset(counting.run([sel])[0])[("e1", "m1")]
    assert rows == [{"time": T0, "state": "down"}, {"time": T0 + MIN, "state": "idle"}]
