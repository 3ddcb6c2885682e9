"""Messages -> exact line-protocol strings, per the storage schema."""

from __future__ import annotations

import orjson
import pytest

from seamline.contracts.messages import (
    AssetInfo,
    BirthMessage,
    GatewayStatusMessage,
    StateChangeMessage,
    parse_data,
)
from seamline.contracts.topic import MessageKind, Topic
from seamline.ingest.gaps import GapTracker
from seamline.ingest.points import data_lines, message_lines
from seamline.storage.line_protocol import encode_line
from seamline.storage.sewing_sums import derived_fields

TS = 1_764_000_000_000
TAGS = "area=line1,asset=m1,enterprise=acme,site=s1"


def topic(kind: str = "data", area: str = "line1", asset: str = "m1") -> Topic:
    return Topic(enterprise="acme", site="s1", area=area, asset=asset, kind=MessageKind(kind))


def data(kind: str, *samples: dict[str, object]) -> object:
    return parse_data(orjson.dumps({"asset_kind": kind, "samples": list(samples)}))


def test_sewing_machine_sample_types_follow_the_contract_not_the_json() -> None:
    # current_a is float in the contract (JSON gave 2), stitches is int (JSON gave 7.0)
    msg = data("sewing_machine", {"ts_ms": TS, "seq": 5, "metrics": {"current_a": 2, "stitches": 7.0}})
    lines = message_lines(topic(), msg, received_ms=0, gaps=None)  # type: ignore[arg-type]
    assert lines == [f'sewing_machine,{TAGS} current_a=2.0,stitches=7i,seq=5i,quality="good" {TS}']


def test_each_sample_is_one_point_and_quality_is_a_field() -> None:
    msg = data(
        "pv_inverter",
        {"ts_ms": TS, "seq": 1, "metrics": {"ac_power_w": 1500.25, "operating_state": 4}},
        {"ts_ms": TS + 1000, "seq": 2, "quality": "stale", "metrics": {"ac_power_w": -0.5}},
    )
    lines = message_lines(topic(area="roof", asset="inv1"), msg, received_ms=0, gaps=None)  # type: ignore[arg-type]
    tags = "area=roof,asset=inv1,enterprise=acme,site=s1"
    assert lines == [
        f'pv_inverter,{tags} ac_power_w=1500.25,operating_state=4i,seq=1i,quality="good" {TS}',
        f'pv_inverter,{tags} ac_power_w=-0.5,seq=2i,quality="stale" {TS + 1000}',
    ]


@pytest.mark.parametrize(
    ("kind", "metrics"),
    [
        ("battery", {"soc_pct": 55.5, "operating_state": 3, "power_w": -100}),
        ("meter", {"power_w": 12.0, "import_energy_wh": 1e9}),
        ("met_station", {"poa_irradiance_w_m2": 800, "ambient_temp_c": -3.25}),
        ("wind_turbine", {"wind_speed_m_s": 7.1, "status": 2, "energy_wh": 123456789}),
        ("sewing_machine", {"current_a": 0.1, "pieces_total": 12, "run_s": 59.5, "period_s": 60}),
    ],
)
def test_fast_path_is_byte_equal_to_encode_line(kind: str, metrics: dict[str, object]) -> None:
    msg = data(kind, {"ts_ms": TS, "seq": 9, "metrics": metrics})
    t = topic(area="a b,c", asset="x=y")
    [line] = data_lines(t, msg.asset_kind, msg.samples)  # type: ignore[attr-defined]
    from seamline.contracts.assets import metric_specs

    specs = metric_specs(msg.asset_kind)  # type: ignore[attr-defined]
    fields: dict[str, float | int | bool | str] = {
        k: (int(v) if specs[k].type == "int" else float(v))  # type: ignore[call-overload]
        for k, v in sorted(metrics.items())
    }
    fields.update(derived_fields(metrics, good=True) if kind == "sewing_machine" else {})
    fields["seq"] = 9
    fields["quality"] = "good"
    tags = {"enterprise": "acme", "site": "s1", "area": "a b,c", "asset": "x=y"}
    assert line == encode_line(kind, tags, fields, TS)
    assert "area=a\\ b\\,c" in line and "asset=x\\=y" in line


