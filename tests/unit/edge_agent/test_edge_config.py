"""edge_agent.config: the sample config is valid; errors name file, key and expectation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from seamline.edge_agent.cli import summary
from seamline.edge_agent.config import PASSWORD_ENV, ConfigError, load_config, parse_config

SAMPLE = Path(__file__).resolve().parents[3] / "edge_agent" / "edge.sample.yaml"


def sample() -> dict[str, Any]:
    data = yaml.safe_load(SAMPLE.read_text())
    assert isinstance(data, dict)
    return data


def problems(data: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, path=Path("/etc/seamline/edge.yaml"))
    return str(info.value).splitlines()


def test_sample_config_is_valid() -> None:
    cfg = load_config(SAMPLE, env={})
    assert cfg.gateway.id == "gw-a01"
    assert cfg.aggregate_period_s == 60
    assert cfg.uplink_client_id == "edge-gw-a01"
    assert cfg.machine_type("m002").run_current_a == 2.6
    assert cfg.machine_type("m002").idle_after_s == 3.0  # unset keys keep their defaults
    assert cfg.machine_type("unlisted").run_current_a == 3.2


def test_port_error_names_file_key_and_expectation() -> None:
    data = sample()
    data["uplink"]["port"] = "abc"
    assert problems(data) == ["/etc/seamline/edge.yaml: uplink.port: expected an integer 1..65535, got 'abc'"]


def test_port_out_of_range() -> None:
    data = sample()
    data["local"]["port"] = 70000
    assert problems(data) == ["/etc/seamline/edge.yaml: local.port: expected an integer 1..65535, got 70000"]


def test_every_problem_is_listed() -> None:
    data = sample()
    del data["gateway"]["id"]
    data["spool"]["max_byte"] = 5
    data["aggregate_period_s"] = "soon"
    assert problems(data) == [
        "/etc/seamline/edge.yaml: gateway.id: required key is missing",
        "/etc/seamline/edge.yaml: spool.max_byte: unknown key, got 5",
        "/etc/seamline/edge.yaml: aggregate_period_s: expected an integer, got 'soon'",
    ]


def test_bad_topic_level_and_unknown_machine_type() -> None:
    data = sample()
    data["gateway"]["site"] = "plant/1"
    assert problems(data) == ["/etc/seamline/edge.yaml: gateway.site: name 'plant/1' contains '/', got 'plant/1'"]
    data = sample()
    data["machines"][0]["type"] = "chainstitch"
    assert problems(data) == ["/etc/seamline/edge.yaml: (top level): machine 'm001' has unknown type 'chainstitch'"]


def test_thresholds_must_be_ordered() -> None:
    data = sample()
    data["machine_types"]["overlock"]["running_above_a"] = 5.0
    [msg] = problems(data)
    assert msg.startswith("/etc/seamline/edge.yaml: machine_types.overlock: expected off_below_a < running_above_a")


def test_password_from_environment_is_secret() -> None:
    cfg = parse_config(sample(), path=SAMPLE, env={PASSWORD_ENV: "s3cret-pw"})
    assert cfg.uplink.password is not None
    assert cfg.uplink.password.get_secret_value() == "s3cret-pw"
    assert "s3cret-pw" not in repr(cfg)
    assert "s3cret-pw" not in summary(cfg, SAMPLE)
    assert "password set" in summary(cfg, SAMPLE)


def test_unreadable_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing.yaml: cannot read"):
        load_config(tmp_path / "missing.yaml", env={})
    bad = tmp_path / "bad.yaml"
    bad.write_text("gateway:\n  id: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: line \d+, column \d+: not valid YAML"):
        load_config(bad, env={})
    top = tmp_path / "list.yaml"
    top.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match=r"list.yaml: \(top level\): expected a mapping"):
        load_config(top, env={})
