"""The one config loader's environment overrides: ``SEAMLINE_<SERVICE>__KEY__SUB`` over the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from seamline.configfile import ConfigFileError, env_overrides, load_service_yaml, merged


def test_nested_keys_lower_cased_and_only_this_service() -> None:
    env = {"SEAMLINE_INGEST__MQTT__PORT": "8883", "SEAMLINE_INGEST__INFLUX__PASSWORD": "0123",
           "SEAMLINE_EDGE__MQTT__PORT": "1", "HOME": "/root"}
    assert env_overrides("ingest", env) == {"mqtt": {"port": "8883"}, "influx": {"password": "0123"}}


def test_lists_and_mappings_are_yaml_scalars_stay_strings() -> None:
    env = {"SEAMLINE_EDGE__MACHINES": "[{id: m1, line: l1}]", "SEAMLINE_EDGE__UPLINK__PASSWORD": "true"}
    assert env_overrides("edge", env) == {"machines": [{"id": "m1", "line": "l1"}],
                                          "uplink": {"password": "true"}}


def test_documented_form_wins_over_legacy_and_legacy_needs_a_nested_key() -> None:
    env = {"SEAMLINE_RULES_INFLUX__TOKEN": "old", "SEAMLINE_RULES__INFLUX__TOKEN": "new",
           "SEAMLINE_RULES_TOKEN": "not-a-key"}
    assert env_overrides("rules", env, legacy_prefix="SEAMLINE_RULES_") == {"influx": {"token": "new"}}


def test_merge_keeps_the_files_other_keys() -> None:
    assert merged({"a": {"b": 1, "c": 2}, "d": 3}, {"a": {"b": "9"}}) == {"a": {"b": "9", "c": 2}, "d": 3}


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("influx: {password: from-file, url: http://db:8086}\n")
    data = load_service_yaml(path, "rules", environ={"SEAMLINE_RULES__INFLUX__PASSWORD": "from-env"})
    assert data == {"influx": {"password": "from-env", "url": "http://db:8086"}}


def test_a_file_error_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match=r"nope\.yaml: cannot read"):
        load_service_yaml(tmp_path / "nope.yaml", "edge", environ={})


@pytest.mark.parametrize("value", ["[unclosed s3cret", "{a: !!bool s3cret}", "[" + "9" * 4301 + "]"])
def test_a_variable_that_is_not_yaml_is_one_problem_naming_it(tmp_path: Path, value: str) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text("gateway: {id: gw1}\n")
    with pytest.raises(ConfigFileError) as exc:
        load_service_yaml(path, "edge", environ={"SEAMLINE_EDGE__MACHINES": value})
    assert exc.value.problems[0].startswith("environment variable SEAMLINE_EDGE__MACHINES: ")
    assert "not valid YAML" in str(exc.value) and "s3cret" not in str(exc.value)