def test_gateway_self_telemetry() -> None:
    msg = data("gateway", {"ts_ms": TS, "seq": 0, "metrics": {"spool_messages": 3, "spool_oldest_age_s": 1}})
    [line] = message_lines(topic(area="_gateway", asset="gw1"), msg, received_ms=0, gaps=None)  # type: ignore[arg-type]
    assert line == (
        'gateway,area=_gateway,asset=gw1,enterprise=acme,site=s1 '
        f'spool_messages=3i,spool_oldest_age_s=1.0,seq=0i,quality="good" {TS}'
    )


def test_state_change_into_down_is_copied_to_machine_down() -> None:
    msg = StateChangeMessage(
        ts_ms=TS, seq=12, state="down", previous="running", previous_duration_s=61, reason="breakdown.needle"
    )
    assert message_lines(topic("state"), msg, received_ms=0, gaps=None) == [
        f'machine_state,{TAGS} state="down",reason="breakdown.needle",previous="running",'
        f'quality="good",previous_duration_s=61.0,seq=12i {TS}',
        f'machine_down,{TAGS} state="down",reason="breakdown.needle",previous="running",quality="good" {TS}',
    ]


def test_state_change_out_of_down_is_copied_and_one_between_other_states_is_not() -> None:
    repaired = StateChangeMessage(ts_ms=TS, seq=3, state="idle", previous="down", reason="repaired")
    assert message_lines(topic("state"), repaired, received_ms=0, gaps=None)[1] == (
        f'machine_down,{TAGS} state="idle",reason="repaired",previous="down",quality="good" {TS}')
    started = StateChangeMessage(ts_ms=TS, seq=4, state="running", previous="idle", quality="stale")
    assert message_lines(topic("state"), started, received_ms=0, gaps=None) == [
        f'machine_state,{TAGS} state="running",reason="none",previous="idle",quality="stale",seq=4i {TS}']


def test_state_change_without_previous_may_end_a_down_so_is_copied() -> None:
    msg = StateChangeMessage(ts_ms=TS, seq=0, state="idle")
    assert message_lines(topic("state"), msg, received_ms=0, gaps=None) == [
        f'machine_state,{TAGS} state="idle",reason="none",quality="good",seq=0i {TS}',
        f'machine_down,{TAGS} state="idle",reason="none",quality="good" {TS}',
    ]


def test_status_last_will_without_ts_uses_receive_time() -> None:
    t = topic("status", area="_gateway", asset="gw1")
    will = GatewayStatusMessage(gateway_id="gw1", state="offline")
    online = GatewayStatusMessage(gateway_id="gw1", state="online", ts_ms=TS, boot_id="b1", reason="connect")
    assert message_lines(t, will, received_ms=TS + 5, gaps=None) == [
        f'gateway_status,enterprise=acme,gateway=gw1,site=s1 state="offline" {TS + 5}'
    ]
    assert message_lines(t, online, received_ms=TS + 5, gaps=None) == [
        f'gateway_status,enterprise=acme,gateway=gw1,site=s1 state="online",boot_id="b1",reason="connect" {TS}'
    ]


