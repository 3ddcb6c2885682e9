"""Secrets come from files or the environment and are never echoed: seamline.secret_source, the
MQTT identity model, and the two leaks issue 12 found (edge check-config with a numeric password,
a malformed InfluxDB URL with user:password)."""

from __future__ import annotations

from pathlib import Path

import pytest

from seamline.cli import main
from seamline.mqtt_identity import MqttIdentity
from seamline.secret_source import SecretSourceError, redact_url, resolve_secret, url_problem

SECRET = "s3cret-98765432109"


def test_secret_from_file_env_or_value(tmp_path: Path) -> None:
    f = tmp_path / "pw"
    f.write_text(SECRET + "\n")
    assert resolve_secret(file=f, what="x").get_secret_value() == SECRET  # type: ignore[union-attr]
    assert resolve_secret(env="PW", environ={"PW": SECRET}, what="x").get_secret_value() == SECRET  # type: ignore[union-attr]
    assert resolve_secret(value=SECRET, what="x").get_secret_value() == SECRET  # type: ignore[union-attr]
    assert resolve_secret(what="x") is None


@pytest.mark.parametrize("kwargs", [
    {"value": 98765432109},
    {"value": "a", "file": "/nonexistent"},
    {"file": "/nonexistent/s3cret-98765432109"},
    {"env": "UNSET_VAR_FOR_TEST"},
])
def test_secret_errors_never_show_the_value(kwargs: dict[str, object]) -> None:
    with pytest.raises(SecretSourceError) as exc:
        resolve_secret(what="mqtt.password", environ={}, **kwargs)  # type: ignore[arg-type]
    assert "98765432109" not in str(exc.value).replace("/nonexistent/s3cret-98765432109", "")


def test_empty_secret_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("\n")
    with pytest.raises(SecretSourceError, match="is empty"):
        resolve_secret(file=tmp_path / "pw", what="x")


@pytest.mark.parametrize(("url", "shown"), [
    ("http://admin:pw@db:8086/x", "http://***@db:8086/x"),
    ("mqtt://u:pw@h", "mqtt://***@h"),
    ("http://h:8086", "http://h:8086"),
    ("u:pw@h", "***@h"),
])
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_url_problem_never_quotes_the_url() -> None:
    for url in ("http://admin:s3cret@db:80x86", "ftp://admin:s3cret@db", "http://admin:s3cret@db:8086"):
        why = url_problem(url, schemes=("http", "https"))
        assert why is not None and "s3cret" not in why
    assert url_problem("http://admin:s3cret@db:8086", schemes=("http",), credentials_ok=True) is None


def test_mqtt_identity_reads_the_password_file_and_hides_it(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text(SECRET)
    ident = MqttIdentity.model_validate({"username": "svc/rules", "password_file": str(tmp_path / "pw")})
    assert ident.password is not None and ident.password.get_secret_value() == SECRET
    assert SECRET not in repr(ident) and SECRET not in ident.describe()
    with pytest.raises(ValueError, match="tls_cert and tls_key"):
        MqttIdentity(tls_cert=tmp_path / "c.pem")


def test_edge_check_config_does_not_echo_a_numeric_password(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "edge.yaml"
    cfg.write_text("gateway: {enterprise: f001, site: s1, id: gw01}\n"
                   "uplink: {host: 127.0.0.1, password: 98765432109}\n")
    assert main(["edge", "check-config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "uplink.password: expected a string" in err
    assert "98765432109" not in err


def test_malformed_influx_url_is_one_line_without_credentials(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "ingest.yaml"
    cfg.write_text('influx:\n  url: "http://admin:s3cretpw@127.0.0.1:80x86"\n')
    assert main(["db", "init", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "influx.url" in err and "Traceback" not in err
    assert "s3cretpw" not in err and "admin" not in err


def test_influx_password_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from seamline.storage.config import InfluxConfig

    monkeypatch.setenv("TEST_INFLUX_PW", SECRET)
    cfg = InfluxConfig.model_validate({"username": "ingest", "password_env": "TEST_INFLUX_PW"})
    assert cfg.password is not None and cfg.password.get_secret_value() == SECRET
    assert SECRET not in repr(cfg)
