"""Generators of hostile wire input for the schema-agreement test and the fuzz tests: payloads that
are nearly valid (the right keys, with values of every JSON type a careless or hostile producer
sends: numeric strings, booleans, whole floats, huge numbers, NaN) and names with the characters
that break a topic, a tag or a line (backslash, quotes, separators, controls, format characters).

A hand-written corpus (:data:`EDGE_CASES`) pins the cases issue 12 named.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from seamline.contracts.assets import METRICS_MODELS, AssetKind
from seamline.contracts.messages import TS_MAX_MS, TS_MIN_MS
from seamline.contracts.topic import MessageKind

TS = 1_764_000_000_000
# Characters that mean something to MQTT, InfluxDB line protocol, InfluxQL, JSON or a terminal.
NASTY_CHARS = ['\\', '"', "'", ",", "=", " ", "+", "#", "/", "$", "_", "\n", "\r", "\t", "\x00", "\x7f",
               "\u0085", "\u00a0", "\u200b", "\u202e", "\u2028", "\ufeff", "\ue000", "\u3000", "织", "é", "😀"]
# Kinds whose payloads ingest stores.
INGEST_KINDS = (MessageKind.DATA, MessageKind.STATE, MessageKind.BIRTH, MessageKind.STATUS)

nasty_text = st.text(st.one_of(st.sampled_from(NASTY_CHARS), st.characters(), st.sampled_from("abcxyz019.-")),
                     max_size=70)
good_names = st.text(st.characters(categories=("L", "N", "P", "S"), exclude_characters="+#/\\"),
                     min_size=1, max_size=64).filter(lambda t: t[0] not in "$_")
names = st.one_of(good_names, st.sampled_from(["m1", "gw1", "line-1", "织造一厂", "a b", "q\"x", "back\\ slash",
                                               "end\\", "_line", "$SYS", " lead", "trail ", "x" * 64, "x" * 65, "",
                                               "a\u200bb"]),
                  nasty_text)


def _often(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` three times in four: a corpus of mostly-broken payloads never reaches the checks
    that come after the first error."""
    return st.one_of(good, good, good, bad)


def _int_likes() -> st.SearchStrategy[Any]:
    return _often(st.integers(min_value=0, max_value=10**6).map(lambda i: TS + i), st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70),
        st.integers(min_value=TS_MIN_MS - 5, max_value=TS_MAX_MS + 5),
        st.integers(min_value=2**63 - 3, max_value=2**63 + 3),
        st.integers(min_value=0, max_value=1000).map(float),  # whole floats: JSON Schema integers
        st.sampled_from([TS, float(TS), 1e300, -0.0, 0.5, 4.0000001, 2.0**63, 2.0**63 - 1024]),
    ))


def numbers() -> st.SearchStrategy[Any]:
    """Values for a numeric field: right and wrong JSON types alike."""
    return st.one_of(
        _int_likes(),
        st.floats(min_value=0, max_value=100),
        st.integers(min_value=0, max_value=1000),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.none(),
        st.sampled_from(["4", "1.0", "1e3", "NaN", "", " 4", "0x10", str(TS)]),
        st.lists(st.integers(), max_size=2),
    )


def _maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(value, value, value, value, value, st.just(_ABSENT))


_ABSENT = object()


