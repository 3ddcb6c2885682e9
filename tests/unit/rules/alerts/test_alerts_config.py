"""alerts.yaml: the sample loads, every error names file, key and what was expected, durations
parse, overrides of built-ins apply, `seamline rules check-config` covers it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from seamline.rules.alerts.config import (
    AlertsConfig,
    AlertsConfigError,
    load_alerts_config,
    parse_duration,
    resolve_rules,
)

REPO = Path(__file__).resolve().parents[4]
SAMPLE = REPO / "rules" / "alerts" / "alerts.sample.yaml"


def write(tmp_path: Path, data: object) -> Path:
    p = tmp_path / "alerts.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def test_sample_loads_with_overrides() -> None:
    cfg = load_alerts_config(SAMPLE)
    rules = {r.id: r for r in resolve_rules(cfg)}
    assert rules["machine_down"].condition.threshold == 15
    assert "battery_soc_high" not in rules
    assert rules["meter_power_high"].for_s == 300 and rules["meter_power_high"].keep_firing_for_s == 120
    assert cfg.interval_s == 30 and cfg.evaluation_delay_s == 60


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("5m", 300), ("1h30m", 5400), ("1d", 86400), (45, 45)])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_bad_duration_is_named(tmp_path: Path) -> None:
    with pytest.raises(AlertsConfigError, match=r"alerts.yaml: interval_s: .*duration like 90s"):
        load_alerts_config(write(tmp_path, {"interval_s": "soon"}))


BASE = {"id": "r1", "alertname": "r1", "severity": "warning",
        "condition": {"kind": "kpi", "measurement": "kpi_line", "field": "oee", "op": "below", "threshold": 0.3},
        "annotations": {"summary": "产线 {area} OEE {value}"}}


@pytest.mark.parametrize(("change", "expected"), [
    ({"condition": {**BASE["condition"], "field": "oops"}}, r"rules\[0\]\.condition: .*kpi_line has no field 'oops'"),
    ({"condition": {**BASE["condition"], "measurement": "kpi_nope"}},
     r"rules\[0\]\.condition: .*measurement 'kpi_nope'"),
    ({"condition": {**BASE["condition"], "clear": 0.2}}, r"rules\[0\]\.condition\.kpi: .*clear must be >= threshold"),
    ({"condition": {**BASE["condition"], "kind": "magic"}}, r"rules\[0\]\.condition: .*'kpi', 'metric'"),
    ({"annotations": {"summary": "{machine} down"}}, r"rules\[0\]\.annotations: .*unknown name\(s\) \['machine'\]"),
    ({"severity": "urgent"}, r"rules\[0\]\.severity: "),
    ({"condition": {"kind": "state_duration", "subject": "machine", "state": "broken", "threshold": 5}},
     r"rules\[0\]\.condition: .*state 'broken': expected one of"),
])
def test_rule_errors_name_file_and_key(tmp_path: Path, change: dict[str, object], expected: str) -> None:
    with pytest.raises(AlertsConfigError, match=r"alerts.yaml: " + expected):
        load_alerts_config(write(tmp_path, {"rules": [{**BASE, **change}]}))


def test_unknown_builtin_and_duplicate_ids(tmp_path: Path) -> None:
    with pytest.raises(AlertsConfigError, match=r"builtin: .*unknown built-in rule\(s\) \['machine_dwn'\]"):
        load_alerts_config(write(tmp_path, {"builtin": {"machine_dwn": {"enabled": False}}}))
    with pytest.raises(AlertsConfigError, match="duplicate rule id 'machine_down'"):
        load_alerts_config(write(tmp_path, {"rules": [{**BASE, "id": "machine_down"}]}))


def test_builtins_validate_and_state_path_is_relative_to_the_file(tmp_path: Path) -> None:
    assert len(resolve_rules(AlertsConfig())) >= 16
    cfg = load_alerts_config(write(tmp_path, {"state_path": "s.sqlite3"}))
    assert cfg.state_path == tmp_path / "s.sqlite3"


def test_check_config_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from seamline.cli import main

    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"master_data": str(REPO / "rules" / "master_data.sample.yaml"),
                                     "alerts": str(write(tmp_path, {"rules": [BASE]}))}))
    assert main(["rules", "check-config", "--config", str(rules)]) == 0
    out = capsys.readouterr().out
    assert "17 rules" in out and "r1: warning, kpi below 0.3" in out
    write(tmp_path, {"rules": [{**BASE, "severity": "urgent"}]})
    assert main(["rules", "check-config", "--config", str(rules)]) == 2
    assert "rules[0].severity" in capsys.readouterr().err
