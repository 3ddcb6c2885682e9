"""``seamline alerts alertmanager-config`` writes a config that Alertmanager's own checker
(``amtool check-config``) accepts and whose routing sends each enterprise and severity where
intended (``amtool config routes test``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.notify_scenarios import SAMPLE_MASTER

pytestmark = pytest.mark.integration

AMTOOL = shutil.which("amtool") or "/usr/bin/amtool"


def _generate(tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / "alertmanager.yml"
    token = tmp_path / "token"
    token.write_text("secret-token\n")
    proc = subprocess.run(
        [sys.executable, "-m", "seamline.cli", "alerts", "alertmanager-config", "--master", str(SAMPLE_MASTER),
         "--out", str(out), "--notify-url", "http://127.0.0.1:9095", "--bearer-token-file", str(token), *extra],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return out


def _route(config: Path, *labels: str) -> str:
    proc = subprocess.run([AMTOOL, "config", "routes", "test", f"--config.file={config}", *labels],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_generated_config_passes_amtool_check_config(tmp_path: Path) -> None:
    config = _generate(tmp_path, "--critical-repeat-interval", "30m")
    proc = subprocess.run([AMTOOL, "check-config", str(config)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout
    assert "3 inhibit rules" in proc.stdout


def test_routes_per_enterprise_and_severity(tmp_path: Path) -> None:
    config = _generate(tmp_path)
    assert _route(config, "enterprise=f001", "severity=critical", "alertname=machine_down") == "seamline-f001"
    assert _route(config, "enterprise=f002", "severity=warning", "alertname=low_efficiency") == "seamline-f002"
    assert _route(config, "enterprise=f999", "severity=critical", "alertname=x") == "seamline-_default"
    assert _route(config, "alertname=no_enterprise") == "seamline-_default"

    tree = yaml.safe_load(config.read_text())
    f001 = next(r for r in tree["route"]["routes"] if r["matchers"] == ['enterprise="f001"'])
    repeat = {r["matchers"][0]: r["repeat_interval"] for r in f001["routes"]}
    assert repeat == {'severity="critical"': "1h", 'severity="warning"': "4h", 'severity="info"': "1d"}
    hook = tree["receivers"][1]["webhook_configs"][0]
    assert hook["url"] == "http://127.0.0.1:9095/alertmanager/f001"
    assert hook["http_config"]["authorization"]["credentials_file"] == str(tmp_path / "token")
    assert "secret-token" not in config.read_text()


def test_bad_master_data_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "master.yaml"
    bad.write_text("version: 1\nenterprises: []\n")
    proc = subprocess.run([sys.executable, "-m", "seamline.cli", "alerts", "alertmanager-config", "--master", str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "master.yaml" in proc.stderr and "enterprises" in proc.stderr
