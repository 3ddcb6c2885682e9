"""Poller-side decoding: SunSpec points (independent of the stub's encoder), discovery through a
fake register reader, vendor map, counter tracking, config validation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from seamline.edge_agent.modbus import sunspec
from seamline.edge_agent.modbus.config import ModbusConfigError, load_devices, load_register_map
from seamline.edge_agent.modbus.counters import CounterTracker
from seamline.edge_agent.modbus.profile import CounterSettings, RestartPolicy
from seamline.edge_agent.modbus.register_map import decode_registers
from seamline.firmware_stubs.energy import sunspec_image
from seamline.firmware_stubs.energy.vendor_map import DEFAULT_MAP_PATH, encode_vendor_image, load_vendor_map


class FakeReader:
    """An in-memory device: registers at absolute addresses; unknown addresses raise like an
    illegal-address exception response."""

    def __init__(self, regs: dict[int, int]) -> None:
        self.regs = regs
        self.reads = 0

    async def read(self, address: int, count: int) -> list[int]:
        self.reads += 1
        if any(a not in self.regs for a in range(address, address + count)):
            raise OSError(f"illegal address {address}+{count}")
        return [self.regs[a] for a in range(address, address + count)]


def _device(base: int, blocks: list[list[int]]) -> FakeReader:
    img = sunspec_image.device_image(blocks)
    return FakeReader({base + i: v for i, v in enumerate(img)})


def test_decode_applies_scale_factors_and_sentinels() -> None:
    block = sunspec_image.encode_model(
        103, {"W": -1230.0, "W_SF": 1, "Hz": 50.01, "Hz_SF": -2, "WH": 123_456, "WH_SF": 0, "St": 4, "DCV_SF": None}
    )
    v = sunspec.decode_model(103, block)
    assert v["W"] == -1230
    assert v["Hz"] == pytest.approx(50.01)
    assert v["WH"] == 123_456
    assert v["St"] == 4
    assert v["TmpCab"] is None  # 0x8000
    assert v["DCV"] is None  # its scale factor is not implemented
    assert v["A"] is None  # uint16 0xFFFF


def test_decode_rejects_wrong_model_id() -> None:
    with pytest.raises(sunspec.SunSpecError):
        sunspec.decode_model(103, sunspec_image.encode_model(203, {}))


@pytest.mark.parametrize("base", [40000, 50000, 0])
def test_discovery_finds_marker_at_each_base_and_walks_chain(base: int) -> None:
    dev = _device(base, [sunspec_image.encode_model(1, {"Mn": "A"}), sunspec_image.encode_model(203, {}),
                         sunspec_image.encode_model(120, {})])  # fmt: skip

    async def go() -> tuple[int, tuple[sunspec.ModelBlock, ...]]:
        b = await sunspec.find_base(dev, (40000, 50000, 0))
        return b, await sunspec.walk_models(dev, b)

    found_base, blocks = asyncio.run(go())
    assert found_base == base
    assert [(b.model_id, b.address - base, b.length) for b in blocks] == [(1, 2, 66), (203, 70, 105), (120, 177, 26)]


def test_discovery_without_marker_and_without_end_marker_fails() -> None:
    with pytest.raises(sunspec.SunSpecError):
        asyncio.run(sunspec.find_base(FakeReader({40000: 1, 40001: 2}), (40000,)))
    loop = {40000: 0x5375, 40001: 0x6E53}
    for i in range(sunspec.MAX_MODELS + 1):  # an endless chain of empty model 1 blocks
        loop.update({40002 + 2 * i: 1, 40003 + 2 * i: 0})
    with pytest.raises(sunspec.SunSpecError, match="no end marker"):
        asyncio.run(sunspec.walk_models(FakeReader(loop), 40000))


def test_read_block_splits_at_125_registers() -> None:
    block = sunspec_image.encode_model(1, {})
    big = sunspec.ModelBlock(model_id=999, address=0, length=298)
    reader = FakeReader({i: i % 7 for i in range(300)})
    regs = asyncio.run(sunspec.read_block(reader, big))
    assert len(regs) == 300 and reader.reads == 3
    assert len(block) == 68


def test_vendor_map_round_trip_and_not_available() -> None:
    rmap = load_register_map(DEFAULT_MAP_PATH)
    regs = encode_vendor_image(
        load_vendor_map(), {"wind_speed_m_s": 12.34, "power_w": -2500.0, "rotor_speed_rpm": None, "status": 3,
                            "energy_wh": 4_000_000_000}
    )  # fmt: skip
    v = decode_registers(rmap, regs)
    assert v == {"wind_speed_m_s": pytest.approx(12.34), "power_w": -2500.0, "rotor_speed_rpm": None,
                 "status": 3, "energy_wh": 4_000_000_000}  # fmt: skip


def test_counter_unwraps_rollover() -> None:
    t = CounterTracker(bits=32)
    assert t.update(2**32 - 100) == 2**32 - 100
    assert t.update(50) == 2**32 + 50
    assert t.update(None) is None  # missing stays missing
    assert t.update(150) == 2**32 + 150
    assert t.wraps == 1 and t.restarts == 0


def test_counter_restart_does_not_emit_a_huge_delta() -> None:
    t = CounterTracker(bits=32, settings=CounterSettings(max_step_wh=1e6))
    t.update(5_000_000)
    assert t.update(5_000_100) == 5_000_100
    assert t.update(20) == 5_000_100  # restart: zero delta, continues from the last total
    assert t.update(70) == 5_000_150
    assert t.restarts == 1 and t.wraps == 0
    z = CounterTracker(bits=32, settings=CounterSettings(max_step_wh=1e6, restart=RestartPolicy.FROM_ZERO))
    z.update(5_000_000)
    assert z.update(20) == 5_000_020


def test_counter_skips_forward_glitch() -> None:
    t = CounterTracker(bits=32, settings=CounterSettings(max_step_wh=1000))
    t.update(100)
    assert t.update(10_000_000) == 100
    assert t.update(200) == 200
    assert t.glitches == 1


def test_counter_scale_applies() -> None:
    t = CounterTracker(bits=32)
    assert t.update(12, scale=10.0) == 120.0


def _entry(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {"asset": "pv1", "area": "energy", "asset_kind": "pv_inverter", "host": "127.0.0.1"}
    base.update(kw)
    return base


def test_config_errors_name_entry_and_key() -> None:
    with pytest.raises(ModbusConfigError) as exc:
        load_devices([_entry(port=70000), _entry(asset="wt1", asset_kind="wind_turbine", protocol="register_map"),
                      _entry(asset="bad/name")])  # fmt: skip
    text = str(exc.value)
    assert "modbus[0].port" in text
    assert "modbus[1]" in text and "map_file" in text
    assert "modbus[2].asset" in text


def test_config_resolves_relative_map_file_and_rejects_duplicates(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(DEFAULT_MAP_PATH.read_text())
    devs = load_devices([_entry(asset="wt1", asset_kind="wind_turbine", protocol="register_map", map_file="m.yaml",
                                framer="rtu")], base_dir=tmp_path)  # fmt: skip
    assert devs[0].map_file == tmp_path / "m.yaml"
    assert devs[0].framer == "rtu"
    assert devs[0].register_map == load_register_map(DEFAULT_MAP_PATH)  # loaded with the config
    with pytest.raises(ModbusConfigError, match=r"modbus\[wt1\]\.map_file"):
        load_devices([_entry(asset="wt1", asset_kind="wind_turbine", protocol="register_map", map_file="nope.yaml")],
                     base_dir=tmp_path)
    with pytest.raises(ModbusConfigError, match="appears twice"):
        load_devices([_entry(), _entry()])
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")  # PyYAML's error is not a ValueError
    with pytest.raises(ModbusConfigError, match=r"modbus\[wt1\]\.map_file: line 2, column 1: not valid YAML"):
        load_devices([_entry(asset="wt1", asset_kind="wind_turbine", protocol="register_map", map_file="bad.yaml")],
                     base_dir=tmp_path)


def test_scaled_values_carry_no_float_noise() -> None:
    from seamline.edge_agent.modbus.sunspec import scaled

    assert scaled(454, -1) == 45.4
    assert str(scaled(454, -1)) == "45.4"
    assert scaled(-12345, -3) == -12.345
    assert scaled(7, 2) == 700
    assert scaled(31080, 0) == 31080
