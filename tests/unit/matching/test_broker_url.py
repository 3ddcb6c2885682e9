"""`seamline match --broker`: mqtt:// or mqtts:// (TLS, port 8883 by default), a user name from the
URL, never a password (refused without being shown)."""

from __future__ import annotations

import pytest

from seamline.errors import UsageError
from seamline.matching.retained import broker_address, url_identity
from seamline.mqtt_identity import MqttIdentity


@pytest.mark.parametrize(("url", "address"), [
    ("mqtt://h", ("h", 1883)), ("tcp://h:1999", ("h", 1999)), ("mqtts://h", ("h", 8883)),
    ("ssl://h:9000", ("h", 9000)), ("mqtts://svc%2Fmatching@h", ("h", 8883)),
])
def test_addresses(url: str, address: tuple[str, int]) -> None:
    assert broker_address(url) == address


@pytest.mark.parametrize("url", ["http://h", "mqtt://", "mqtt://h:port", "mqtt://u:s3cret@h:1883"])
def test_refused_without_showing_a_password(url: str) -> None:
    with pytest.raises(UsageError) as exc:
        broker_address(url)
    assert "s3cret" not in str(exc.value)


def test_url_completes_the_identity() -> None:
    ident = url_identity("mqtts://svc@h", None)
    assert ident.uses_tls and ident.username == "svc"
    given = MqttIdentity(username="other", tls=True)
    assert url_identity("mqtts://svc@h", given) is given
    assert not url_identity("mqtt://h", None).uses_tls


def test_capacity_endpoint_never_runs_without_a_token(capsys: pytest.CaptureFixture[str]) -> None:
    from seamline.cli import main

    assert main(["capacity-endpoint", "--listen", "127.0.0.1:0"]) == 2
    assert "never runs without a token" in capsys.readouterr().err
    assert main(["capacity-endpoint", "--token-env", "UNSET_TOKEN_VAR_FOR_TEST"]) == 2
    assert "UNSET_TOKEN_VAR_FOR_TEST is not set" in capsys.readouterr().err
