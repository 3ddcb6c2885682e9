"""Every kind of bad input gets its own reason code; good input is accepted."""

from __future__ import annotations

import orjson
import pytest

from seamline.contracts.messages import BirthMessage, GatewayStatusMessage, StateChangeMessage
from seamline.ingest.validate import Accepted, Reason, Rejected, TimeWindow, validate

NOW = 1_764_000_000_000
WINDOW = TimeWindow(max_past_ms=30 * 86_400_000, max_future_ms=600_000)
DATA_T = "seamline/v1/acme/s1/line1/m1/data"
GW = "seamline/v1/acme/s1/_gateway/gw1"


def check(topic: str, payload: bytes, *, limit: int = 256 * 1024) -> Accepted | Rejected:
    return validate(topic, payload, now_ms=NOW, window=WINDOW, max_payload_bytes=limit)


def sample(**kw: object) -> dict[str, object]:
    return {"ts_ms": NOW, "seq": 1, "metrics": {"current_a": 1.5}} | kw


def sewing(*samples: dict[str, object], **kw: object) -> bytes:
    return orjson.dumps({"asset_kind": "sewing_machine", "samples": list(samples) or [sample()]} | kw)


def reason(result: Accepted | Rejected) -> Reason:
    assert isinstance(result, Rejected), result
    return result.reason


def test_good_data_is_accepted_with_identity_from_the_topic() -> None:
    result = check(DATA_T, sewing())
    assert isinstance(result, Accepted)
    assert (result.topic.enterprise, result.topic.site, result.topic.area, result.topic.asset) == (
        "acme", "s1", "line1", "m1",
    )


@pytest.mark.parametrize(
    "topic",
    [
        "seamline/v1/acme/s1/line1/data",  # 6 levels
        "seamline/v2/acme/s1/line1/m1/data",  # other version
        "other/v1/acme/s1/line1/m1/data",
        "seamline/v1/acme/s1/line1/m1/nonsense",
        "seamline/v1/acme/s1/_line1/m1/data",  # reserved prefix
        "seamline/v1/acme/s1/line\x001/m1/data",
    ],
)
def test_bad_topics(topic: str) -> None:
    assert reason(check(topic, sewing())) is Reason.BAD_TOPIC


def test_capacity_and_command_topics_are_not_stored_by_ingest() -> None:
    assert reason(check("seamline/v1/acme/s1/line1/_line/capacity", b"{}")) is Reason.UNSUPPORTED_KIND


def test_oversized() -> None:
    result = check(DATA_T, sewing(), limit=50)
    assert reason(result) is Reason.OVERSIZED
    assert isinstance(result, Rejected) and "> limit 50" in result.detail


@pytest.mark.parametrize("payload", [b"", b"{", b"\xff\xfe", b"not json", b'{"asset_kind": "meter",}'])
def test_bad_json(payload: bytes) -> None:
    assert reason(check(DATA_T, payload)) is Reason.BAD_JSON


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite(literal: bytes) -> None:
    payload = b'{"asset_kind":"meter","samples":[{"ts_ms":%d,"seq":1,"metrics":{"power_w":%s}}]}' % (NOW, literal)
    assert reason(check(DATA_T, payload)) is Reason.NON_FINITE


def test_unknown_schema_version() -> None:
    assert reason(check(DATA_T, sewing(schema_version=2))) is Reason.SCHEMA_VERSION


@pytest.mark.parametrize("kind", ["toaster", None])
def test_unknown_or_missing_asset_kind(kind: str | None) -> None:
    payload = orjson.dumps({"asset_kind": kind, "samples": [sample()]} if kind else {"samples": [sample()]})
    assert reason(check(DATA_T, payload)) is Reason.UNKNOWN_ASSET_KIND


@pytest.mark.parametrize(
    "payload",
    [
        sewing(sample(seq="one")),
        sewing(sample(metrics={"current_a": "high"})),
        sewing(sample(metrics={"current_a": -1})),  # below the contract's range
        sewing(sample(metrics={"volts": 1})),  # unknown metric
        sewing(sample(), extra_key=1),
        orjson.dumps({"asset_kind": "sewing_machine", "samples": []}),
        b"[1, 2]",
    ],
)
def test_wrong_types_and_shapes(payload: bytes) -> None:
    assert reason(check(DATA_T, payload)) is Reason.INVALID_PAYLOAD


@pytest.mark.parametrize(
    ("offset_ms", "ok"),
    [(-30 * 86_400_000, True), (-30 * 86_400_000 - 1, False), (600_000, True), (600_001, False)],
)
def test_time_window_edges(offset_ms: int, ok: bool) -> None:
    result = check(DATA_T, sewing(sample(), sample(seq=2, ts_ms=NOW + offset_ms)))
    assert isinstance(result, Accepted) is ok
    if not ok:
        assert reason(result) is Reason.TS_OUT_OF_WINDOW


def test_time_window_applies_to_state_messages() -> None:
    payload = StateChangeMessage(ts_ms=NOW + 3_600_000, seq=1, state="idle").model_dump_json().encode()
    assert reason(check("seamline/v1/acme/s1/line1/m1/state", payload)) is Reason.TS_OUT_OF_WINDOW


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        (f"{GW}/data", sewing()),  # machine data on a gateway topic
        (DATA_T, orjson.dumps({"asset_kind": "gateway", "samples": [{"ts_ms": NOW, "seq": 1, "metrics": {}}]})),
        ("seamline/v1/acme/s1/line1/_line/data", sewing()),
        ("seamline/v1/acme/s1/line1/m1/birth",
         BirthMessage(gateway_id="m1", ts_ms=NOW, agent_version="1", boot_id="b", assets=[])
         .model_dump_json().encode()),
        (f"{GW}/status", GatewayStatusMessage(gateway_id="gw2", state="online").model_dump_json().encode()),
    ],
)
def test_payload_that_does_not_fit_the_topic(topic: str, payload: bytes) -> None:
    assert reason(check(topic, payload)) is Reason.KIND_MISMATCH


def test_last_will_without_ts_is_accepted() -> None:
    payload = GatewayStatusMessage(gateway_id="gw1", state="offline").model_dump_json().encode()
    assert isinstance(check(f"{GW}/status", payload), Accepted)


def test_state_payload_on_a_state_topic_must_be_a_state_message() -> None:
    assert reason(check("seamline/v1/acme/s1/line1/m1/state", sewing())) is Reason.INVALID_PAYLOAD


def test_detail_is_bounded() -> None:
    result = check(DATA_T, b"{" + b'"x":1,' * 100_000)
    assert isinstance(result, Rejected) and len(result.detail) <= 500
