from __future__ import annotations

from pathlib import Path

import pytest

from seamline.contracts.alerts import Severity
from seamline.errors import UsageError
from seamline.notify.am_config import ConfigOptions, Timings, build_config, duration
from seamline.rules.master_data import load_master_data

SAMPLE = Path(__file__).resolve().parents[3] / "rules" / "master_data.sample.yaml"


def test_durations_in_alertmanager_syntax() -> None:
    assert duration(0.5) == "500ms"
    assert duration(90) == "1m30s"
    assert duration(3600) == "1h"
    assert duration(86400 + 1) == "1d1s"
    with pytest.raises(ValueError):
        duration(0)


def test_critical_repeats_sooner_than_warning_and_repeat_not_below_group_interval() -> None:
    cfg = build_config(load_master_data(SAMPLE))
    f001 = cfg["route"]["routes"][0]
    assert f001["receiver"] == "seamline-f001"
    assert [r["repeat_interval"] for r in f001["routes"]] == ["1h", "4h", "1d"]
    with pytest.raises(ValueError):
        Timings(group_wait_s=1, group_interval_s=60, repeat_interval_s=30)


def test_gateway_offline_inhibits_its_gateway_or_its_site() -> None:
    rules = build_config(load_master_data(SAMPLE))["inhibit_rules"]
    by_gateway, by_site, by_severity = rules
    assert by_gateway["equal"] == ["enterprise", "site", "gateway"]
    assert 'gateway=~".+"' in by_gateway["target_matchers"]
    assert by_site["equal"] == ["enterprise", "site"] and 'gateway=""' in by_site["target_matchers"]
    assert by_severity["source_matchers"] == [f'severity="{Severity.CRITICAL.value}"']


def test_the_default_key_is_reserved() -> None:
    master = load_master_data(SAMPLE)
    clash = master.model_copy(update={"enterprises": [master.enterprises[0].model_copy(update={"id": "_default"})]})
    with pytest.raises(UsageError):
        build_config(clash, ConfigOptions())
