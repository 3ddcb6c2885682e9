"""The edge's pydantic-free codec (edge_agent.wire, edge_agent.metric_table) against the contract's
pydantic models: the same metric table, payloads that validate, and the same verdict on payloads
a node may send (except numbers sent as strings or bools, which the edge refuses on purpose)."""

from __future__ import annotations

import json
import typing
from typing import Any

import annotated_types
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from seamline.contracts.assets import METRICS_MODELS, AssetKind
from seamline.contracts.messages import (
    BirthMessage,
    GatewayState,
    GatewayStatusMessage,
    MachineState,
    Quality,
    StateChangeMessage,
    parse_data,
)
from seamline.edge_agent import wire
from seamline.edge_agent.metric_table import METRICS

TS = 1_767_225_600_000


def _constraints(field: Any) -> list[Any]:
    """The field's own metadata, and that of an ``Annotated`` type inside ``X | None``."""
    found = list(field.metadata)
    for arg in typing.get_args(field.annotation):
        if typing.get_origin(arg) is typing.Annotated:
            for m in arg.__metadata__:
                if hasattr(m, "metadata") and not callable(m):  # a Field(...): its constraints
                    found += list(m.metadata)
                elif not callable(getattr(m, "func", None)):  # not the WholeNumbers validator
                    found.append(m)
    return found


def _bounds(field: Any) -> tuple[float | None, float | None]:
    ge = le = None
    for m in _constraints(field):
        if isinstance(m, annotated_types.Ge):
            ge = m.ge
        elif isinstance(m, annotated_types.Le):
            le = m.le
        else:
            raise AssertionError(f"constraint {m!r} is not in the edge's metric table")
    return ge, le


def test_metric_table_is_the_contracts() -> None:
    assert set(METRICS) == set(METRICS_MODELS)
    for kind, model in METRICS_MODELS.items():
        assert list(METRICS[kind]) == list(model.model_fields), kind
        for name, field in model.model_fields.items():
            spec = METRICS[kind][name]
            assert (spec.ge, spec.le) == _bounds(field), (kind, name)
            assert spec.type is (int if "int" in str(field.annotation) else float), (kind, name)
            assert spec.unit == field.json_schema_extra["unit"], (kind, name)  # type: ignore[index]


NUMBER = st.one_of(st.integers(-(10**6), 10**15), st.floats(-1e7, 1e7, allow_nan=False), st.none())


@st.composite
def metrics_of(draw: st.DrawFn, kind: AssetKind) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(list(METRICS[kind])), unique=True, max_size=6))
    return {n: draw(NUMBER) for n in names}


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(list(AssetKind)), data=st.data())
def test_data_verdicts_and_values_agree_with_pydantic(kind: AssetKind, data: st.DataObject) -> None:
    samples = [{"ts_ms": data.draw(st.integers(TS - 10**13, TS + 10**13)), "seq": data.draw(st.integers(-1, 10**6)),
                "quality": data.draw(st.sampled_from([q.value for q in Quality])),
                "metrics": data.draw(metrics_of(kind))} for _ in range(data.draw(st.integers(0, 3)))]
    payload = json.dumps({"schema_version": 1, "asset_kind": kind.value, "samples": samples}).encode()
    try:
        want = parse_data(payload)
    except ValidationError:
        with pytest.raises(wire.WireError):
            wire.decode_data(payload)
        return
    got = wire.decode_data(payload)
    assert got.asset_kind == want.asset_kind
    for g, w in zip(got.samples, want.samples, strict=True):
        assert (g.ts_ms, g.seq, g.quality) == (w.ts_ms, w.seq, w.quality)
        assert dict(g.metrics) == w.metrics.model_dump(exclude_none=True)
    assert parse_data(wire.encode_data(got)) == want  # and what the edge encodes is the same message


@pytest.mark.parametrize("bad", [
    b"[]", b"{", b'{"asset_kind": "sewing_machine", "samples": []}',
    b'{"asset_kind": "toaster", "samples": [{"ts_ms": 1767225600000, "seq": 0, "metrics": {}}]}',
    b'{"asset_kind": "sewing_machine", "samples": [{"ts_ms": 1767225600000, "seq": 0, "metrics": {"volts": 1}}]}',
    b'{"asset_kind": "sewing_machine", "samples": [{"ts_ms": 1767225600000, "seq": 0, "metrics": {"current_a": NaN}}]}',
    b'{"asset_kind": "sewing_machine", "samples": [{"ts_ms": 1767225600000, "seq": 0, "metrics": {}, "x": 1}]}',
    b'{"asset_kind": "sewing_machine", "schema_version": 2, "samples": [{"ts_ms": 1767225600000, "seq": 0, '
    b'"metrics": {}}]}',
    b'{"asset_kind": "sewing_machine", "samples": [{"ts_ms": 1767225600000, "metrics": {}}]}',
    b'{"asset_kind": "sewing_machine", "samples": [{"ts_ms": 1767225600000, "seq": 0, "metrics": {"pieces": 1.5}}]}',
    b'{"asset_kind": "sewing_machine", "samples": [{"ts_ms": 1767225600000, "seq": 0, "metrics": {"current_a": 201}}]}',
])
def test_refused_by_both(bad: bytes) -> None:
    with pytest.raises(ValidationError):
        parse_data(bad)
    with pytest.raises(wire.WireError):
        wire.decode_data(bad)


