"""Validated messages -> InfluxDB line protocol, in the names of :mod:`seamline.storage.schema`.

Tags come from the topic, never the payload. Float metrics are always written as floats and int
metrics as integers (``123i``), whatever the JSON carried, so a field's type never changes between
points. ``quality`` is a field, not a tag, so a replay with another quality overwrites the point.
Timestamps are UTC epoch milliseconds (precision ms).

Fast path: attributes are read straight off the frozen pydantic models, no re-serialisation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache, lru_cache
from typing import Any

from seamline.contracts.assets import AssetKind, metric_specs
from seamline.contracts.messages import BirthMessage, GatewayStatusMessage, Quality, Sample, StateChangeMessage
from seamline.contracts.topic import Topic
from seamline.ingest.gaps import AssetKey, Gap, GapTracker
from seamline.ingest.validate import Message
from seamline.storage import sewing_sums
from seamline.storage.down_events import down_edge
from seamline.storage.line_protocol import (
    encode_line,
    escape_field_key,
    escape_measurement,
    escape_tag,
    format_field_value,
)
from seamline.storage.schema import (
    ASSET_INFO,
    GATEWAY_BIRTH,
    GATEWAY_STATUS,
    MACHINE_DOWN,
    MACHINE_STATE,
    SEQ_GAP,
    Field,
    Tag,
    telemetry,
)

FieldValue = float | int | bool | str

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


@cache
def _int_metrics(kind: AssetKind) -> frozenset[str]:
    return frozenset(name for name, spec in metric_specs(kind).items() if spec.type == "int")


def asset_tags(topic: Topic) -> dict[str, str]:
    return {Tag.ENTERPRISE: topic.enterprise, Tag.SITE: topic.site, Tag.AREA: topic.area, Tag.ASSET: topic.asset}


def message_lines(topic: Topic, message: Message, *, received_ms: int, gaps: GapTracker | None) -> list[str]:
    """All lines one accepted message produces, including ``seq_gap`` points when ``gaps`` is given.

    ``received_ms`` (UTC ms) stamps a Last Will, which carries no time of its own."""
    if isinstance(message, StateChangeMessage):
        lines = state_lines(topic, message)
        _track(lines, topic, gaps, ((message.seq, message.ts_ms),))
        return lines
    if isinstance(message, GatewayStatusMessage):
        return [status_line(topic, message, received_ms=received_ms)]
    if isinstance(message, BirthMessage):
        return birth_lines(topic, message)
    lines = data_lines(topic, message.asset_kind, message.samples)
    _track(lines, topic, gaps, ((s.seq, s.ts_ms) for s in message.samples))
    return lines


def newest_ts_ms(message: Message) -> int | None:
    """The newest device timestamp (UTC ms) a message carries; None for a Last Will (no time of its own)."""
    if isinstance(message, (StateChangeMessage, GatewayStatusMessage, BirthMessage)):
        return message.ts_ms
    return max((s.ts_ms for s in message.samples), default=None)


def data_lines(topic: Topic, kind: AssetKind, samples: Sequence[Sample[Any]]) -> list[str]:
    """One point per sample: measurement = asset kind, fields = metrics (+ a sewing aggregate's
    derived sums fields, :mod:`seamline.storage.sewing_sums`) + seq + quality.

    Same bytes as ``encode_line`` (a unit test holds them equal) but the measurement-and-tags
    prefix is escaped once per message and field keys once per kind: about 3x faster for
    multi-sample messages. Float values are finite (the contract forbids NaN/inf)."""
    ints = _int_metrics(kind)
    keys = _field_keys(kind)
    derives = kind is AssetKind.SEWING_MACHINE
    prefix = _series_prefix(_TELEMETRY[kind], topic.enterprise, topic.site, topic.area, topic.asset)
    out: list[str] = []
    for sample in samples:
        parts: list[str] = []
        metrics = sample.metrics
        values = metrics.__dict__
        # only the keys the JSON carried (a few of a kind's dozen metrics), sorted so equal
        # samples give byte-equal lines in every process (set order depends on the hash seed)
        for name in sorted(metrics.__pydantic_fields_set__):
            value = values[name]
            if value is None:
                continue
            if name in ints:
                if not _INT64_MIN <= value <= _INT64_MAX:
                    raise ValueError(f"{name}={value} is outside int64")
                parts.append(f"{keys[name]}={int(value)}i")
            else:
                parts.append(f"{keys[name]}={float(value)!r}")
        if derives:
            for name, value in sewing_sums.derived_fields(values, good=sample.quality is Quality.GOOD).items():
                parts.append(f"{name}={value}i")  # every derived field is an int
        parts.append(f"{_SEQ}={int(sample.seq)}i")
        parts.append(_QUALITY_FIELDS[sample.quality])
        out.append(f"{prefix} {','.join(parts)} {int(sample.ts_ms)}")
    return out


_TELEMETRY = {kind: telemetry(kind).name for kind in AssetKind}
_SEQ = escape_field_key(Field.SEQ)
_QUALITY_FIELDS = {q: f"{escape_field_key(Field.QUALITY)}={format_field_value(q.value)}" for q in Quality}


@cache
def _field_keys(kind: AssetKind) -> dict[str, str]:
    return {name: escape_field_key(name) for name in metric_specs(kind)}


# One entry per (kind, asset): bounded by the deployment's asset count.
@lru_cache(maxsize=100_000)
def _series_prefix(measurement: str, enterprise: str, site: str, area: str, asset: str) -> str:
    """``measurement,area=..,asset=..,enterprise=..,site=..`` (tag keys sorted), escaped."""
    tags = sorted(((Tag.AREA, area), (Tag.ASSET, asset), (Tag.ENTERPRISE, enterprise), (Tag.SITE, site)))
    return escape_measurement(measurement) + "".join(f",{escape_tag(k)}={escape_tag(v)}" for k, v in tags)


def state_lines(topic: Topic, message: StateChangeMessage) -> list[str]:
    """The ``machine_state`` point and, for a change that may start or end a down, its copy in
    ``machine_down`` (:mod:`seamline.storage.down_events`; without duration and seq)."""
    tags = asset_tags(topic)
    previous = message.previous.value if message.previous is not None else None
    copied: dict[str, FieldValue] = {Field.STATE: message.state.value, Field.REASON: message.reason}
    if previous is not None:
        copied[Field.PREVIOUS] = previous
    copied[Field.QUALITY] = message.quality.value
    fields = dict(copied)
    if message.previous_duration_s is not None:
        fields[Field.PREVIOUS_DURATION_S] = float(message.previous_duration_s)
    fields[Field.SEQ] = int(message.seq)
    lines = [encode_line(MACHINE_STATE.name, tags, fields, message.ts_ms)]
    if down_edge(message.state.value, previous):
        lines.append(encode_line(MACHINE_DOWN.name, tags, copied, message.ts_ms))
    return lines


def _gateway_tags(topic: Topic) -> dict[str, str]:
    return {Tag.ENTERPRISE: topic.enterprise, Tag.SITE: topic.site, Tag.GATEWAY: topic.asset}


def status_line(topic: Topic, message: GatewayStatusMessage, *, received_ms: int) -> str:
    fields: dict[str, FieldValue] = {Field.STATE: message.state.value}
    if message.boot_id is not None:
        fields[Field.BOOT_ID] = message.boot_id
    if message.reason is not None:
        fields[Field.REASON] = message.reason
    ts_ms = message.ts_ms if message.ts_ms is not None else received_ms
    return encode_line(GATEWAY_STATUS.name, _gateway_tags(topic), fields, ts_ms)


def birth_lines(topic: Topic, message: BirthMessage) -> list[str]:
    """A ``gateway_birth`` point and one ``asset_info`` point per served asset."""
    birth: dict[str, FieldValue] = {
        Field.AGENT_VERSION: message.agent_version,
        Field.BOOT_ID: message.boot_id,
        Field.ASSETS: len(message.assets),
    }
    lines = [encode_line(GATEWAY_BIRTH.name, _gateway_tags(topic), birth, message.ts_ms)]
    for info in message.assets:
        tags: dict[str, str] = {
            Tag.ENTERPRISE: topic.enterprise,
            Tag.SITE: topic.site,
            Tag.AREA: info.area,
            Tag.ASSET: info.asset,
            Tag.ASSET_KIND: info.asset_kind.value,
        }
        fields: dict[str, FieldValue] = {Field.GATEWAY: message.gateway_id}
        if info.model is not None:
            fields[Field.MODEL] = info.model
        if info.firmware_version is not None:
            fields[Field.FIRMWARE_VERSION] = info.firmware_version
        lines.append(encode_line(ASSET_INFO.name, tags, fields, message.ts_ms))
    return lines


def gap_line(gap: Gap) -> str:
    k = gap.key
    tags: dict[str, str] = {Tag.ENTERPRISE: k.enterprise, Tag.SITE: k.site, Tag.AREA: k.area, Tag.ASSET: k.asset}
    fields: dict[str, FieldValue] = {Field.FROM_SEQ: gap.from_seq, Field.TO_SEQ: gap.to_seq, Field.MISSING: gap.missing}
    return encode_line(SEQ_GAP.name, tags, fields, gap.ts_ms)


def _track(
    lines: list[str], topic: Topic, gaps: GapTracker | None, seqs: Iterable[tuple[int, int]]
) -> None:
    if gaps is None:
        return
    key = AssetKey(topic.enterprise, topic.site, topic.area, topic.asset)
    for seq, ts_ms in seqs:
        gap = gaps.observe(key, seq, ts_ms)
        if gap is not None:
            lines.append(gap_line(gap))
