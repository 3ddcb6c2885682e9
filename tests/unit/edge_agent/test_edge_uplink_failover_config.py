"""uplink.brokers (a failover list of a broker cluster's nodes) and uplink.protocol: validated by the
config, carried into the pydantic-free settings and the uplink's own settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from seamline.edge_agent.cli import summary
from seamline.edge_agent.config import ConfigError, parse_address, parse_config
from seamline.edge_agent.service import build_uplink
from seamline.edge_agent.uplink import UplinkSettings

SAMPLE = Path(__file__).resolve().parents[3] / "edge_agent" / "edge.sample.yaml"
PATH = Path("/etc/seamline/edge.yaml")


def sample() -> dict[str, Any]:
    data = yaml.safe_load(SAMPLE.read_text())
    assert isinstance(data, dict)
    return data


def with_brokers(brokers: object, **uplink: object) -> dict[str, Any]:
    data = sample()
    data["uplink"].pop("host", None)
    data["uplink"].pop("port", None)
    data["uplink"].update({"brokers": brokers, **uplink})
    return data


def problems(data: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, path=PATH)
    return str(info.value).splitlines()


def test_failover_list_reaches_the_runtime_settings_in_order() -> None:
    cfg = parse_config(with_brokers(["nats-a:1883", "10.0.0.2:1884", "[fd00::3]:1885"], protocol="3.1.1"), path=PATH)
    up = cfg.settings().uplink
    assert up.brokers == (("nats-a", 1883), ("10.0.0.2", 1884), ("fd00::3", 1885))
    assert (up.host, up.port) == ("nats-a", 1883)
    assert up.protocol == "3.1.1"
    assert "nats-a:1883, 10.0.0.2:1884, fd00::3:1885 MQTT 3.1.1" in summary(cfg, PATH)


def test_single_host_is_a_list_of_one_and_mqtt5_by_default() -> None:
    cfg = parse_config(sample(), path=PATH)
    up = cfg.settings().uplink
    assert up.brokers == ((cfg.uplink.host, cfg.uplink.port),)
    assert up.protocol == "5"


@pytest.mark.parametrize("bad", ["nats-a", "nats-a:0", "nats-a:65536", ":1883", "nats a:1883", "h:12x"])
def test_bad_address_names_the_key(bad: str) -> None:
    [line] = problems(with_brokers(["ok:1883", bad]))
    assert "edge.yaml: uplink.brokers: " in line
    assert repr(bad) in line


def test_host_and_brokers_together_or_neither_are_refused() -> None:
    both = with_brokers(["a:1883"], host="b")
    neither = sample()
    del neither["uplink"]["host"]
    for data in (both, neither):
        [line] = problems(data)
        assert "uplink.host (and port) or uplink.brokers" in line


def test_duplicate_broker_and_unknown_protocol() -> None:
    assert "listed twice" in problems(with_brokers(["a:1883", "a:1883"]))[0]
    [line] = problems(with_brokers(["a:1883"], protocol="3"))
    assert "edge.yaml: uplink.protocol: " in line


def test_parse_address() -> None:
    assert parse_address(" broker.local:8883 ") == ("broker.local", 8883)
    assert parse_address("[::1]:1883") == ("::1", 1883)
    with pytest.raises(ValueError):
        parse_address("[::1]")


def test_uplink_settings_carry_the_list() -> None:
    s = UplinkSettings(host="a", port=1, brokers=(("a", 1), ("b", 2)), protocol="3.1.1", client_id="c")
    assert s.addresses == (("a", 1), ("b", 2)) and not s.v5
    assert UplinkSettings(host="a", port=1, client_id="c").addresses == (("a", 1),)
    with pytest.raises(ValueError, match="protocol"):
        UplinkSettings(host="a", port=1, client_id="c", protocol="4")
    with pytest.raises(ValueError, match="port"):
        UplinkSettings(host="a", port=1, brokers=(("a", 1), ("b", 0)), client_id="c")


def test_service_builds_the_uplink_with_the_list(tmp_path: Path) -> None:
    data = with_brokers(["a:1883", "b:1884"], protocol="3.1.1")
    for key in ("tls_ca", "tls_cert", "tls_key"):
        data["uplink"].pop(key, None)
    cfg = parse_config(data, path=PATH).settings()

    class _Agent:
        def status_message(self, *_: object, **__: object) -> object:
            return None

        def birth_messages(self) -> list[object]:
            return []

    uplink = build_uplink(cfg, spool=None, agent=_Agent())  # type: ignore[arg-type]
    assert uplink._s.addresses == (("a", 1883), ("b", 1884))
    assert uplink._s.protocol == "3.1.1"
