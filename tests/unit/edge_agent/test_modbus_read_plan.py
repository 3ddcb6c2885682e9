"""The poller's read plan (adjacent SunSpec blocks in one request) and selective decoding."""

from __future__ import annotations

import asyncio

import pytest

from seamline.contracts.assets import AssetKind
from seamline.edge_agent.modbus import metrics_map, sunspec
from seamline.edge_agent.modbus.sunspec import ModelBlock, ReadSpan
from seamline.firmware_stubs.energy import sunspec_image


class FakeReader:
    """Registers at absolute addresses; counts requests like round trips."""

    def __init__(self, regs: dict[int, int]) -> None:
        self.regs = regs
        self.requests: list[tuple[int, int]] = []

    async def read(self, address: int, count: int) -> list[int]:
        self.requests.append((address, count))
        return [self.regs[a] for a in range(address, address + count)]


def _pv_image() -> list[int]:
    m103 = {"W": 12_340.0, "W_SF": 1, "WH": 777_000, "WH_SF": 0, "Hz": 50.01, "Hz_SF": -2, "St": 4}
    return sunspec_image.device_image([
        sunspec_image.encode_model(1, {"Mn": "X"}), sunspec_image.encode_model(103, m103),
        sunspec_image.encode_model(120, {"WRtg": 50_000, "WRtg_SF": 1}),
    ])  # fmt: skip


PV_CHAIN = (ModelBlock(1, 40002, 66), ModelBlock(103, 40070, 50), ModelBlock(120, 40122, 26))


def test_adjacent_wanted_blocks_share_one_read() -> None:
    assert sunspec.plan_reads(PV_CHAIN, {103, 120}) == (ReadSpan(40070, 80, PV_CHAIN[1:]),)


def test_unwanted_block_between_splits_the_read() -> None:
    spans = sunspec.plan_reads(PV_CHAIN, {1, 120})
    assert spans == (ReadSpan(40002, 68, PV_CHAIN[:1]), ReadSpan(40122, 28, PV_CHAIN[2:]))


def test_span_never_exceeds_125_registers_and_big_blocks_stand_alone() -> None:
    blocks = (ModelBlock(1, 2, 66), ModelBlock(203, 70, 105), ModelBlock(120, 177, 26), ModelBlock(999, 205, 300))
    spans = sunspec.plan_reads(blocks, {1, 203, 120, 999})
    assert [(s.address, s.count) for s in spans] == [(2, 68), (70, 107), (177, 28), (205, 302)]
    assert all(s.count <= 125 for s in spans if len(s.blocks) > 1)


def test_only_the_first_block_of_a_model_is_read() -> None:
    blocks = (ModelBlock(203, 0, 105), ModelBlock(203, 107, 105))
    assert sunspec.plan_reads(blocks, {203}) == (ReadSpan(0, 107, blocks[:1]),)


def test_read_span_returns_each_block_and_costs_one_request() -> None:
    img = _pv_image()
    reader = FakeReader({40000 + i: v for i, v in enumerate(img)})
    (span,) = sunspec.plan_reads(PV_CHAIN, {103, 120})
    got = asyncio.run(sunspec.read_span(reader, span))
    assert reader.requests == [(40070, 80)]
    assert got[103] == img[70:122] and got[120] == img[122:150]
    big = ReadSpan(0, 300, (ModelBlock(7, 0, 298),))
    r2 = FakeReader({i: i for i in range(300)})
    assert asyncio.run(sunspec.read_span(r2, big))[7] == list(range(300))
    assert r2.requests == [(0, 125), (125, 125), (250, 50)]


def test_selective_decode_equals_full_decode_on_the_needed_points() -> None:
    block = _pv_image()[70:122]
    names = metrics_map.points_needed(AssetKind.PV_INVERTER, 103)
    assert {"W", "WH", "WH_SF", "Hz", "St"} <= names
    part = sunspec.decode_model(103, block, names)
    full = sunspec.decode_model(103, block)
    assert part == {k: full[k] for k in part}
    assert set(part) >= {"W", "WH", "Hz", "St", "W_SF", "Hz_SF"}  # scale factors come along
    assert "AphA" not in part and "Evt1" not in part  # points no metric reads are skipped
    assert part["W"] == 12_340 and part["Hz"] == pytest.approx(50.01) and part["WH"] == 777_000


def test_points_needed_for_battery_include_the_capacity_inputs() -> None:
    assert {"SoC", "SoH", "W", "ChaSt", "WHRtg"} <= metrics_map.points_needed(AssetKind.BATTERY, 802)
    assert metrics_map.points_needed(AssetKind.METER, 1) == frozenset()
