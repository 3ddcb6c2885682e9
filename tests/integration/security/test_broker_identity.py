"""Who gets in: a real Mosquitto configured by `seamline broker-config` (client certificates
required) refuses anonymous clients, certificates from another CA, expired certificates and
borrowed user names, and lets every issued gateway and service in under its own identity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from seamline.security import pki
from seamline.security.identity import GatewayIdentity
from seamline.security.pki_store import PkiStore
from tests.support.mqtt_probe import Credentials, attempt, probe, wait_until
from tests.support.secure_cluster import GATEWAY_A, GATEWAY_B, GATEWAY_C, SERVICES, SecureBroker, cli, start_broker

pytestmark = pytest.mark.integration


def test_anonymous_client_is_refused(secure_broker: SecureBroker) -> None:
    ca = secure_broker.pki / "ca" / "ca.pem"
    mark = secure_broker.log_mark()
    no_cert = attempt(secure_broker.port, Credentials(ca=ca))
    assert not no_cert.connected, no_cert
    # A user name and password instead of a certificate: still no.
    rules_pw = secure_broker.password(secure_broker.pki / "services" / "rules")
    borrowed = attempt(secure_broker.port, Credentials(ca=ca, username="svc/rules", password=rules_pw))
    assert not borrowed.connected, borrowed
    log = secure_broker.log_since(mark)
    assert log.count("peer did not return a certificate") >= 2, log
    assert "New client connected" not in log


def test_certificate_from_another_ca_is_refused(secure_broker: SecureBroker, tmp_path: Path) -> None:
    """An attacker's own CA issues a certificate with gateway A's exact identity (same CN and URI)."""
    rogue = tmp_path / "rogue-pki"
    cli("pki", "init", "--dir", rogue, "--cluster", "test")
    e, s, g = GATEWAY_A
    cli("pki", "issue", "--dir", rogue, "gateway", g, "--enterprise", e, "--site", s)
    forged = Credentials.from_folder(rogue / "gateways" / e / s / g, ca=secure_broker.pki / "ca" / "ca.pem")
    mark = secure_broker.log_mark()
    outcome = attempt(secure_broker.port, forged)
    assert not outcome.connected, outcome
    log = secure_broker.log_since(mark)
    assert "certificate verify failed" in log and "New client connected" not in log, log


def test_expired_certificate_is_refused(secure_broker: SecureBroker, tmp_path: Path) -> None:
    """Signed by the real CA, right identity, but its validity ended yesterday."""
    store = PkiStore(secure_broker.pki)
    ca_key = pki.load_key(store.ca_key_path.read_bytes())
    now = datetime.now(UTC)
    key = pki.new_key()
    e, s, g = GATEWAY_A
    cert = pki.issue_client(ca_cert=store.ca_cert(), ca_key=ca_key, public_key=key.public_key(),
                            identity=GatewayIdentity(enterprise=e, site=s, gateway_id=g),
                            validity=pki.Validity(now - timedelta(days=30), now - timedelta(days=1)))
    expired = f"expired {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
    assert pki.problems(cert, ca_cert=store.ca_cert(), now=now) == [expired]
    (tmp_path / "cert.pem").write_bytes(pki.cert_pem(cert))
    (tmp_path / "key.pem").write_bytes(pki.key_pem(key))
    mark = secure_broker.log_mark()
    outcome = attempt(secure_broker.port, Credentials.from_folder(tmp_path, ca=store.ca_cert_path))
    assert not outcome.connected, outcome
    log = secure_broker.log_since(mark)
    assert "certificate verify failed" in log and "New client connected" not in log, log


def test_every_issued_identity_gets_in(secure_broker: SecureBroker) -> None:
    for gw in (GATEWAY_A, GATEWAY_B, GATEWAY_C):
        outcome = attempt(secure_broker.port, secure_broker.gateway(*gw))
        assert outcome.connected, (gw, outcome)
    for name in SERVICES:
        outcome = attempt(secure_broker.port, secure_broker.service(name))
        assert outcome.connected, (name, outcome)


def test_a_client_cannot_take_over_another_identitys_session(secure_broker: SecureBroker) -> None:
    """Gateway A connects with gateway B's client id; the broker replaces it with A's identity
    (use_username_as_clientid), so B stays connected and its Last Will is not fired."""
    with probe(secure_broker.port, secure_broker.gateway(*GATEWAY_B), client_id="gw/f002/s1/gw01") as b:
        with probe(secure_broker.port, secure_broker.gateway(*GATEWAY_A), client_id="gw/f002/s1/gw01") as a:
            # B can still publish on its own topic: its connection survived A's CONNECT.
            assert b.publish("seamline/v1/f002/s1/line01/m001/data", b"{}") in (0, 0x10)
            assert a.state.connected and b.state.connected
        wait_until(lambda: not a.client.is_connected(), what="A disconnected")
        assert b.client.is_connected()


def test_without_client_id_binding_one_gateway_kicks_another(secure_broker: SecureBroker, tmp_path: Path) -> None:
    """The control for the test above: `--no-bind-client-id` lets A push B off with B's client id."""
    loose = start_broker(tmp_path, "--no-bind-client-id", pki=secure_broker.pki)
    try:
        with probe(loose.port, loose.gateway(*GATEWAY_B), client_id="edge-gw01") as b, \
                probe(loose.port, loose.gateway(*GATEWAY_A), client_id="edge-gw01"):
            wait_until(lambda: not b.client.is_connected(), what="B disconnected by A's CONNECT")
    finally:
        loose.broker.stop()
