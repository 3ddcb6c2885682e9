"""``seamline edge run``'s hand-over: the validated settings through a file descriptor, and a
runtime stage that imports no pydantic (what keeps a gateway's RSS down)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from seamline.edge_agent.config import parse_config
from seamline.edge_agent.runtime import parse_args, read_settings, settings_fd

RUNTIME_MODULES = ("seamline.edge_agent.runtime", "seamline.edge_agent.service", "seamline.edge_agent.sources",
                   "seamline.edge_agent.health", "seamline.metrics_http", "seamline.logsetup",
                   "seamline.stop_signal", "seamline.connect_log")


def test_settings_survive_the_hand_over_with_the_password(tmp_path: Path) -> None:
    (tmp_path / "map.yaml").write_text(
        "name: m\npoints:\n  - {metric: power_w, address: 0, type: int16, scale: 10}\n")
    config = parse_config({
        "gateway": {"id": "gw1", "enterprise": "f001", "site": "s1"},
        "uplink": {"host": "broker", "password": "from-env"},
        "machine_types": {"default": {}, "heavy": {"run_current_a": 6.0}},
        "machines": [{"id": "m001", "line": "line01", "type": "heavy"}],
        "modbus": [{"asset": "wt1", "area": "energy", "asset_kind": "wind_turbine", "host": "10.0.0.5",
                    "protocol": "register_map", "map_file": "map.yaml"}],
    }, path=tmp_path / "edge.yaml")
    settings = config.settings(config_dir=tmp_path)
    fd = settings_fd(settings)
    assert os.get_inheritable(fd)
    got = read_settings(fd)
    assert got == settings
    assert got.uplink.password == "from-env" and "from-env" not in repr(got)
    assert got.machine_type("m001", "line01").run_current_a == 6.0
    assert got.modbus[0].register_map is not None and got.modbus[0].register_map.points[0].scale == 10.0


def test_runtime_arguments() -> None:
    assert parse_args(["--settings-fd", "5", "--validated-peak-kb", "30000"]) == {
        "settings_fd": 5, "log_level": 20, "log_json": 0, "validated_peak_kb": 30000}
    for bad in ([], ["--settings-fd"], ["--settings-fd", "x"], ["--config", "edge.yaml"]):
        with pytest.raises(SystemExit):
            parse_args(bad)


def test_the_runtime_stage_imports_no_pydantic_nor_yaml() -> None:
    code = (f"import sys\nimport {', '.join(RUNTIME_MODULES)}\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core', 'yaml')))")
    out = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_check_config_validates_the_modbus_devices_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from seamline.cli import main

    path = tmp_path / "edge.yaml"
    path.write_text("gateway: {id: gw1, enterprise: f001, site: s1}\nuplink: {host: broker}\n"
                    "modbus:\n  - {asset: pv1, area: energy, asset_kind: pv_inverter, host: h, port: 70000}\n")
    assert main(["edge", "check-config", str(path)]) == 2
    assert "edge.yaml: modbus[0].port" in capsys.readouterr().err
