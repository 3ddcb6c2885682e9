"""Every platform service connects to the secured broker (`broker-config`) with TLS and its own
identity: rules publishes capacity and reads bookings as svc/rules, `seamline match --broker
mqtts://…` reads capacity and publishes its plan as svc/matching (certificate, or user name with
the password from a file or the environment), ingest's subscriber receives a gateway's telemetry
as svc/ingest. Without its identity a service is refused with one line and a non-zero exit, and
no error shows a password. A capacity message that no real line can offer (efficiency 1.5,
10⁹ free standard minutes), injected past the broker's ACL through a compromised rules identity,
is ignored by matching with a reason and wins nothing."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest

from seamline.cli import main
from seamline.contracts.messages import CapacityDay, CapacityMessage
from seamline.contracts.topic import MessageKind, Topic
from seamline.ingest.config import MqttConfig as IngestMqtt
from seamline.ingest.subscriber import MqttSubscriber
from seamline.mqtt_identity import MqttIdentity
from seamline.rules.bookings import MqttBookingsReader
from seamline.rules.mqtt_publisher import MqttPublisher
from tests.support.mqtt_probe import probe, wait_until
from tests.support.secure_cluster import GATEWAY_A, SecureBroker

pytestmark = pytest.mark.integration
TODAY = date(2030, 1, 7)
GENUINE = ("f001", "s1", "l1")
FORGED = ("f002", "s1", "l9")


def identity(b: SecureBroker, service: str) -> MqttIdentity:
    folder = b.pki / "services" / service
    return MqttIdentity(tls_ca=folder / "ca.pem", tls_cert=folder / "cert.pem", tls_key=folder / "key.pem")


def cert_args(b: SecureBroker, service: str) -> list[str]:
    folder = b.pki / "services" / service
    return ["--tls-ca", str(folder / "ca.pem"), "--tls-cert", str(folder / "cert.pem"),
            "--tls-key", str(folder / "key.pem")]


def capacity(where: tuple[str, str, str], *, efficiency: float, free: float) -> CapacityMessage:
    e, s, line = where
    return CapacityMessage(
        enterprise=e, site=s, line=line, generated_ts_ms=1_893_974_400_000, categories=["tshirt"],
        operators=10, efficiency=efficiency, confidence=1.0,
        days=[CapacityDay(day=TODAY + timedelta(days=k), available_std_min=free, booked_std_min=0,
                          free_std_min=free) for k in range(3)],
    )


def publish_capacity(b: SecureBroker) -> None:
    """Genuine capacity and a forged message, both as svc/rules: the forged one passes the ACL."""
    with MqttPublisher(host="localhost", port=b.port, client_id="rules-test", identity=identity(b, "rules")) as pub:
        for where, msg in ((GENUINE, capacity(GENUINE, efficiency=0.6, free=3000.0)),
                           (FORGED, capacity(FORGED, efficiency=1.5, free=1e9))):
            topic = Topic.line(enterprise=where[0], site=where[1], line=where[2], kind=MessageKind.CAPACITY)
            pub.publish(str(topic), msg.model_dump_json().encode(), qos=1, retain=True)
        assert pub.published == 2


def orders(tmp_path: Path) -> Path:
    # 1 000 pieces × 10 std-min = 10 000 std-min due in 3 days: more than the genuine line's
    # 3 × 3 000, so a believed forged line (10⁹ a day) would take the rest.
    p = tmp_path / "orders.csv"
    p.write_text("order_id,buyer,category,sam_min,quantity,due\nPO-1,acme,tshirt,10,1000,2030-01-09\n")
    return p


def test_match_with_its_certificate_ignores_forged_capacity(secure_broker: SecureBroker, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    publish_capacity(secure_broker)
    capsys.readouterr()
    rc = main(["match", "--orders", str(orders(tmp_path)), "--broker", f"mqtts://localhost:{secure_broker.port}",
               *cert_args(secure_broker, "matching"), "--json", "--today", TODAY.isoformat(), "--publish"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    plan = json.loads(out[: out.rindex("}") + 1])
    lines = {(a["enterprise"], a["site"], a["line"]) for a in plan["allocations"]}
    assert lines == {GENUINE}
    assert sum(a["pieces"] for a in plan["allocations"]) == 900
    assert "f002/s1/l9: implausible capacity ignored: efficiency 1.5 outside (0, 1.2]" in err
    assert "published plan" in err
    # rules reads the plan's bookings back with its own identity
    bookings = MqttBookingsReader(host="localhost", port=secure_broker.port, client_id="rules-bookings",
                                  identity=identity(secure_broker, "rules")).read()
    assert bookings.messages >= 1 and bookings.lines_booked == 1


def test_match_without_identity_fails_with_one_line(secure_broker: SecureBroker, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    ca = secure_broker.pki / "services" / "matching" / "ca.pem"
    for extra in ([], ["--tls-ca", str(ca)]):
        rc = main(["match", "--orders", str(orders(tmp_path)), "--broker", f"mqtts://localhost:{secure_broker.port}",
                   *extra, "--today", TODAY.isoformat()])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 1
        assert len(err) == 1 and err[0].startswith("seamline match: no capacity: cannot connect to mqtts://localhost")
        assert "no_eligible_factory" not in err[0]


def test_rules_publisher_refused_without_certificate(secure_broker: SecureBroker) -> None:
    from seamline.rules.mqtt_publisher import PublishError

    ca_only = MqttIdentity(tls_ca=secure_broker.pki / "ca" / "ca.pem")
    with pytest.raises(PublishError, match="cannot connect"), \
            MqttPublisher(host="localhost", port=secure_broker.port, client_id="x", identity=ca_only):
        pass


def test_match_with_password_from_env_or_file(password_broker: SecureBroker, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    folder = password_broker.pki / "services" / "matching"
    secret = password_broker.password(folder)
    base = ["match", "--orders", str(orders(tmp_path)), "--today", TODAY.isoformat(), "--tls-ca",
            str(folder / "ca.pem"), "--username", "svc/matching"]
    url = f"mqtts://localhost:{password_broker.port}"
    monkeypatch.setenv("MATCHING_MQTT_PASSWORD", secret)
    assert main([*base, "--broker", url, "--password-env", "MATCHING_MQTT_PASSWORD"]) == 0
    assert main([*base, "--broker", url, "--password-file", str(folder / "password")]) == 0
    capsys.readouterr()
    wrong = "wrong-" + secret[::-1]
    (tmp_path / "wrong").write_text(wrong)
    assert main([*base, "--broker", url, "--password-file", str(tmp_path / "wrong")]) == 1
    err = capsys.readouterr().err
    assert "Not authorized" in err and len(err.strip().splitlines()) == 1
    # a password in the URL is refused without being shown
    assert main([*base[:-2], "--broker", f"mqtts://svc%2Fmatching:{secret}@localhost:{password_broker.port}"]) == 2
    err = capsys.readouterr().err
    assert "no password in the URL" in err
    for s in (secret, wrong):
        assert s not in err


def test_ingest_subscriber_with_its_certificate(secure_broker: SecureBroker) -> None:
    folder = secure_broker.pki / "services" / "ingest"
    cfg = IngestMqtt(host="localhost", port=secure_broker.port, client_id="ingest-1", tls_ca=folder / "ca.pem",
                     tls_cert=folder / "cert.pem", tls_key=folder / "key.pem", share_group="identity-test")
    got: list[str] = []
    lock = threading.Lock()

    def on_message(topic: str, _payload: bytes, _mid: int, _qos: int, _gen: int) -> None:
        with lock:
            got.append(topic)

    sub = MqttSubscriber(cfg, on_message)
    sub.start()
    try:
        assert sub.connected.wait(10), "ingest did not connect with its certificate"
        e, s, g = GATEWAY_A
        topic = f"seamline/v1/{e}/{s}/line42/m001/data"
        with probe(secure_broker.port, secure_broker.gateway(e, s, g)) as gw:
            wait_until(lambda: gw.publish(topic, b'{"seq": 1}') == 0 or bool(got), what="delivered to ingest")
        wait_until(lambda: topic in got, what="ingest received the gateway's message")
    finally:
        sub.stop()
