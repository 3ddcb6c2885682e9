"""Item 7 of issue 9: components raise their own typed errors, only the command line maps them to
messages and exit codes (InputError and its subclasses -> 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from seamline.cli import main
from seamline.errors import InputError, UsageError
from seamline.matching import errors as matching_errors
from seamline.rules import errors as rules_errors

REPO = Path(__file__).resolve().parents[2]
# Components whose modules raise their own error types; UsageError stays in their cli modules.
OWN_ERRORS = ("matching", "rules")


@pytest.mark.parametrize("component", OWN_ERRORS)
def test_only_cli_modules_raise_usage_errors(component: str) -> None:
    offenders = [p.name for p in sorted((REPO / component).rglob("*.py"))
                 if not p.name.endswith("cli.py") and "UsageError" in p.read_text(encoding="utf-8")]
    assert offenders == [], f"{component}: raise the component's own errors (errors.py), not UsageError"


def test_component_errors_are_input_errors_not_usage_errors() -> None:
    for cls in (matching_errors.OrderBookError, matching_errors.ProfilesError, matching_errors.CapacityInputError,
                matching_errors.BrokerAddressError, matching_errors.InfluxConfigError,
                rules_errors.ConfigError, rules_errors.MasterDataError):
        assert issubclass(cls, InputError) and not issubclass(cls, UsageError), cls


def test_the_cli_maps_a_component_input_error_to_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders = tmp_path / "orders.json"
    orders.write_text('{"orders": 5}')
    capacity = tmp_path / "capacity.json"
    capacity.write_text("[]")
    assert main(["match", "--orders", str(orders), "--capacity", str(capacity)]) == 2
    err = capsys.readouterr().err
    assert f"order book {orders}: expected a list of orders" in err and "Traceback" not in err


def test_the_cli_maps_a_rules_config_error_to_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "rules.yaml"
    config.write_text("influx: [1, 2]\n")
    assert main(["rules", "once", "--config", str(config), "--window", "1h", "--at", "2026-05-04T08:00+08:00"]) == 2
    err = capsys.readouterr().err
    assert f"{config}: influx:" in err and f"{config}: master_data:" in err and "Traceback" not in err