def test_birth_gives_birth_point_and_asset_info_per_asset() -> None:
    msg = BirthMessage(
        gateway_id="gw1",
        ts_ms=TS,
        agent_version="0.1.0",
        boot_id="boot-7",
        assets=[
            AssetInfo(
                asset="m1", area="line1", asset_kind="sewing_machine", model="JUKI DDL-9000", firmware_version="2"
            ),
            AssetInfo(asset="inv1", area="roof", asset_kind="pv_inverter"),
        ],
    )
    assert message_lines(topic("birth", area="_gateway", asset="gw1"), msg, received_ms=0, gaps=None) == [
        f'gateway_birth,enterprise=acme,gateway=gw1,site=s1 agent_version="0.1.0",boot_id="boot-7",assets=2i {TS}',
        'asset_info,area=line1,asset=m1,asset_kind=sewing_machine,enterprise=acme,site=s1 '
        f'gateway="gw1",model="JUKI DDL-9000",firmware_version="2" {TS}',
        f'asset_info,area=roof,asset=inv1,asset_kind=pv_inverter,enterprise=acme,site=s1 gateway="gw1" {TS}',
    ]


def test_gap_points_follow_the_sample_after_the_gap() -> None:
    gaps = GapTracker(max_assets=10)
    first = data("meter", {"ts_ms": TS, "seq": 1, "metrics": {"power_w": 1.0}})
    second = data(
        "meter",
        {"ts_ms": TS + 1000, "seq": 2, "metrics": {"power_w": 2.0}},
        {"ts_ms": TS + 5000, "seq": 6, "metrics": {"power_w": 3.0}},
    )
    assert len(message_lines(topic(), first, received_ms=0, gaps=gaps)) == 1  # type: ignore[arg-type]
    lines = message_lines(topic(), second, received_ms=0, gaps=gaps)  # type: ignore[arg-type]
    assert lines[2] == f"seq_gap,{TAGS} from_seq=2i,to_seq=6i,missing=3i {TS + 5000}"
    assert len(lines) == 3


def test_state_events_share_the_asset_seq_counter_with_data() -> None:
    gaps = GapTracker(max_assets=10)
    message_lines(topic(), data("sewing_machine", {"ts_ms": TS, "seq": 1, "metrics": {}}), received_ms=0, gaps=gaps)  # type: ignore[arg-type]
    state = StateChangeMessage(ts_ms=TS + 1, seq=2, state="idle", previous="running")
    lines = message_lines(topic("state"), state, received_ms=0, gaps=gaps)
    assert len(lines) == 1  # 1 -> 2 across data and state: no gap


def test_int_beyond_int64_is_refused() -> None:
    # the contract refuses it (its schema says maximum 2**63 - 1) ...
    with pytest.raises(ValueError, match="less than or equal to 9223372036854775807"):
        data("sewing_machine", {"ts_ms": TS, "seq": 1, "metrics": {"stitches_total": 2**63}})
    # ... and the encoder still refuses a model built past validation
    from seamline.contracts.assets import SewingMachineMetrics
    from seamline.contracts.messages import Sample, SewingMachineData

    metrics = SewingMachineMetrics.model_construct(stitches_total=2**63)
    msg = SewingMachineData.model_construct(samples=[Sample.model_construct(ts_ms=TS, seq=1, metrics=metrics)])
    with pytest.raises(ValueError, match="int64"):
        message_lines(topic(), msg, received_ms=0, gaps=None)



def test_newest_ts_ms_is_the_messages_newest_device_time() -> None:
    from seamline.contracts.examples import examples
    from seamline.contracts.messages import BirthMessage, GatewayStatusMessage, StateChangeMessage
    from seamline.ingest.points import newest_ts_ms

    kinds = set()
    for _topic, msg in examples():
        if hasattr(msg, "samples"):
            assert newest_ts_ms(msg) == max(s.ts_ms for s in msg.samples)  # type: ignore[arg-type]
        elif isinstance(msg, (StateChangeMessage, GatewayStatusMessage, BirthMessage)):
            assert newest_ts_ms(msg) == msg.ts_ms
        else:
            continue
        kinds.add("data" if hasattr(msg, "samples") else type(msg).__name__)
        if isinstance(msg, GatewayStatusMessage):  # its Last Will form carries no time of its own
            assert newest_ts_ms(msg.model_copy(update={"ts_ms": None})) is None
    assert kinds == {"data", "StateChangeMessage", "GatewayStatusMessage", "BirthMessage"}
