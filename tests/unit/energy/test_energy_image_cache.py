"""Register-image cache and refresh grid of the energy stubs: never a stale image after the
simulated clock moved a step; one build (and one park computation) per refresh instant."""

from __future__ import annotations

import pytest

from seamline.firmware_stubs.energy.devices import Fault, PvInverter, WindTurbine
from seamline.firmware_stubs.energy.meter import Meter
from seamline.firmware_stubs.energy.site import build_site

NOON_MS = 1_750_478_400_000  # 2025-06-21 12:00 +08:00, on every whole-second grid


def test_exact_mode_rebuilds_after_every_step_and_equals_a_fresh_build() -> None:
    pv = PvInverter(name="pv1")
    pv.advance_to(NOON_MS)
    first = pv.image()
    assert pv.image() is first and pv.image_builds == 1  # same state: served from the cache
    for k in range(1, 6):
        pv.advance_to(NOON_MS + k * 37)  # tiny steps: the exact mode follows every read
        img = pv.image()
        assert img == pv._build_image()
        assert pv.t_ms == NOON_MS + k * 37
    assert pv.image_builds == 6


def test_refresh_grid_holds_the_image_within_a_step_and_moves_at_the_boundary() -> None:
    wt = WindTurbine(name="wt1", seed=3, refresh_s=1.0)
    wt.advance_to(NOON_MS + 400)
    assert wt.t_ms == NOON_MS  # snapped to the last refresh
    held = wt.image()
    for ms in (500, 999):
        wt.advance_to(NOON_MS + ms)
        assert wt.image() is held
    assert wt.image_builds == 1
    energy_before = wt.truth()["energy_wh"]
    wt.advance_to(NOON_MS + 1000)
    moved = wt.image()
    assert wt.t_ms == NOON_MS + 1000
    assert moved is not held and moved == wt._build_image()
    assert wt.truth()["energy_wh"] is not None and energy_before is not None
    wt.advance_to(NOON_MS + 7_300)  # several steps at once
    assert wt.t_ms == NOON_MS + 7_000 and wt.image() == wt._build_image()


def test_fault_and_missing_points_invalidate_the_cache() -> None:
    m = Meter(name="meter1", net_power_w=lambda _t: 12_300.0, refresh_s=1.0)
    m.advance_to(NOON_MS)
    img = m.image()
    m.missing_points.add("power_w")
    blanked = m.image()
    assert blanked is not img and blanked == m._build_image()
    m.missing_points.clear()
    assert m.image() == img
    pv = PvInverter(name="pv1", refresh_s=1.0)
    pv.advance_to(NOON_MS)
    before = pv.image()
    pv.fault = Fault.TRIP
    assert pv.image() is not before  # the key changes at once; the state follows at the next step
    pv.advance_to(NOON_MS + 1000)
    assert pv.truth()["operating_state"] == 7 and pv.truth()["ac_power_w"] == 0.0


def test_refresh_s_must_be_positive() -> None:
    with pytest.raises(ValueError, match="refresh_s"):
        Meter(name="m", refresh_s=0.0)


def test_park_output_is_computed_once_per_instant_for_all_meters() -> None:
    site = build_site(pv=5, battery=0, meter=10, wind=0, seed=2, refresh_s=1.0)
    for k in range(3):
        for i, m in enumerate(site.meters):
            m.advance_to(NOON_MS + k * 1000 + 13 * i)  # reads spread within the same second
    # one sum of the PV park per refresh instant (3), not one per meter read (30)
    assert site.pv_park_computations == 3
    pv_w = sum(inv.ac_power_w() for inv in site.pv)
    load_w = site.meters[0].truth()["power_w"]
    assert load_w is not None and pv_w > 0
    for m in site.meters:
        assert m.truth()["power_w"] == load_w  # every meter saw the same instant


def test_exact_mode_keeps_per_read_physics() -> None:
    site = build_site(pv=2, battery=0, meter=2, wind=0, seed=2)
    site.meters[0].advance_to(NOON_MS)
    site.meters[1].advance_to(NOON_MS + 5)
    assert site.meters[1].t_ms == NOON_MS + 5
    assert site.pv_park_computations == 2
