"""Writers against the real InfluxDB 1.x: v1 directly, v2 through the compatibility shim, and a
hypothesis round trip of arbitrary names and values through the encoder, the v1 writer and InfluxQL."""

from __future__ import annotations

import itertools
import random
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from seamline.localstack import InfluxdProcess
from seamline.storage.influxql import quote_ident
from seamline.storage.line_protocol import encode_line
from seamline.storage.write_errors import PartialWriteError, PermanentWriteError
from seamline.storage.write_policy import WritePolicy
from seamline.storage.writer_v1 import InfluxV1Writer
from seamline.storage.writer_v2 import InfluxV2Writer
from tests.support.influx_shim import InfluxShim

pytestmark = pytest.mark.integration


def series(influxd: InfluxdProcess, db: str, q: str) -> list[dict[str, Any]]:
    res: Any = influxd.query(q, db=db)
    return list(res["results"][0].get("series", []))


def count(influxd: InfluxdProcess, db: str, measurement: str) -> int:
    s = series(influxd, db, f"SELECT count(f) FROM {quote_ident(measurement)}")
    return int(s[0]["values"][0][1]) if s else 0


def test_v1_writer_stores_points_with_ms_precision_and_gzip(influxd: InfluxdProcess, influx_db: str) -> None:
    for gz in (False, True):
        w = InfluxV1Writer(url=influxd.url, database=influx_db, timeout_s=5, gzip=gz)
        lines = [
            encode_line(f"m{gz}", {"asset": f"a{i}"}, {"f": i + 0.5, "n": i}, 1_700_000_000_001 + i)
            for i in range(50)
        ]
        w.write(lines)
        w.write(lines)  # a replay is the same points
        w.close()
        rows = series(influxd, influx_db, f'SELECT f, n, asset FROM "m{gz}" ORDER BY time')[0]["values"]
        assert len(rows) == 50
        assert rows[0] == [1_700_000_000_001, 0.5, 0, "a0"]
        assert rows[49] == [1_700_000_000_050, 49.5, 49, "a49"]


def test_v1_writer_unknown_database_is_permanent(influxd: InfluxdProcess) -> None:
    w = InfluxV1Writer(url=influxd.url, database="no_such_db_x", timeout_s=5)
    with pytest.raises(PermanentWriteError) as info:
        w.write(["m f=1.0 1"])
    assert info.value.status == 404
    w.close()


def test_v2_writer_through_compat_shim(influxd: InfluxdProcess, influx_db: str) -> None:
    with InfluxShim(upstream_url=influxd.url) as shim:
        w = InfluxV2Writer(url=shim.url, org="-", bucket=f"{influx_db}/autogen", token=SecretStr("u:p"), timeout_s=5)
        lines = [encode_line("v2m", {"asset": "a b"}, {"f": 1.25, "s": 'q"x'}, 1_000 + i) for i in range(10)]
        w.write(lines)
        w.close()
        assert shim.count("write") == 1 and shim.count("write:204") == 1
    rows = series(influxd, influx_db, 'SELECT f, s, asset FROM "v2m"')[0]["values"]
    assert rows == [[1_000 + i, 1.25, 'q"x', "a b"] for i in range(10)]


def test_real_field_type_conflict_is_bisected_to_the_offending_lines(
    influxd: InfluxdProcess, influx_db: str
) -> None:
    w = InfluxV1Writer(url=influxd.url, database=influx_db, timeout_s=5)
    w.write(["tc f=1.0 1"])  # f is a float from now on
    lines = [f"tc f={i}.5 {10 + i}" for i in range(16)]
    bad = {3: "tc f=3i 13", 11: "tc f=11i 21"}
    for i, ln in bad.items():
        lines[i] = ln
    with pytest.raises(PartialWriteError):
        w.write(lines)
    out = WritePolicy(rng=random.Random(1)).write_durably(w, lines, stop=threading.Event())
    w.close()
    assert sorted(ln for ln, _ in out.rejected) == sorted(bad.values())
    assert all("field type conflict" in reason for _, reason in out.rejected)
    assert out.written == 14 and count(influxd, influx_db, "tc") == 15


# ---------------------------------------------------------------- property: real round trip
_CHARS = st.characters(blacklist_categories=("Cs", "Cc"))


def _ok(s: str) -> bool:
    return s != "time" and not any(s[i] == "\\" and (i + 1 == len(s) or s[i + 1] in ' ,="') for i in range(len(s)))


names = st.text(_CHARS, min_size=1, max_size=10).filter(_ok)
values = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
)
_serial = itertools.count()
_TYPE = {float: "float", int: "integer", bool: "boolean", str: "string"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    m=names.filter(lambda s: not s.startswith("#")),
    tags=st.dictionaries(names, names, max_size=3),
    fields=st.dictionaries(names, values, min_size=1, max_size=3),
    ts=st.integers(min_value=0, max_value=4_000_000_000_000),
)
def test_arbitrary_names_and_values_round_trip_through_influxdb(
    influxd: InfluxdProcess, influx_db: str, m: str, tags: dict[str, str], fields: dict[str, Any], ts: int
) -> None:
    fields = {k: v for k, v in fields.items() if k not in tags}  # SELECT * cannot tell them apart
    if not fields:
        return
    measurement = f"{m}~{next(_serial)}"  # fresh per example: no type conflicts between examples
    w = InfluxV1Writer(url=influxd.url, database=influx_db, timeout_s=10)
    w.write([encode_line(measurement, tags, fields, ts)])
    w.close()
    got = series(influxd, influx_db, f"SELECT * FROM {quote_ident(measurement)} GROUP BY *")
    assert len(got) == 1
    s = got[0]
    assert s["name"] == measurement
    assert (s.get("tags") or {}) == tags
    row = dict(zip(s["columns"], s["values"][0], strict=True))
    assert row.pop("time") == ts
    assert row.keys() == fields.keys()
    kinds = series(influxd, influx_db, f"SHOW FIELD KEYS FROM {quote_ident(measurement)}")[0]["values"]
    assert dict(kinds) == {k: _TYPE[type(v)] for k, v in fields.items()}
    for k, v in fields.items():
        if isinstance(v, float):
            assert float(row[k]) == v
        else:
            assert row[k] == v