@pytest.mark.parametrize("value", ['"1.5"', "true"])
def test_numbers_as_strings_or_bools_are_refused_at_the_edge(value: str) -> None:
    raw = ('{"asset_kind": "sewing_machine", "samples": [{"ts_ms": 1767225600000, "seq": 0, '
           f'"metrics": {{"current_a": {value}}}}}]}}').encode()
    with pytest.raises(ValidationError):
        parse_data(raw)  # the contract in strict mode refuses them, as the JSON Schema does ...
    with pytest.raises(wire.WireError, match="current_a: expected a number"):
        wire.decode_data(raw)  # ... and so does the edge


STATE = st.fixed_dictionaries({
    "ts_ms": st.integers(TS - 10**13, TS + 10**13), "seq": st.integers(-1, 10**6),
    "state": st.sampled_from(["off", "idle", "running", "down", "broken"]),
}, optional={
    "previous": st.sampled_from(["off", "idle", "running", "down", "x", None]),
    "previous_duration_s": st.one_of(st.floats(-5, 1e6, allow_nan=False), st.none()),
    "reason": st.sampled_from(["none", "breakdown.needle", "Bad Reason", "", "x" * 65, "repaired.inferred"]),
    "quality": st.sampled_from(["good", "stale", "bad"]),
    "asset_kind": st.sampled_from(["sewing_machine", "meter", "toaster"]),
    "extra": st.just(1),
})


@settings(max_examples=300, deadline=None)
@given(obj=STATE)
def test_state_verdicts_agree_with_pydantic(obj: dict[str, Any]) -> None:
    raw = json.dumps(obj).encode()
    try:
        want = StateChangeMessage.model_validate_json(raw)
    except ValidationError:
        with pytest.raises(wire.WireError):
            wire.decode_state(raw)
        return
    got = wire.decode_state(raw)
    assert StateChangeMessage.model_validate_json(wire.encode_state(got)) == want


def test_birth_and_status_validate_against_the_contract() -> None:
    assets = [wire.AssetEntry("m001", "line01", AssetKind.SEWING_MACHINE, units={"current_a": "A"}),
              wire.AssetEntry("pv1", "energy", AssetKind.PV_INVERTER, model="sunspec tcp unit 1")]
    birth = BirthMessage.model_validate_json(wire.encode_birth(gateway_id="gw1", ts_ms=TS, agent_version="0.1.0",
                                                               boot_id="b1", assets=assets))
    assert [(a.asset, a.area, a.asset_kind, a.model, a.units) for a in birth.assets] == [
        ("m001", "line01", AssetKind.SEWING_MACHINE, None, {"current_a": "A"}),
        ("pv1", "energy", AssetKind.PV_INVERTER, "sunspec tcp unit 1", {})]
    will = GatewayStatusMessage.model_validate_json(wire.encode_status(gateway_id="gw1", state=GatewayState.OFFLINE))
    assert (will.state, will.ts_ms, will.boot_id) == (GatewayState.OFFLINE, None, None)
    online = GatewayStatusMessage.model_validate_json(
        wire.encode_status(gateway_id="gw1", state=GatewayState.ONLINE, ts_ms=TS, boot_id="b1", reason="boot"))
    assert (online.ts_ms, online.boot_id, online.reason) == (TS, "b1", "boot")
    change = wire.StatePayload(ts_ms=TS, seq=3, state=MachineState.DOWN, previous=MachineState.RUNNING,
                               previous_duration_s=12, reason="breakdown.needle")
    assert StateChangeMessage.model_validate_json(wire.encode_state(change)).previous_duration_s == 12.0


def test_check_metrics_drops_what_the_contract_refuses() -> None:
    good, bad = wire.check_metrics(AssetKind.BATTERY, {"soc_pct": 101.0, "power_w": -5, "operating_state": 2.0,
                                                       "capacity_wh": None, "volts": 3, "soh_pct": float("inf")})
    assert good == {"power_w": -5.0, "operating_state": 2} and bad == ["soc_pct", "soh_pct", "volts"]
