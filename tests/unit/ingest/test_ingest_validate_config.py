"""Config loading: errors name file, key and expectation; secrets never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from seamline.errors import UsageError
from seamline.ingest.config import load_config
from seamline.ingest.subscriber import topic_filters

REPO = Path(__file__).resolve().parents[3]


def test_sample_config_is_valid_and_relative_paths_follow_the_file() -> None:
    config = load_config(REPO / "ingest" / "ingest.sample.yaml")
    assert config.mqtt.protocol == "3.1.1"
    assert config.quarantine.path == REPO / "ingest" / "ingest-quarantine.sqlite"
    assert config.batch_max_messages == 500
    assert topic_filters(config.mqtt) == [
        "$share/ingest/seamline/v1/+/+/+/+/data",
        "$share/ingest/seamline/v1/+/+/+/+/state",
        "$share/ingest/seamline/v1/+/+/+/+/birth",
        "$share/ingest/seamline/v1/+/+/+/+/status",
    ]


def test_errors_name_file_and_key_without_the_secret(tmp_path: Path) -> None:
    path = tmp_path / "ingest.yaml"
    path.write_text(
        "mqtt:\n  port: 99999\n  password: hunter2\n  share_group: 'a/b'\nbatch: {max_lines: x}\nextra: 1\n"
    )
    with pytest.raises(UsageError) as info:
        load_config(path)
    text = str(info.value)
    assert f"{path}: mqtt.port: Input should be less than or equal to 65535" in text
    assert f"{path}: batch.max_lines:" in text
    assert f"{path}: extra: Extra inputs are not permitted" in text
    assert "hunter2" not in text


def test_unshared_subscription_and_secret_repr(tmp_path: Path) -> None:
    path = tmp_path / "ingest.yaml"
    path.write_text("mqtt: {shared: false, kinds: [data], password: s3cret}\ninflux: {token: t0ken}\n")
    config = load_config(path)
    assert topic_filters(config.mqtt) == ["seamline/v1/+/+/+/+/data"]
    assert "s3cret" not in repr(config) and "t0ken" not in repr(config)


@pytest.mark.parametrize(("text", "needle"), [("[1, 2]", "expected a mapping"), ("a: [", "not valid YAML")])
def test_unreadable_configs(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=needle):
        load_config(path)
    with pytest.raises(UsageError, match=r"missing\.yaml: cannot read"):
        load_config(tmp_path / "missing.yaml")
