from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from seamline.errors import InputError
from seamline.rules.master_data import AvailabilityCategory, MasterDataError, load_master_data, parse_master_data

SAMPLE = Path(__file__).resolve().parents[3] / "rules" / "master_data.sample.yaml"


def sample_raw() -> dict[str, Any]:
    raw = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    assert isinstance(raw, dict)
    return raw


def test_sample_loads_with_expected_content() -> None:
    data = load_master_data(SAMPLE)
    assert [e.id for e in data.enterprises] == ["f001", "f002"]
    f001 = data.enterprise("f001")
    assert f001.timezone == "Asia/Shanghai" and f001.land_area_mu == 12.5
    line = f001.sites[0].lines[0]
    assert line.operators == 12 and line.absenteeism == 0.08 and line.machine_total == 6
    assert data.style(line.style or "").sam_min == 22.0
    kinds = sorted(a.kind for e in data.enterprises for s in e.sites for a in s.energy_assets)
    assert kinds == ["battery", "met_station", "meter", "meter", "meter", "pv_inverter", "wind_turbine"]
    site = f001.sites[0]
    assert [a.feeder_meter for a in site.energy_assets if a.kind == "battery"] == ["bat01m"]
    assert site.feeder_meters == frozenset({"bat01m"})
    assert site.sub_meters == frozenset({"bat01m", "line01m"}) and [a.id for a in site.line_meters("line01")] == [
        "line01m"]
    contract = data.contract("iec-default")
    assert contract.status_map[9] is AvailabilityCategory.FORCED_OUTAGE
    assert AvailabilityCategory.FORCE_MAJEURE in contract.excluded
    assert data.kpi.coverage_threshold == 0.8


def _error(raw: dict[str, Any]) -> str:
    with pytest.raises(MasterDataError) as info:
        parse_master_data(raw, source="md.yaml")
    assert isinstance(info.value, InputError)
    return str(info.value)


def test_error_names_file_key_and_expectation() -> None:
    raw = sample_raw()
    raw["enterprises"][0]["sites"][0]["lines"][0]["operators"] = -1
    msg = _error(raw)
    assert "md.yaml: enterprises[0].sites[0].lines[0].operators:" in msg
    assert "greater than or equal to 0" in msg


def test_unknown_timezone_rejected() -> None:
    raw = sample_raw()
    raw["enterprises"][1]["timezone"] = "Mars/Olympus"
    assert "enterprises[1].timezone" in _error(raw) and "Mars/Olympus" in _error(raw)


def test_dangling_references_reported() -> None:
    raw = sample_raw()
    raw["enterprises"][0]["calendar"] = "nope"
    raw["enterprises"][0]["sites"][0]["lines"][1]["style"] = "ghost"
    raw["enterprises"][1]["sites"][0]["energy_assets"][0]["availability_contract"] = "x"
    msg = _error(raw)
    assert "enterprises[0].calendar: expected one of ['cn-two-shift'], got 'nope'" in msg
    assert "enterprises[0].sites[0].lines[1].style" in msg and "'ghost'" in msg
    assert "energy_assets[0].availability_contract: unknown contract 'x'" in msg


def test_energy_asset_requirements() -> None:
    raw = sample_raw()
    raw["enterprises"][0]["sites"][0]["energy_assets"][1].pop("capacity_kwh")
    assert "a battery needs capacity_kwh" in _error(raw)
    raw = sample_raw()
    wt = raw["enterprises"][1]["sites"][0]["energy_assets"][0]
    wt.pop("turbine_type")
    assert "turbine_type (+ hub_height_m) or a power_curve" in _error(raw)


def test_feeder_meter_must_be_a_meter_of_the_same_site() -> None:
    raw = sample_raw()
    raw["enterprises"][0]["sites"][0]["energy_assets"][1]["feeder_meter"] = "pv01"  # a PV inverter
    assert ("enterprises[0].sites[0].energy_assets[1].feeder_meter: expected the id of a meter asset of this "
            "site ['bat01m', 'line01m', 'meter01'], got 'pv01'") in _error(raw)
    raw = sample_raw()
    raw["enterprises"][0]["sites"][0]["energy_assets"][1]["feeder_meter"] = "ghost"
    assert "got 'ghost'" in _error(raw)
    raw = sample_raw()  # a meter of another enterprise's site does not count
    raw["enterprises"][1]["sites"][0]["energy_assets"].append(
        {"id": "b2", "kind": "battery", "area": "park", "capacity_kwh": 50, "feeder_meter": "bat01m"})
    assert "enterprises[1].sites[0].energy_assets[1].feeder_meter: expected the id of a meter asset of this " \
           "site [], got 'bat01m'" in _error(raw)


def test_feeder_meter_only_on_batteries_and_one_battery_per_meter() -> None:
    raw = sample_raw()
    raw["enterprises"][0]["sites"][0]["energy_assets"][0]["feeder_meter"] = "bat01m"  # the PV inverter
    assert "enterprises[0].sites[0].energy_assets[0]: Value error, feeder_meter is for batteries, not a " \
           "pv_inverter" in _error(raw)
    raw = sample_raw()
    raw["enterprises"][0]["sites"][0]["energy_assets"].append(
        {"id": "bat02", "kind": "battery", "area": "roof", "capacity_kwh": 100, "feeder_meter": "bat01m"})
    assert "enterprises[0].sites[0]: meters ['bat01m'] are the feeder_meter of more than one battery" in _error(raw)


def test_duplicates_and_extra_keys() -> None:
    raw = sample_raw()
    raw["styles"].append(copy.deepcopy(raw["styles"][0]))
    assert "styles: duplicate ids ['tee-basic']" in _error(raw)
    raw = sample_raw()
    raw["enterprises"][0]["colour"] = "red"
    assert "enterprises[0].colour: Extra inputs are not permitted" in _error(raw)


def test_available_and_excluded_must_be_disjoint() -> None:
    raw = sample_raw()
    raw["availability_contracts"][0]["excluded"].append("full_performance")
    assert "both available and excluded" in _error(raw)


def test_output_machines_must_be_machines() -> None:
    raw = sample_raw()
    raw["enterprises"][0]["sites"][0]["lines"][0]["output_machines"] = ["m999"]
    assert "output_machines ['m999'] are not in machines" in _error(raw)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(MasterDataError, match="cannot read"):
        load_master_data(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n", encoding="utf-8")
    with pytest.raises(MasterDataError, match="not valid YAML"):
        load_master_data(bad)
    lst = tmp_path / "list.yaml"
    lst.write_text("- 1\n", encoding="utf-8")
    with pytest.raises(MasterDataError, match="expected a mapping"):
        load_master_data(lst)
