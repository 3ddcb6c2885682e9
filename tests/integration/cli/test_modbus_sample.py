"""The Modbus sample copied to another host's config folder (issue 14): its register map ships
beside it and ``map_file`` resolves against the config file, so ``edge check-config`` passes in a
fresh folder holding only the config and the map — and names the map's full path when it is absent."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

SEAMLINE = str(Path(sys.executable).parent / "seamline")
REPO = Path(__file__).resolve().parents[3]
MODBUS = REPO / "edge_agent" / "modbus"


def edge_yaml_with_the_modbus_sample(folder: Path) -> Path:
    """edge.sample.yaml with sample_modbus.yaml's devices, made to pass on this host: no TLS CA (the
    sample's /etc/seamline/ca.pem is not here) and the spool in ``folder``."""
    config = yaml.safe_load((REPO / "edge_agent" / "edge.sample.yaml").read_text(encoding="utf-8"))
    config["uplink"].pop("tls_ca")
    config["spool"]["path"] = "spool.sqlite"
    config["modbus"] = yaml.safe_load((MODBUS / "sample_modbus.yaml").read_text(encoding="utf-8"))["modbus"]
    path = folder / "edge.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_the_shipped_map_is_the_one_the_turbine_stub_serves() -> None:
    assert (MODBUS / "wind_turbine_map.yaml").read_bytes() == (
        REPO / "firmware_stubs" / "energy" / "wind_turbine_map.yaml").read_bytes()


def test_sample_and_map_copied_to_a_fresh_folder_check_ok(tmp_path: Path) -> None:
    etc = (tmp_path / "etc-seamline").resolve()
    etc.mkdir()
    config = edge_yaml_with_the_modbus_sample(etc)
    missing = subprocess.run([SEAMLINE, "edge", "check-config", "--config", str(config)], capture_output=True,
                             text=True, timeout=60, cwd=tmp_path)
    assert missing.returncode == 2, missing.stderr
    assert f"{etc}/wind_turbine_map.yaml" in missing.stderr and "map_file" in missing.stderr
    assert "Traceback" not in missing.stderr
    shutil.copy(MODBUS / "wind_turbine_map.yaml", etc)
    done = subprocess.run([SEAMLINE, "edge", "check-config", "--config", str(config)], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
