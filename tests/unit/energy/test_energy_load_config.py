"""The energy simulation config: the packaged default, per-factory overrides, clear errors."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from seamline.firmware_stubs.energy.cli import _devices
from seamline.firmware_stubs.energy.load_config import (
    EnergySimConfigError,
    MotorKind,
    TouPeriod,
    load_energy_sim_config,
    parse_energy_sim_config,
)


def test_the_packaged_config_loads() -> None:
    cfg = load_energy_sim_config()
    assert cfg.motors[MotorKind.SERVO].idle_w < cfg.motors[MotorKind.CLUTCH].idle_w
    assert cfg.factory_spec("f001").line_meters and not cfg.factory_spec("f099").line_meters
    assert cfg.park.compressor is None and cfg.park.base_w > cfg.factory.base_w
    assert not cfg.tariff.verified  # the Zhejiang periods are an example until checked
    assert {w.period for w in cfg.tariff.windows} == {TouPeriod.SHARP, TouPeriod.PEAK, TouPeriod.VALLEY}


def test_an_override_changes_only_its_keys_one_level_deep() -> None:
    cfg = parse_energy_sim_config({
        "factory": {"base_w": 800, "pressing": {"press_w": 1200, "press_s_per_piece": 30}},
        "factories": {"f003": {"motor": "clutch", "pressing": {"press_s_per_piece": 60}}}})
    f3 = cfg.factory_spec("f003")
    assert (f3.motor, f3.base_w, f3.pressing.press_w, f3.pressing.press_s_per_piece) == (MotorKind.CLUTCH, 800,
                                                                                          1200, 60)
    assert cfg.factory_spec("f001").pressing.press_s_per_piece == 30


@pytest.mark.parametrize(("raw", "problem"), [
    ({"factory": {"lighting_w_m2": -1}}, "factory.lighting_w_m2"),
    ({"factory": {"watts": 1}}, "factory.watts"),
    ({"motors": {"servo": {"idle_w": 300, "run_w": 100}}}, "run_w must not be below idle_w"),
    ({"motors": {"servo": {"idle_w": 1, "run_w": 2}}, "factory": {"motor": "clutch"}}, "no figures for ['clutch']"),
    ({"battery": {"soc_min_pct": 90, "soc_max_pct": 20}}, "soc_min_pct must be below soc_max_pct"),
    ({"tariff": {"name": "t", "windows": [{"start": "08:00", "end": "08:00", "period": "peak"}]}}, "start != end"),
])
def test_errors_name_the_key(raw: dict[str, object], problem: str) -> None:
    with pytest.raises(EnergySimConfigError) as err:
        parse_energy_sim_config(raw, source="x.yaml")
    assert problem in str(err.value) and "x.yaml" in str(err.value)


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(EnergySimConfigError, match="cannot read"):
        load_energy_sim_config(tmp_path / "nope.yaml")


def test_sim_energy_builds_factory_meters_from_the_floor() -> None:
    args = argparse.Namespace(config=None, sim_hours=2.0, pv=1, battery=1, meter=1, wind=0, seed=1, factories=2,
                              lines=2, machines=2, floor_seed=4)
    names = [d.name for d in _devices(args, 1_750_467_600_000)]  # 2025-06-21 09:00 +08:00
    assert names == ["pv1", "met1", "bat1", "meter1", "f001-meter1", "f001-line01m", "f001-line02m",
                     "f002-meter1", "f002-line01m", "f002-line02m"]