def _obj(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A dict of the given fields, each sometimes absent, sometimes with a stray key added."""
    keys = sorted(fields)

    def build(values: list[Any], extra: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in zip(keys, values, strict=True) if v is not _ABSENT}
        return out | extra

    extras = st.dictionaries(st.sampled_from(["extra", "enterprise", "asset", "Seq", "seq "]), numbers(), max_size=1)
    return st.builds(build, st.tuples(*(_maybe(fields[k]) for k in keys)).map(list), _often(st.just({}), extras))


def _metrics(kind: AssetKind) -> st.SearchStrategy[dict[str, Any]]:
    names_of_kind = sorted(METRICS_MODELS[kind].model_fields)
    return st.dictionaries(st.one_of(st.sampled_from(names_of_kind), st.sampled_from(["bogus", "time"])),
                           numbers(), max_size=4)


def _kind_values() -> st.SearchStrategy[Any]:
    return _often(st.sampled_from([k.value for k in AssetKind]), st.sampled_from(["robot", "", 1, None]))


def _schema_version() -> st.SearchStrategy[Any]:
    return _often(st.just(1), st.sampled_from([1.0, True, "1", 2, 0, None]))


@st.composite
def data_payload(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(list(AssetKind)))
    sample = _obj(ts_ms=_int_likes(), seq=_int_likes(), metrics=_metrics(kind),
                  quality=_often(st.sampled_from(["good", "stale", "historical"]), st.sampled_from(["GOOD", 1, None])))
    return draw(_obj(schema_version=_schema_version(), asset_kind=_often(st.just(kind.value), _kind_values()),
                     samples=st.lists(sample, max_size=3)))


def state_payload() -> st.SearchStrategy[dict[str, Any]]:
    states = _often(st.sampled_from(["off", "idle", "running", "down"]), st.sampled_from(["RUNNING", "", None, 1]))
    return _obj(schema_version=_schema_version(), asset_kind=_kind_values(), ts_ms=_int_likes(), seq=_int_likes(),
                state=states, previous=states, previous_duration_s=numbers(),
                reason=st.one_of(st.sampled_from(["none", "breakdown.needle", "stop\n", "Stop", "a b"]), nasty_text),
                quality=st.sampled_from(["good", "stale", "bad"]))


def birth_payload() -> st.SearchStrategy[dict[str, Any]]:
    asset = _obj(asset=names, area=names, asset_kind=_kind_values(),
                 model=st.one_of(st.none(), nasty_text), firmware_version=st.one_of(st.none(), nasty_text),
                 units=st.dictionaries(nasty_text, st.one_of(nasty_text, numbers()), max_size=2))
    return _obj(schema_version=_schema_version(), gateway_id=names, ts_ms=_int_likes(), agent_version=nasty_text,
                boot_id=nasty_text, assets=st.lists(asset, max_size=3))


def status_payload() -> st.SearchStrategy[dict[str, Any]]:
    return _obj(schema_version=_schema_version(), gateway_id=names,
                state=st.sampled_from(["online", "offline", "Online", 1]),
                ts_ms=st.one_of(st.none(), _int_likes()), boot_id=st.one_of(st.none(), nasty_text),
                reason=st.one_of(st.none(), nasty_text))


PAYLOADS: dict[MessageKind, st.SearchStrategy[dict[str, Any]]] = {
    MessageKind.DATA: data_payload(),
    MessageKind.STATE: state_payload(),
    MessageKind.BIRTH: birth_payload(),
    MessageKind.STATUS: status_payload(),
}


def encode(obj: Any) -> bytes:
    """JSON bytes as a sloppy producer writes them (NaN and Infinity literals included)."""
    return json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass")


def kind_and_payload() -> st.SearchStrategy[tuple[MessageKind, bytes]]:
    """A message kind ingest stores and a payload for it (raw bytes, sometimes not even JSON)."""
    structured = st.sampled_from(INGEST_KINDS).flatmap(lambda k: PAYLOADS[k].map(lambda o: (k, encode(o))))
    raw = st.tuples(st.sampled_from(INGEST_KINDS),
                    st.one_of(st.binary(max_size=200), nasty_text.map(lambda t: t.encode("utf-8", "surrogatepass"))))
    return st.one_of(structured, structured, structured, raw)


def _sample(**kw: Any) -> dict[str, Any]:
    return {"ts_ms": TS, "seq": 1, "metrics": {"current_a": 1.5}} | kw


def _sewing(*samples: dict[str, Any], **kw: Any) -> bytes:
    return encode({"asset_kind": "sewing_machine", "samples": list(samples) or [_sample()]} | kw)


def _state(**kw: Any) -> bytes:
    return encode({"ts_ms": TS, "seq": 3, "state": "running"} | kw)


def _birth(**kw: Any) -> bytes:
    return encode({"gateway_id": "gw1", "ts_ms": TS, "agent_version": "1", "boot_id": "b",
                   "assets": [{"asset": "m1", "area": "l1", "asset_kind": "sewing_machine"}]} | kw)


def _asset(**kw: Any) -> bytes:
    return _birth(assets=[{"asset": "m1", "area": "l1", "asset_kind": "sewing_machine"} | kw])


def _status(**kw: Any) -> bytes:
    return encode({"gateway_id": "gw1", "state": "online", "ts_ms": TS} | kw)


D, S, B, T = MessageKind.DATA, MessageKind.STATE, MessageKind.BIRTH, MessageKind.STATUS
# (kind, payload, accepted?) — what the JSON Schema says, and so what ingest must do.
EDGE_CASES: list[tuple[MessageKind, bytes, bool]] = [
    (D, _sewing(), True),
    (D, _sewing(_sample(seq="4")), False),  # numeric string for seq
    (D, _sewing(_sample(ts_ms=str(TS))), False),
    (D, _sewing(_sample(seq=4.0)), True),  # a whole float is a JSON Schema integer
    (D, _sewing(_sample(seq=4.5)), False),
    (D, _sewing(_sample(seq=True)), False),
    (D, _sewing(_sample(metrics={"current_a": "1.0"})), False),
    (D, _sewing(_sample(metrics={"current_a": True})), False),
    (D, _sewing(_sample(metrics={"current_a": 1})), True),  # an integer is a JSON Schema number
    (D, _sewing(_sample(metrics={"stitches_total": 1.0})), True),
    (D, _sewing(_sample(metrics={"stitches_total": "1"})), False),
    (D, _sewing(_sample(metrics={"stitches_total": 2**63 - 1})), True),
    (D, _sewing(_sample(metrics={"stitches_total": 2**63})), False),  # not storable as int64
    (D, b'{"asset_kind":"meter","samples":[{"ts_ms":1764000000000,"seq":1,"metrics":{"power_w":1e400}}]}', False),
    (D, b'{"asset_kind":"meter","samples":[{"ts_ms":1764000000000,"seq":1,"metrics":{"power_w":NaN}}]}', False),
    (D, encode({"samples": [_sample()]}), False),  # no asset_kind: nothing says which metrics apply
    # a period's figures only in an aggregate (with its period_s as a number); null counts as present
    (D, _sewing(_sample(metrics={"pieces": 3})), False),
    (D, _sewing(_sample(metrics={"pieces": None})), False),
    (D, _sewing(_sample(metrics={"stop_s": 1.0, "period_s": None})), False),
    (D, _sewing(_sample(metrics={"stop_threshold_s": 300, "period_s": 60})), True),
    (D, _sewing(_sample(metrics={"pieces": None, "run_s": 60, "period_s": 60.0})), True),
    (D, _sewing(_sample(metrics={"pieces_total": 3, "stitches": 40, "period_s": None})), True),
    (D, _sewing(schema_version=True), False),
    (D, _sewing(schema_version=1.0), True),
    (D, _sewing(schema_version="1"), False),
    (D, _sewing(_sample(quality="GOOD")), False),
    (D, b'{"asset_kind":"sewing_machine","samples":[{"seq":"x","seq":1,"ts_ms":1764000000000,"metrics":{}}]}', True),
    (S, _state(), True),
    (S, _state(reason="stop\n"), False),  # Python's re: '$' matches before a final newline
    (S, _state(reason="breakdown.needle"), True),
    (S, _state(previous_duration_s="12"), False),
    (S, _state(previous_duration_s=12), True),
    (S, _state(seq="3"), False),
    (B, _birth(), True),
    (B, _asset(asset="back\\ slash"), False),
    (B, _asset(asset='q\\"x'), False),
    (B, _asset(asset="end\\"), False),
    (B, _asset(asset='q"x'), True),
    (B, _asset(asset="a,b=c d"), True),
    (B, _asset(asset="织造一厂"), True),
    (B, _asset(asset="_line"), False),
    (B, _asset(area="$SYS"), False),
    (B, _asset(area="a\u200bb"), False),
    (B, _asset(area="trail\u3000"), False),
    (B, _asset(area="a\nb"), False),
    (B, _birth(gateway_id="gw/1"), False),
    (B, _asset(model='say "hi" \\o/\n'), True),
    (T, _status(), True),
    (T, _status(ts_ms=None), True),
    (T, _status(ts_ms=str(TS)), False),
    (T, _status(state="Online"), False),
    (T, _status(gateway_id="end\\"), False),
]
