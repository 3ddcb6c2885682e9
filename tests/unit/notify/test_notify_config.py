from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from seamline.notify.config import ConfigError, DingTalkChannel, parse_config


def _raw(**over: Any) -> dict[str, Any]:
    return {
        "channels": {
            "ding": {"type": "dingtalk", "token": {"env": "DING_TOKEN"}, "secret": {"file": "ding.secret"}},
            "mail": {"type": "email", "host": "smtp.example.com", "from": "a@example.com", "to": ["b@example.com"],
                     "password": {"value": "pw"}, "username": "a", "language": "en"},
        },
        "routes": [{"receiver": "f00*", "severities": ["critical"], "channels": ["ding"]},
                   {"receiver": "*", "channels": ["mail", "ding"]}],
    } | over


def test_secrets_from_env_file_and_value_defaults_from_the_vendor(tmp_path: Path) -> None:
    (tmp_path / "ding.secret").write_text("SECfromfile\n")
    cfg = parse_config(_raw(), source="n.yaml", env={"DING_TOKEN": "tok-7f3a"}, base_dir=tmp_path)
    ding = cfg.channels["ding"]
    assert isinstance(ding, DingTalkChannel)
    assert ding.token.get_secret_value() == "tok-7f3a" and ding.secret is not None
    assert ding.secret.get_secret_value() == "SECfromfile"
    assert ding.rate_limit.messages == 20 and ding.rate_limit.per_s == 60  # DingTalk's documented limit
    assert ding.base_url == "https://oapi.dingtalk.com"
    assert "tok-7f3a" not in repr(cfg) and "SECfromfile" not in repr(cfg)
    assert cfg.outbox.path == tmp_path / "notify-outbox.sqlite"


def test_routes_union_in_order_with_patterns_and_severities(tmp_path: Path) -> None:
    (tmp_path / "ding.secret").write_text("s")
    cfg = parse_config(_raw(), source="n.yaml", env={"DING_TOKEN": "t"}, base_dir=tmp_path)
    assert cfg.channels_for("f001", "critical") == ["ding", "mail"]
    assert cfg.channels_for("f001", "warning") == ["mail", "ding"]
    assert cfg.channels_for("x9", None) == ["mail", "ding"]


def test_a_missing_env_var_names_the_variable_and_the_key_not_a_value(tmp_path: Path) -> None:
    (tmp_path / "ding.secret").write_text("s")
    with pytest.raises(ConfigError) as err:
        parse_config(_raw(), source="n.yaml", env={}, base_dir=tmp_path)
    assert "n.yaml: channels.ding" in str(err.value) and "DING_TOKEN is not set" in str(err.value)


def test_unreadable_secret_file_and_unknown_route_channel_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read secret file"):
        parse_config(_raw(), source="n.yaml", env={"DING_TOKEN": "t"}, base_dir=tmp_path)
    (tmp_path / "ding.secret").write_text("s")
    bad = _raw(routes=[{"receiver": "*", "channels": ["nope"]}])
    with pytest.raises(ConfigError, match=r"unknown channels \['nope'\]"):
        parse_config(bad, source="n.yaml", env={"DING_TOKEN": "t"}, base_dir=tmp_path)


def test_the_sample_config_is_valid(tmp_path: Path) -> None:
    from seamline.configfile import read_yaml_mapping

    sample = Path(__file__).resolve().parents[3] / "notify" / "notify.sample.yaml"
    raw = read_yaml_mapping(sample)
    env = {k: "x" for k in ("SEAMLINE_NOTIFY_TOKEN", "F001_DINGTALK_TOKEN", "F001_DINGTALK_SECRET",
                             "F002_WECOM_KEY", "PARK_FEISHU_TOKEN", "PARK_FEISHU_SECRET", "SMTP_PASSWORD",
                             "OPS_WEBHOOK_SECRET", "SLACK_APPRISE_URL")}
    cfg = parse_config(raw, source=str(sample), env=env, base_dir=tmp_path)
    assert set(cfg.channels) >= {"f001-dingtalk", "f002-wecom", "park-feishu", "ops-email", "ops-webhook"}
