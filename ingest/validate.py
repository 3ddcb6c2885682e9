"""Validate one MQTT message (topic + raw payload) against the wire contract.

The payload is validated in pydantic's strict mode, which accepts exactly what the published JSON
Schema (``seamline contracts schema``) accepts: no ``"4"`` for 4, no ``true`` for 1
(``tests/unit/ingest/test_ingest_schema_agreement.py`` feeds both the same corpus).

Pure: no I/O, the clock is a parameter. Returns :class:`Accepted` or :class:`Rejected` with a
reason code (a short stable string, counted per code and stored in quarantine) and a human message.
Identity always comes from the topic, never from the payload.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

import pydantic

from seamline.contracts.assets import AssetKind
from seamline.contracts.messages import (
    BirthMessage,
    DataMessage,
    GatewayStatusMessage,
    StateChangeMessage,
)
from seamline.contracts.topic import GATEWAY_AREA, LINE_ASSET, MessageKind, Topic, TopicError

Message = DataMessage | StateChangeMessage | BirthMessage | GatewayStatusMessage
# isinstance() with tuples: ``A | B`` in a hot function builds a new union object on every call.
_GATEWAY_MESSAGES = (BirthMessage, GatewayStatusMessage)
_SINGLE_TS_MESSAGES = (StateChangeMessage, BirthMessage, GatewayStatusMessage)


class Reason(enum.StrEnum):
    BAD_TOPIC = "bad_topic"
    UNSUPPORTED_KIND = "unsupported_kind"  # a valid topic whose message kind ingest does not store
    OVERSIZED = "oversized"
    BAD_JSON = "bad_json"
    NON_FINITE = "non_finite"
    SCHEMA_VERSION = "schema_version"
    UNKNOWN_ASSET_KIND = "unknown_asset_kind"
    INVALID_PAYLOAD = "invalid_payload"  # wrong types, missing or extra fields, out-of-range values
    TS_OUT_OF_WINDOW = "ts_out_of_window"
    KIND_MISMATCH = "kind_mismatch"  # payload does not fit the topic (gateway vs asset, id mismatch)
    DB_REJECTED = "db_rejected"  # InfluxDB refused the line (400), e.g. a field type conflict


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeWindow:
    """Accepted sample times: ``now_ms - max_past_ms <= ts_ms <= now_ms + max_future_ms``."""

    max_past_ms: int
    max_future_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Accepted:
    topic: Topic
    message: Message


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejected:
    reason: Reason
    detail: str


# The schema validators themselves: TypeAdapter.validate_json adds a Python call layer per message.
_DATA_VALIDATOR = pydantic.TypeAdapter(DataMessage).validator
_STATE_ADAPTER = pydantic.TypeAdapter(StateChangeMessage)
_BIRTH_ADAPTER = pydantic.TypeAdapter(BirthMessage)
_STATUS_ADAPTER = pydantic.TypeAdapter(GatewayStatusMessage)
_MAX_DETAIL_CHARS = 500


def validate(
    topic: str, payload: bytes, *, now_ms: int, window: TimeWindow, max_payload_bytes: int
) -> Accepted | Rejected:
    """Check ``payload`` received on ``topic`` at ``now_ms`` (UTC epoch ms)."""
    try:
        parsed = _parse_topic(topic)
    except TopicError as exc:
        return Rejected(reason=Reason.BAD_TOPIC, detail=_short(str(exc)))
    if len(payload) > max_payload_bytes:
        return Rejected(reason=Reason.OVERSIZED, detail=f"{len(payload)} bytes > limit {max_payload_bytes}")
    message = check_payload(parsed.kind, payload)
    if isinstance(message, Rejected):
        return message
    mismatch = _topic_mismatch(parsed, message)
    if mismatch:
        return Rejected(reason=Reason.KIND_MISMATCH, detail=mismatch)
    bad_ts = _out_of_window(message, now_ms, window)
    if bad_ts is not None:
        return Rejected(
            reason=Reason.TS_OUT_OF_WINDOW,
            detail=f"ts_ms {bad_ts} is {(bad_ts - now_ms) / 1000:+.0f} s from now, window is "
            f"-{window.max_past_ms / 1000:.0f} s .. +{window.max_future_ms / 1000:.0f} s",
        )
    return Accepted(topic=parsed, message=message)


# Parsed topics by string: a deployment has a bounded set of assets, and parsing (7 levels, each
# checked character by character) costs ~5 µs a message. Cleared wholesale when it reaches the bound.
_TOPIC_CACHE_MAX = 100_000
_topic_cache: dict[str, Topic] = {}


def _parse_topic(topic: str) -> Topic:
    parsed = _topic_cache.get(topic)
    if parsed is None:
        parsed = Topic.parse(topic)  # raises before caching: only valid topics are kept
        if len(_topic_cache) >= _TOPIC_CACHE_MAX:
            _topic_cache.clear()
        _topic_cache[topic] = parsed
    return parsed


def check_payload(kind: MessageKind, payload: bytes) -> Message | Rejected:
    """The payload stage of :func:`validate`: ``payload`` against the JSON Schema of ``kind``
    (strict), without topic or clock. The message, or :class:`Rejected` with a reason."""
    try:
        return _parse(kind, payload)
    except _Unsupported as exc:
        return Rejected(reason=Reason.UNSUPPORTED_KIND, detail=str(exc))
    except pydantic.ValidationError as exc:
        return _classify(exc, payload)


class _Unsupported(Exception):
    pass


def _parse(kind: MessageKind, payload: bytes) -> Message:
    # strict=True: JSON types must be the schema's (a whole float is still an integer, by the
    # contract's own validators); lax mode would turn "1.0", "4" and true into numbers.
    if kind is MessageKind.DATA:
        message: Message = _DATA_VALIDATOR.validate_json(payload, strict=True)  # same as parse_data
        return message
    if kind is MessageKind.STATE:
        return _STATE_ADAPTER.validate_json(payload, strict=True)
    if kind is MessageKind.BIRTH:
        return _BIRTH_ADAPTER.validate_json(payload, strict=True)
    if kind is MessageKind.STATUS:
        return _STATUS_ADAPTER.validate_json(payload, strict=True)
    raise _Unsupported(f"ingest does not store {kind.value!r} messages")


def _classify(exc: pydantic.ValidationError, payload: bytes) -> Rejected:
    errors = exc.errors(include_url=False, include_input=False)
    types = {e["type"] for e in errors}
    first = errors[0] if errors else {"type": "?", "loc": (), "msg": str(exc)}
    loc = ".".join(str(p) for p in first["loc"])
    detail = _short(f"{loc}: {first['msg']}" if loc else str(first["msg"]))
    if "json_invalid" in types:
        if _has_non_finite_literal(payload):
            return Rejected(reason=Reason.NON_FINITE, detail="NaN/Infinity literal in JSON")
        return Rejected(reason=Reason.BAD_JSON, detail=detail)
    if "finite_number" in types:
        return Rejected(reason=Reason.NON_FINITE, detail=detail)
    if any(e["type"] == "literal_error" and e["loc"][-1:] == ("schema_version",) for e in errors):
        return Rejected(reason=Reason.SCHEMA_VERSION, detail=_short(f"unsupported schema_version ({detail})"))
    if types & {"union_tag_invalid", "union_tag_not_found"}:
        return Rejected(reason=Reason.UNKNOWN_ASSET_KIND, detail=detail)
    if any(e["type"] == "enum" and e["loc"][-1:] == ("asset_kind",) for e in errors):
        return Rejected(reason=Reason.UNKNOWN_ASSET_KIND, detail=detail)
    return Rejected(reason=Reason.INVALID_PAYLOAD, detail=_short(f"{len(errors)} error(s); {detail}"))


def _has_non_finite_literal(payload: bytes) -> bool:
    """True if the payload is JSON only under Python's lenient NaN/Infinity extension."""
    try:
        json.loads(payload, parse_constant=lambda _c: 0.0)
    except (ValueError, RecursionError):
        return False
    return True


