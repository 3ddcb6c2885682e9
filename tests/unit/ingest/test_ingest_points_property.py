"""Property: the fast line builder gives exactly the bytes of the general ``encode_line`` path, and
the validator ingest calls accepts exactly what the contract's ``parse_data`` accepts."""

from __future__ import annotations

import json
from typing import Any

import pydantic
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from seamline.contracts.assets import AssetKind, metric_specs
from seamline.contracts.messages import TS_MAX_MS, TS_MIN_MS, Quality, parse_data
from seamline.contracts.topic import MessageKind, Topic, TopicError
from seamline.ingest.points import data_lines
from seamline.ingest.validate import Accepted, TimeWindow, validate
from seamline.storage.line_protocol import encode_line
from seamline.storage.sewing_sums import derived_fields

KINDS = sorted(AssetKind, key=lambda k: k.value)
# spaces, commas, '=' and backslashes exercise escaping and the unrepresentable-name refusals
level = st.text(alphabet="ab ,=\\é1", min_size=1, max_size=6).filter(lambda s: s == s.strip())
WIDE = TimeWindow(max_past_ms=TS_MAX_MS, max_future_ms=TS_MAX_MS)


@st.composite
def messages(draw: st.DrawFn) -> tuple[AssetKind, list[dict[str, Any]]]:
    kind = draw(st.sampled_from(KINDS))
    specs = metric_specs(kind)
    samples = []
    for seq in range(draw(st.integers(1, 4))):
        names = draw(st.lists(st.sampled_from(sorted(specs)), unique=True, max_size=len(specs)))
        metrics: dict[str, Any] = {}
        for name in names:
            if specs[name].type == "int":
                metrics[name] = draw(st.integers(0, 2**64) | st.just(7.0))  # 7.0 is a valid JSON int
            else:
                metrics[name] = draw(st.floats(0, 70, allow_nan=False) | st.integers(0, 70) | st.none())
        ts = draw(st.integers(TS_MIN_MS, TS_MAX_MS - 1))
        quality = draw(st.sampled_from(["good", "stale", "historical"]))
        samples.append({"ts_ms": ts, "seq": seq, "quality": quality, "metrics": metrics})
    return kind, samples


def slow_lines(topic: Topic, kind: AssetKind, samples: list[Any]) -> list[str]:
    """The general path: a dict of typed fields per sample through ``encode_line``."""
    specs = metric_specs(kind)
    tags = {"enterprise": topic.enterprise, "site": topic.site, "area": topic.area, "asset": topic.asset}
    out = []
    for s in samples:
        fields: dict[str, float | int | bool | str] = {}
        for name in sorted(specs):
            value = getattr(s.metrics, name)
            if value is not None:
                fields[name] = int(value) if specs[name].type == "int" else float(value)
        if kind is AssetKind.SEWING_MACHINE:
            fields.update(derived_fields(dict(fields), good=s.quality is Quality.GOOD))
        fields["seq"] = s.seq
        fields["quality"] = s.quality.value
        out.append(encode_line(kind.value, tags, fields, s.ts_ms))
    return out


@settings(max_examples=300, deadline=None)
@given(messages(), st.tuples(level, level, level, level))
def test_fast_lines_equal_encode_line_and_fast_validation_equals_parse_data(
    message: tuple[AssetKind, list[dict[str, Any]]], levels: tuple[str, str, str, str]
) -> None:
    kind, samples = message
    try:
        topic = Topic(enterprise=levels[0], site=levels[1], area=levels[2], asset=levels[3], kind=MessageKind.DATA)
    except TopicError:
        assume(False)
        raise
    # stdlib json: it writes ints beyond 64 bits, which the contract must refuse or store
    payload = json.dumps({"schema_version": 1, "asset_kind": kind.value, "samples": samples}).encode()
    try:
        parsed = parse_data(payload)
    except pydantic.ValidationError:
        assert not isinstance(validate(str(topic), payload, now_ms=0, window=WIDE, max_payload_bytes=10**6),
                              Accepted)
        return
    result = validate(str(topic), payload, now_ms=0, window=WIDE, max_payload_bytes=10**6)
    if kind is AssetKind.GATEWAY:  # data of a gateway belongs on the _gateway area only
        assert not isinstance(result, Accepted)
        return
    assert isinstance(result, Accepted)
    assert result.message == parsed
    try:
        expected = slow_lines(topic, kind, parsed.samples)
    except ValueError as exc:  # a name or an int line protocol cannot carry: both paths refuse it
        kind_of_error = str(exc).split()[0]
        try:
            data_lines(topic, kind, parsed.samples)
        except ValueError:
            return
        raise AssertionError(f"fast path accepted what encode_line refused ({kind_of_error})") from None
    assert data_lines(topic, kind, parsed.samples) == expected
