"""One ``influx:`` block for ingest and rules: same keys, same model, older keys still load, and the
writer and query client it opens for 1.x and for 2.x/3.x."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from seamline.errors import UsageError
from seamline.ingest.config import load_config as load_ingest
from seamline.rules.config import ConfigError
from seamline.rules.config import load_config as load_rules
from seamline.storage.config import InfluxConfig
from seamline.storage.connect import point_writer, query_client
from seamline.storage.schema import Retention

REPO = Path(__file__).resolve().parents[3]
BLOCK = {"version": 2, "url": "https://influx.example:8086", "database": "plant", "raw_rp": "telemetry",
         "kpi_rp": "derived", "org": "acme", "token": "tok-123", "timeout_s": 5, "query_timeout_s": 60}


def _write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc))
    return path


def test_the_same_block_loads_into_ingest_and_rules(tmp_path: Path) -> None:
    ingest = load_ingest(_write(tmp_path / "ingest.yaml", {"influx": BLOCK}))
    rules = load_rules(_write(tmp_path / "rules.yaml", {"master_data": "m.yaml", "influx": BLOCK}))
    assert ingest.influx == rules.influx == InfluxConfig.model_validate(BLOCK)
    c = rules.influx
    assert (c.bucket(Retention.RAW), c.bucket(Retention.KPI)) == ("plant/telemetry", "plant/derived")
    assert (c.rp(Retention.RAW), c.rp(Retention.KPI)) == ("telemetry", "derived")
    assert "tok-123" not in repr(ingest) + repr(rules)


def test_the_samples_and_the_demo_configs_load(tmp_path: Path) -> None:
    from seamline.demo import configs, platform
    from seamline.demo.secured import DemoSecurity

    ingest = load_ingest(REPO / "ingest" / "ingest.sample.yaml").influx
    rules = load_rules(REPO / "rules" / "rules.sample.yaml").influx
    assert ingest == rules  # the samples show the one shared block
    demo_ingest = configs.ingest_config(workdir=tmp_path, worker=1, broker_port=1883, influx_url="http://127.0.0.1:1")
    assert load_ingest(_write(tmp_path / "i.yaml", demo_ingest)).influx.raw_rp == "raw"
    run = SimpleNamespace(options=SimpleNamespace(speed=60.0, energy_poll_s=30.0),
                          stack=SimpleNamespace(influx=SimpleNamespace(url="http://127.0.0.1:2"), workdir=tmp_path,
                                                central=SimpleNamespace(port=1883), security=None))
    demo_rules = load_rules(platform.rules_config(run, tmp_path / "master.yaml"))  # type: ignore[arg-type]
    assert (demo_rules.influx.raw_rp, demo_rules.influx.kpi_rp) == ("raw", "kpi")
    # the secured demo's configs name secret files; loading reads them
    sec = DemoSecurity(root=tmp_path / "secrets", broker_port=8883)
    sec.influx_passwords.mkdir(parents=True)
    for user in ("ingest", "rules"):
        (sec.influx_passwords / f"{user}.password").write_text(f"pw-{user}\n")
    for service in ("ingest-1", "rules"):  # ingest and rules check their TLS files exist
        sec.service_folder(service).mkdir(parents=True)
        for name in ("ca.pem", "cert.pem", "key.pem"):
            (sec.service_folder(service) / name).write_text("-\n")
    secured_ingest = configs.ingest_config(workdir=tmp_path, worker=1, broker_port=8883, influx_url="http://h:1",
                                           mqtt_identity=sec.service_mqtt("ingest-1"),
                                           influx_user=sec.influx_user("ingest"))
    loaded = load_ingest(_write(tmp_path / "si.yaml", secured_ingest))
    assert loaded.mqtt.uses_tls and loaded.mqtt.tls_cert == sec.service_folder("ingest-1") / "cert.pem"
    assert loaded.influx.password is not None and loaded.influx.password.get_secret_value() == "pw-ingest"
    run.stack.security = sec
    secured_rules = load_rules(platform.rules_config(run, tmp_path / "master.yaml"))  # type: ignore[arg-type]
    assert secured_rules.mqtt.port == 8883 and secured_rules.influx.username == "rules"
    assert "pw-rules" not in (tmp_path / "config" / "rules.yaml").read_text()


def test_older_keys_still_load() -> None:
    old_ingest = InfluxConfig.model_validate({"version": 2, "retention_policy": "r1", "bucket": "b1", "token": "t"})
    assert old_ingest.raw_rp == "r1" and old_ingest.bucket(Retention.RAW) == "b1"
    assert old_ingest.bucket(Retention.KPI) == "seamline/kpi"
    old_rules = InfluxConfig.model_validate({"raw_rp": "raw", "kpi_rp": "kpi", "timeout_s": 30})
    assert old_rules.query_timeout_s == 30.0 and old_rules.timeout_s == 30.0


@pytest.mark.parametrize(
    ("block", "needle"),
    [
        ({"version": 2}, "influx: Value error, version 2 needs a token"),
        ({"url": "ftp://x"}, "influx.url: String should match pattern"),
        ({"raw_duration": "ninety days"}, "influx.raw_duration: Value error, not a duration"),
        ({"retention_policy": "a", "raw_rp": "b"}, "influx.retention_policy: Extra inputs are not permitted"),
        ({"version": 3}, "influx.version: Input should be 1 or 2"),
    ],
)
def test_errors_name_the_key_and_never_the_secret(tmp_path: Path, block: dict[str, Any], needle: str) -> None:
    block = {**block, "password": "hunter2"}
    with pytest.raises(UsageError) as ingest_err:
        load_ingest(_write(tmp_path / "ingest.yaml", {"influx": block}))
    with pytest.raises(ConfigError) as rules_err:
        load_rules(_write(tmp_path / "rules.yaml", {"master_data": "m.yaml", "influx": block}))
    for text in (str(ingest_err.value), str(rules_err.value)):
        assert needle in text and "hunter2" not in text


def test_rules_token_can_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEAMLINE_RULES_INFLUX__TOKEN", "from-env")
    cfg = load_rules(_write(tmp_path / "rules.yaml", {"master_data": "m.yaml", "influx": {"version": 2}}))
    assert cfg.influx.token is not None and cfg.influx.token.get_secret_value() == "from-env"


def test_v1_opens_write_and_query_with_user_credentials() -> None:
    c = InfluxConfig.model_validate({"url": "http://db:8086", "database": "plant", "username": "u",
                                     "password": "pw", "kpi_rp": "derived"})
    raw, kpi = point_writer(c, Retention.RAW), point_writer(c, Retention.KPI)
    assert type(raw).__name__ == "InfluxV1Writer"
    assert repr(raw).endswith("db=plant rp=raw)") and repr(kpi).endswith("db=plant rp=derived)")
    client = query_client(c)
    assert client._headers["Authorization"].startswith("Basic ") and client.timeout_s == 30.0
    raw.close()
    kpi.close()


def test_v2_writes_to_the_policy_bucket_and_queries_with_the_token() -> None:
    c = InfluxConfig.model_validate({**BLOCK, "kpi_bucket": "kpis"})
    raw, kpi = point_writer(c, Retention.RAW), point_writer(c, Retention.KPI)
    assert type(raw).__name__ == "InfluxV2Writer"
    assert repr(raw).endswith("org=acme bucket=plant/telemetry)") and repr(kpi).endswith("bucket=kpis)")
    client = query_client(c)
    assert client._headers == {"Authorization": "Token tok-123"} and client.timeout_s == 60.0
    assert "tok-123" not in repr(raw) + repr(kpi) + repr(client)
    raw.close()
    kpi.close()