def _topic_mismatch(topic: Topic, message: Message) -> str | None:
    if isinstance(message, _GATEWAY_MESSAGES):
        if not topic.is_gateway:
            return f"{topic.kind.value} message on non-gateway area {topic.area!r}"
        if message.gateway_id != topic.asset:
            return f"gateway_id {message.gateway_id!r} != topic gateway {topic.asset!r}"
        return None
    kind = message.asset_kind
    if topic.asset == LINE_ASSET:
        return f"{topic.kind.value} message on line topic {str(topic)!r}"
    if topic.is_gateway and kind is not AssetKind.GATEWAY:
        return f"asset_kind {kind.value!r} on gateway area {GATEWAY_AREA!r}"
    if not topic.is_gateway and kind is AssetKind.GATEWAY:
        return f"asset_kind 'gateway' outside area {GATEWAY_AREA!r}"
    if isinstance(message, StateChangeMessage) and kind is AssetKind.GATEWAY:
        return "state message for a gateway"
    return None


def _out_of_window(message: Message, now_ms: int, window: TimeWindow) -> int | None:
    """The first timestamp outside the window, or None. A Last Will without ts_ms is fine."""
    lo = now_ms - window.max_past_ms
    hi = now_ms + window.max_future_ms
    if isinstance(message, _SINGLE_TS_MESSAGES):
        ts = message.ts_ms
        return ts if ts is not None and not lo <= ts <= hi else None
    for sample in message.samples:
        if not lo <= sample.ts_ms <= hi:
            return sample.ts_ms
    return None


def _short(text: str) -> str:
    return text if len(text) <= _MAX_DETAIL_CHARS else text[: _MAX_DETAIL_CHARS - 3] + "..."
