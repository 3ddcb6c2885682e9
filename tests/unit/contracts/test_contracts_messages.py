"""Payload models: what validates, what is rejected and why, schemas and documented examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from seamline.contracts.assets import METRICS_MODELS, AssetKind, metric_specs
from seamline.contracts.examples import examples
from seamline.contracts.messages import (
    DATA_MODELS,
    MAX_SAMPLES_PER_MESSAGE,
    TS_MAX_MS,
    TS_MIN_MS,
    GatewayState,
    GatewayStatusMessage,
    MachineState,
    Quality,
    StateChangeMessage,
    parse_data,
)
from seamline.contracts.schema import SCHEMAS, write_schemas
from seamline.contracts.topic import MessageKind

TS = 1_764_291_600_000


def data(kind: str = "sewing_machine", **sample: object) -> bytes:
    s = {"ts_ms": TS, "seq": 1, "metrics": {"current_a": 1.5}} | sample
    if kind != "sewing_machine" and "metrics" not in sample:
        s["metrics"] = {}
    return json.dumps({"schema_version": 1, "asset_kind": kind, "samples": [s]}).encode()


def test_minimal_sample_defaults() -> None:
    msg = parse_data(data())
    assert msg.asset_kind is AssetKind.SEWING_MACHINE
    (s,) = msg.samples
    assert (s.ts_ms, s.seq, s.quality, s.metrics.current_a, s.metrics.pieces) == (TS, 1, Quality.GOOD, 1.5, None)


def test_schema_version_defaults_to_1_and_others_rejected() -> None:
    raw = json.loads(data())
    del raw["schema_version"]
    assert parse_data(json.dumps(raw)).schema_version == 1
    raw["schema_version"] = 2
    with pytest.raises(ValidationError, match="schema_version"):
        parse_data(json.dumps(raw))


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b"not json", "json_invalid"),
        (b"[]", "union_tag|model_type|dict"),
        (data(kind="toaster"), "union_tag_invalid"),
        (data(metrics={"current_a": "high"}), "current_a"),
        (data(metrics={"current_a": -1}), "current_a"),
        (data(metrics={"volts": 1}), "volts"),  # unknown metric for the kind
        (data(metrics={"pieces": 1.5}), "pieces"),  # int metric
        (data(ts_ms=TS_MIN_MS - 1), "ts_ms"),
        (data(ts_ms=TS_MAX_MS), "ts_ms"),
        (data(ts_ms="yesterday"), "ts_ms"),
        (data(seq=-1), "seq"),
        (data(quality="great"), "quality"),
        (data(extra=1), "extra"),
        (b'{"asset_kind":"sewing_machine","samples":[]}', "samples"),
        (b'{"asset_kind":"sewing_machine"}', "samples"),
        (b'{"asset_kind":"sewing_machine","samples":[{"ts_ms":1764291600000,"seq":1,"metrics":{"current_a":NaN}}]}',
         "current_a"),
        (b'{"asset_kind":"sewing_machine","samples":[{"ts_ms":1764291600000,"seq":1,"metrics":{"current_a":Infinity}}]}',
         "current_a"),
        (data(kind="battery", metrics={"soc_pct": 101}), "soc_pct"),
        (data(kind="battery", metrics={"current_a": 1.0}), "current_a"),  # a sewing metric on a battery
    ],
)
def test_invalid_data_rejected_naming_the_field(raw: bytes, where: str) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_data(raw)
    assert any(p in str(exc.value) or p in json.dumps(exc.value.errors(), default=str) for p in where.split("|"))


def test_too_many_samples_rejected() -> None:
    s = {"ts_ms": TS, "seq": 1, "metrics": {}}
    raw = json.dumps({"asset_kind": "meter", "samples": [s] * (MAX_SAMPLES_PER_MESSAGE + 1)})
    with pytest.raises(ValidationError, match="at most 1000"):
        parse_data(raw)
    ok = json.dumps({"asset_kind": "meter", "samples": [s] * MAX_SAMPLES_PER_MESSAGE})
    assert len(parse_data(ok).samples) == MAX_SAMPLES_PER_MESSAGE


@pytest.mark.parametrize("kind", list(AssetKind))
def test_every_asset_kind_has_a_data_model_and_units(kind: AssetKind) -> None:
    assert kind in DATA_MODELS and kind in METRICS_MODELS
    specs = metric_specs(kind)
    assert specs, kind
    for spec in specs.values():
        assert spec.unit, f"{kind}.{spec.name} has no unit"
        assert spec.type in ("int", "float")
    assert parse_data(data(kind=kind.value)).asset_kind is kind


def test_units_are_the_documented_ones() -> None:
    sew = metric_specs(AssetKind.SEWING_MACHINE)
    got = (sew["current_a"].unit, sew["speed_spm"].unit, sew["run_s"].unit, sew["pieces"].type)
    assert got == ("A", "spm", "s", "int")
    pv = metric_specs(AssetKind.PV_INVERTER)
    assert (pv["ac_power_w"].unit, pv["ac_energy_wh"].unit) == ("W", "Wh")
    wt = metric_specs(AssetKind.WIND_TURBINE)
    assert (wt["wind_speed_m_s"].unit, wt["rotor_speed_rpm"].unit, wt["status"].type) == ("m/s", "rpm", "int")


def test_state_change_reason_grammar() -> None:
    ok = StateChangeMessage(ts_ms=TS, seq=3, state=MachineState.DOWN, reason="breakdown.needle")
    assert ok.previous is None and ok.reason == "breakdown.needle"
    for bad in ["", "Breakdown", "has space", "x" * 65, "semi;colon"]:
        with pytest.raises(ValidationError):
            StateChangeMessage(ts_ms=TS, seq=3, state=MachineState.DOWN, reason=bad)


def test_last_will_status_has_no_timestamp() -> None:
    will = GatewayStatusMessage(gateway_id="gw01", state=GatewayState.OFFLINE, reason="connection lost")
    assert json.loads(will.model_dump_json(exclude_none=True)) == {
        "schema_version": 1, "gateway_id": "gw01", "state": "offline", "reason": "connection lost"
    }


def test_models_are_frozen() -> None:
    msg = parse_data(data())
    with pytest.raises(ValidationError):
        msg.samples[0].seq = 5  # type: ignore[misc]


def test_examples_cover_every_schema_kind_and_round_trip() -> None:
    kinds = {topic.kind for topic, _ in examples()}
    assert kinds == set(SCHEMAS)
    for topic, payload in examples():
        raw = payload.model_dump_json(exclude_none=True)
        again = type(payload).model_validate_json(raw)
        assert again == payload, topic
        if topic.kind is MessageKind.DATA:
            assert parse_data(raw) == payload


def test_write_schemas(tmp_path: Path) -> None:
    paths = write_schemas(tmp_path)
    assert sorted(p.name for p in paths) == sorted(f"{k.value}.schema.json" for k in SCHEMAS)
    data_schema = json.loads((tmp_path / "data.schema.json").read_text())
    text = json.dumps(data_schema)
    assert '"unit": "A"' in text and "sewing_machine" in text and "wind_turbine" in text
    assert data_schema["$id"].endswith("/v1/data.json")


def test_docs_show_every_example() -> None:
    doc = (Path(__file__).parents[3] / "docs" / "contracts.md").read_text()
    for topic, payload in examples():
        assert f"`{topic}`" in doc, f"docs/contracts.md lacks the {topic.kind} topic example"
        assert payload.model_dump_json(indent=2, exclude_none=True) in doc, f"{topic.kind} payload differs"


def test_docs_are_generated_from_the_models() -> None:
    """docs/contracts.md is `seamline contracts docs` output: regenerate it when the contract changes."""
    from seamline.contracts.docs import render

    doc = (Path(__file__).parents[3] / "docs" / "contracts.md").read_text()
    assert doc == render()
