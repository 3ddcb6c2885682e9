"""Names the contract accepts are stored and read back byte-identical by the real InfluxDB 1.x
(issue 12): topic levels become tags, free-text payload fields become string fields. What cannot
be stored as itself (a backslash in a level) is refused by the contract, before it is published."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seamline.contracts.assets import AssetKind
from seamline.contracts.topic import MAX_LEVEL_CHARS, Topic, TopicError, validate_level
from seamline.ingest.points import message_lines
from seamline.ingest.validate import Accepted, TimeWindow, validate
from seamline.localstack import InfluxdProcess
from seamline.storage.influxql import quote_ident
from seamline.storage.schema import ASSET_INFO, GATEWAY_BIRTH, TIME, Field, Tag, telemetry
from seamline.storage.writer_v1 import InfluxV1Writer

pytestmark = pytest.mark.integration

TS = 1_764_000_000_000
WINDOW = TimeWindow(max_past_ms=10**13, max_future_ms=10**13)
_serial = itertools.count(1)
# Accepted by the grammar, and each meaningful to MQTT, line protocol, InfluxQL or JSON.
HARD_NAMES = ['q"x', "it's", "a,b=c d", "a b", "=", ",", "e=mc2", '"', "'", "a'b\"c", "织造一厂", "Zürich", "😀x",
              "\U000e0100", "\u0378", "x" * MAX_LEVEL_CHARS, "a%b", "-", "0", "a$", "a_"]
REFUSED = ["back\\ slash", 'q\\"x', "end\\", "\\", "a\\,b", "a\\=b"]

levels = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=MAX_LEVEL_CHARS).filter(
    lambda t: _is_level(t))
free_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=64)


def _is_level(text: str) -> bool:
    try:
        validate_level(text)
    except TopicError:
        return False
    return True


def _rows(influxd: InfluxdProcess, db: str, measurement: str, ts: int) -> list[dict[str, Any]]:
    res: Any = influxd.query(f"SELECT * FROM {quote_ident(measurement)} WHERE time = {ts}ms GROUP BY *", db=db)
    out = []
    for s in res["results"][0].get("series", []):
        for values in s["values"]:
            out.append(dict(s.get("tags") or {}) | dict(zip(s["columns"], values, strict=True)))
    return out


def _store(influxd: InfluxdProcess, db: str, topic: str, payload: dict[str, Any]) -> Accepted:
    result = validate(topic, orjson.dumps(payload), now_ms=TS, window=WINDOW, max_payload_bytes=256 * 1024)
    assert isinstance(result, Accepted), result
    w = InfluxV1Writer(url=influxd.url, database=db, timeout_s=10)
    w.write(message_lines(result.topic, result.message, received_ms=TS, gaps=None))
    w.close()
    return result


def _round_trip_data(influxd: InfluxdProcess, db: str, names: list[str]) -> None:
    ts = TS + next(_serial)
    topic = Topic(enterprise=names[0], site=names[1], area=names[2], asset=names[3], kind="data")  # type: ignore[arg-type]
    _store(influxd, db, str(topic), {"asset_kind": "sewing_machine",
                                     "samples": [{"ts_ms": ts, "seq": 1, "metrics": {"current_a": 1.5}}]})
    rows = _rows(influxd, db, telemetry(AssetKind.SEWING_MACHINE).name, ts)
    assert [(r[Tag.ENTERPRISE], r[Tag.SITE], r[Tag.AREA], r[Tag.ASSET]) for r in rows] == [tuple(names)]


def _round_trip_birth(influxd: InfluxdProcess, db: str, gateway: str, asset: str, texts: list[str]) -> None:
    ts = TS + next(_serial)
    topic = Topic.gateway(enterprise="e1", site="s1", gateway_id=gateway, kind="birth")  # type: ignore[arg-type]
    payload = {"gateway_id": gateway, "ts_ms": ts, "agent_version": texts[0], "boot_id": texts[1],
               "assets": [{"asset": asset, "area": asset, "asset_kind": "meter", "model": texts[2],
                           "firmware_version": texts[3]}]}
    _store(influxd, db, str(topic), payload)
    (birth,) = _rows(influxd, db, GATEWAY_BIRTH.name, ts)
    assert (birth[Tag.GATEWAY], birth[Field.AGENT_VERSION], birth[Field.BOOT_ID]) == (gateway, texts[0], texts[1])
    (info,) = _rows(influxd, db, ASSET_INFO.name, ts)
    assert (info[Tag.ASSET], info[Tag.AREA], info[Field.GATEWAY]) == (asset, asset, gateway)
    assert (info[Field.MODEL], info[Field.FIRMWARE_VERSION]) == (texts[2], texts[3])
    assert info[TIME] == ts


@pytest.mark.parametrize("name", HARD_NAMES)
def test_hard_names_round_trip_byte_identical(influxd: InfluxdProcess, influx_db: str, name: str) -> None:
    _round_trip_data(influxd, influx_db, [name, name, name, name])
    _round_trip_birth(influxd, influx_db, name, name, [name, name, name, name])


@pytest.mark.parametrize("name", REFUSED)
def test_backslash_names_are_refused_by_the_contract_with_the_reason(name: str) -> None:
    with pytest.raises(TopicError, match="InfluxDB line protocol cannot store it"):
        validate_level(name)
    result = validate(f"seamline/v1/e/s/{name}/m1/data", b"{}", now_ms=TS, window=WINDOW, max_payload_bytes=1000)
    assert not isinstance(result, Accepted)
    assert "line protocol" in result.detail


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(names=st.lists(levels, min_size=4, max_size=4), texts=st.lists(free_text, min_size=4, max_size=4))
def test_any_accepted_name_and_text_round_trips(
    influxd: InfluxdProcess, influx_db: str, names: list[str], texts: list[str]
) -> None:
    _round_trip_data(influxd, influx_db, names)
    _round_trip_birth(influxd, influx_db, names[0], names[1], texts)
