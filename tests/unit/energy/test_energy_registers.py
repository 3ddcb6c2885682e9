"""Register encoding of the stubs: SunSpec images from pysunspec2 defs, vendor map."""

from __future__ import annotations

import pytest

from seamline.firmware_stubs.energy import sunspec_image
from seamline.firmware_stubs.energy.vendor_map import encode_vendor_image, load_vendor_map


def test_model_103_block_has_official_length_and_layout() -> None:
    block = sunspec_image.encode_model(103, {"W": 12_340.0, "W_SF": 1})
    assert block[:2] == [103, 50]  # SunSpec 103 L = 50
    slots = {s.name: s for s in sunspec_image.model_layout(103)}
    assert block[slots["W"].offset] == 1234
    assert block[slots["W_SF"].offset] == 1
    assert block[slots["TmpCab"].offset] == 0x8000  # int16 not implemented
    assert block[slots["St"].offset] == 0xFFFF  # enum16 not implemented
    assert block[slots["WH"].offset : slots["WH"].offset + 2] == [0, 0]  # acc32 not implemented


def test_negative_values_scale_factors_and_acc32_words() -> None:
    slots = {s.name: s for s in sunspec_image.model_layout(203)}
    block = sunspec_image.encode_model(203, {"W": -5_000.0, "W_SF": 1, "TotWhImp": 70_000.0, "TotWh_SF": 0})
    assert block[slots["W"].offset] == (-500) & 0xFFFF
    assert block[slots["W_SF"].offset] == 1
    o = slots["TotWhImp"].offset
    assert block[o : o + 2] == [1, 70_000 - 65_536]


def test_value_out_of_range_is_refused_not_wrapped() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        sunspec_image.encode_model(103, {"W": 400_000.0, "W_SF": 0})


def test_device_image_has_markers() -> None:
    img = sunspec_image.device_image([sunspec_image.encode_model(1, {"Mn": "X"})])
    assert img[:2] == [0x5375, 0x6E53]
    assert img[2:4] == [1, 66]
    assert img[-2:] == [0xFFFF, 0]


def test_repeating_group_expands() -> None:
    block = sunspec_image.encode_model(302, {"repeating[0].POAI": 800}, repeats={"repeating": 1})
    assert block[:2] == [302, 5]
    assert block[2 + 1] == 800


def test_vendor_map_encodes_32_bit_high_word_first_and_sentinels() -> None:
    vmap = load_vendor_map()
    regs = encode_vendor_image(
        vmap, {"wind_speed_m_s": 7.25, "power_w": -1500.0, "rotor_speed_rpm": None, "status": 1, "energy_wh": 2**32 + 5}
    )
    assert vmap.first_address == 100 and len(regs) == 7
    assert regs[0] == 725
    assert regs[1:3] == [0xFFFF, (-1500) & 0xFFFF]
    assert regs[3] == 0xFFFF  # not available
    assert regs[5:7] == [0, 5]  # counter wrapped in the device
