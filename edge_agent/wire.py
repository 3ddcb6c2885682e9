"""The edge agent's messages as plain data, JSON in and out, without pydantic.

What a gateway reads from its local broker (sewing-machine samples, andon state messages) is
checked here against the contract (:mod:`contracts.messages`: the same keys, types and bounds,
typed as the published JSON Schemas type them), and what it publishes (aggregates, state changes,
Modbus samples, self-telemetry, birth and status) is encoded here. The pydantic models stay the
contract; ``tests/unit/edge_agent/test_edge_wire.py`` checks that every payload encoded here
validates against them and that both accept and refuse the same payloads. Loading pydantic and
the models would cost a gateway ~12 MB of its ~40 MB (bench/gateway_footprint.py).

Stricter than pydantic's lax mode in one respect: a number sent as a JSON string or a bool
(``"1.5"``, ``true``) is refused, as the JSON Schema says, where pydantic would convert it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from seamline.contracts.kinds import (
    MAX_SAMPLES_PER_MESSAGE,
    SCHEMA_VERSION,
    SEQ_MAX,
    TS_MAX_MS,
    TS_MIN_MS,
    AssetKind,
    GatewayState,
    MachineState,
    Quality,
)
from seamline.edge_agent.metric_table import METRICS, MetricValueError

REASON = re.compile(r"^[a-z0-9_.\-]+$")
_DATA_KEYS = frozenset({"schema_version", "asset_kind", "samples"})
_SAMPLE_KEYS = frozenset({"ts_ms", "seq", "quality", "metrics"})
_STATE_KEYS = frozenset({"schema_version", "asset_kind", "ts_ms", "seq", "state", "previous",
                         "previous_duration_s", "reason", "quality"})


E = TypeVar("E", Quality, MachineState, AssetKind)


class WireError(ValueError):
    """A payload the contract refuses; the message names the key and what was expected."""


@dataclass(frozen=True, slots=True)
class DataSample:
    """One sample of a data message; ``metrics`` holds only the metrics that have a value."""

    ts_ms: int
    seq: int
    metrics: Mapping[str, int | float]
    quality: Quality = Quality.GOOD


@dataclass(frozen=True, slots=True)
class DataPayload:
    """A data message (``DataMessage`` of the contract): samples of one asset kind."""

    asset_kind: AssetKind
    samples: tuple[DataSample, ...]


@dataclass(frozen=True, slots=True)
class StatePayload:
    """A machine state change (``StateChangeMessage`` of the contract)."""

    ts_ms: int
    seq: int
    state: MachineState
    previous: MachineState | None = None
    previous_duration_s: float | None = None
    reason: str = "none"
    quality: Quality = Quality.GOOD
    asset_kind: AssetKind = AssetKind.SEWING_MACHINE


@dataclass(frozen=True, slots=True)
class AssetEntry:
    """One asset of a birth message (``AssetInfo`` of the contract)."""

    asset: str
    area: str
    asset_kind: AssetKind
    model: str | None = None
    firmware_version: str | None = None
    units: Mapping[str, str] = field(default_factory=dict)


Payload = DataPayload | StatePayload


# -- encoding --------------------------------------------------------------------------------------


def _dumps(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _metrics_json(kind: AssetKind, metrics: Mapping[str, int | float]) -> dict[str, int | float]:
    fields = METRICS[kind]
    return {name: fields[name].type(v) for name, v in metrics.items() if v is not None}


def encode_data(d: DataPayload) -> bytes:
    samples = [{"ts_ms": s.ts_ms, "seq": s.seq, "quality": s.quality.value,
                "metrics": _metrics_json(d.asset_kind, s.metrics)} for s in d.samples]
    return _dumps({"schema_version": SCHEMA_VERSION, "asset_kind": d.asset_kind.value, "samples": samples})


def encode_state(s: StatePayload) -> bytes:
    obj: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "asset_kind": s.asset_kind.value, "ts_ms": s.ts_ms,
                           "seq": s.seq, "state": s.state.value}
    if s.previous is not None:
        obj["previous"] = s.previous.value
    if s.previous_duration_s is not None:
        obj["previous_duration_s"] = float(s.previous_duration_s)
    obj["reason"] = s.reason
    obj["quality"] = s.quality.value
    return _dumps(obj)


def encode(p: Payload) -> bytes:
    return encode_data(p) if isinstance(p, DataPayload) else encode_state(p)


def encode_birth(*, gateway_id: str, ts_ms: int, agent_version: str, boot_id: str,
                 assets: list[AssetEntry]) -> bytes:
    entries = []
    for a in assets:
        e: dict[str, Any] = {"asset": a.asset, "area": a.area, "asset_kind": a.asset_kind.value}
        if a.model is not None:
            e["model"] = a.model
        if a.firmware_version is not None:
            e["firmware_version"] = a.firmware_version
        e["units"] = dict(a.units)
        entries.append(e)
    return _dumps({"schema_version": SCHEMA_VERSION, "gateway_id": gateway_id, "ts_ms": ts_ms,
                   "agent_version": agent_version, "boot_id": boot_id, "assets": entries})


def encode_status(*, gateway_id: str, state: GatewayState, ts_ms: int | None = None, boot_id: str | None = None,
                  reason: str | None = None) -> bytes:
    obj: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "gateway_id": gateway_id, "state": state.value}
    for key, value in (("ts_ms", ts_ms), ("boot_id", boot_id), ("reason", reason)):
        if value is not None:
            obj[key] = value
    return _dumps(obj)


# -- decoding --------------------------------------------------------------------------------------


def _object(raw: bytes | str) -> dict[str, Any]:
    try:
        obj = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise WireError(f"not valid JSON: {str(exc)[:100]}") from None
    if not isinstance(obj, dict):
        raise WireError(f"expected a JSON object, got {type(obj).__name__}")
    return obj


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _keys(obj: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    extra = sorted(set(obj) - allowed)
    if extra:
        raise WireError(f"{where}{extra[0]}: unknown key")


def _int(obj: Mapping[str, Any], key: str, lo: int, hi: int, where: str) -> int:
    """A required integer in ``[lo, hi)``."""
    if key not in obj:
        raise WireError(f"{where}{key}: required key is missing")
    v = obj[key]
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise WireError(f"{where}{key}: expected an integer")
    if not lo <= v < hi:
        raise WireError(f"{where}{key}: {v} is outside [{lo}, {hi})")
    return v


def _enum(cls: type[E], v: object, what: str) -> E:
    try:
        if not isinstance(v, str):
            raise ValueError(v)
        return cls(v)
    except ValueError:
        raise WireError(f"{what}: {str(v)[:40]!r} is not one of {[m.value for m in cls]}") from None


def _header(obj: Mapping[str, Any]) -> None:
    if "schema_version" in obj and (isinstance(obj["schema_version"], bool) or obj["schema_version"] != SCHEMA_VERSION):
        raise WireError(f"schema_version: expected {SCHEMA_VERSION}")


def decode_data(raw: bytes | str) -> DataPayload:
    """A data message of any asset kind; raises :class:`WireError`."""
    obj = _object(raw)
    _keys(obj, _DATA_KEYS, "")
    _header(obj)
    if "asset_kind" not in obj:
        raise WireError("asset_kind: required key is missing")
    kind = _enum(AssetKind, obj["asset_kind"], "asset_kind")
    samples = obj.get("samples")
    if not isinstance(samples, list) or not 1 <= len(samples) <= MAX_SAMPLES_PER_MESSAGE:
        raise WireError(f"samples: expected a list of 1..{MAX_SAMPLES_PER_MESSAGE} samples")
    return DataPayload(kind, tuple(_sample(kind, s, f"samples[{i}].") for i, s in enumerate(samples)))


def _sample(kind: AssetKind, s: object, where: str) -> DataSample:
    if not isinstance(s, dict):
        raise WireError(f"{where[:-1]}: expected an object")
    _keys(s, _SAMPLE_KEYS, where)
    ts_ms = _int(s, "ts_ms", TS_MIN_MS, TS_MAX_MS, where)
    seq = _int(s, "seq", 0, SEQ_MAX, where)
    quality = _enum(Quality, s["quality"], f"{where}quality") if "quality" in s else Quality.GOOD
    metrics = s.get("metrics")
    if not isinstance(metrics, dict):
        raise WireError(f"{where}metrics: expected an object")
    fields = METRICS[kind]
    out: dict[str, int | float] = {}
    for name, v in metrics.items():
        spec = fields.get(name)
        if spec is None:
            raise WireError(f"{where}metrics.{name}: unknown key")
        if v is None:
            continue
        try:
            out[name] = spec.check(v)
        except MetricValueError as exc:
            raise WireError(f"{where}metrics.{exc}") from None
    return DataSample(ts_ms=ts_ms, seq=seq, metrics=out, quality=quality)


def decode_state(raw: bytes | str) -> StatePayload:
    """A state change message; raises :class:`WireError`."""
    obj = _object(raw)
    _keys(obj, _STATE_KEYS, "")
    _header(obj)
    kind = _enum(AssetKind, obj["asset_kind"], "asset_kind") if "asset_kind" in obj else AssetKind.SEWING_MACHINE
    if "state" not in obj:
        raise WireError("state: required key is missing")
    previous = obj.get("previous")
    duration = obj.get("previous_duration_s")
    if duration is not None:
        if isinstance(duration, bool) or not isinstance(duration, int | float) or not math.isfinite(duration):
            raise WireError("previous_duration_s: expected a finite number")
        if duration < 0:
            raise WireError("previous_duration_s: expected a value >= 0")
    reason = obj.get("reason", "none")
    if not isinstance(reason, str) or not 1 <= len(reason) <= 64 or not REASON.match(reason):
        raise WireError("reason: expected 1..64 characters of a-z 0-9 _ . -")
    return StatePayload(
        ts_ms=_int(obj, "ts_ms", TS_MIN_MS, TS_MAX_MS, ""), seq=_int(obj, "seq", 0, SEQ_MAX, ""),
        state=_enum(MachineState, obj["state"], "state"),
        previous=None if previous is None else _enum(MachineState, previous, "previous"),
        previous_duration_s=None if duration is None else float(duration), reason=reason,
        quality=_enum(Quality, obj["quality"], "quality") if "quality" in obj else Quality.GOOD, asset_kind=kind,
    )


def check_metrics(kind: AssetKind, values: Mapping[str, object]) -> tuple[dict[str, int | float], list[str]]:
    """The values of ``values`` the contract accepts for ``kind`` (None dropped), and the names of
    those it refuses (unknown, not a finite number, out of bounds), sorted."""
    fields = METRICS[kind]
    good: dict[str, int | float] = {}
    bad: list[str] = []
    for name, v in values.items():
        if v is None:
            continue
        spec = fields.get(name)
        try:
            if spec is None:
                raise MetricValueError(name)
            good[name] = spec.check(v)
        except MetricValueError:
            bad.append(name)
    return good, sorted(bad)
