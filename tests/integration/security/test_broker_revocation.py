"""Revocation, renewal and the CRL's own expiry, against a real Mosquitto: the procedure in
security/README.md (`pki revoke`, `broker-config`, SIGHUP) shuts a stolen certificate out, a
renewed certificate works at once, and a CRL left to expire locks everyone out until
`pki renew` re-signs it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from seamline.security.identity import GatewayIdentity
from seamline.security.pki_store import BrokerSpec, PkiStore
from tests.support.mqtt_probe import ACCEPTED, Credentials, attempt, probe, wait_until
from tests.support.secure_cluster import GATEWAY_A, GATEWAY_B, GATEWAY_C, MASTER, SecureBroker, cli, start_broker

pytestmark = pytest.mark.integration


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[SecureBroker]:
    b = start_broker(tmp_path)
    yield b
    b.broker.stop()


def stolen_copy(b: SecureBroker, gw: tuple[str, str, str], dest: Path) -> Credentials:
    """What a thief has: the gateway's certificate and key as they were before revocation."""
    shutil.copytree(b.pki / "gateways" / gw[0] / gw[1] / gw[2], dest)
    return Credentials.from_folder(dest)


def test_revoked_certificate_is_refused_after_reload(broker: SecureBroker, tmp_path: Path) -> None:
    stolen = stolen_copy(broker, GATEWAY_A, tmp_path / "stolen")
    # A second revoked gateway, never connected, tells when the reload has happened: probing with
    # A's own copy before that would connect as A and take over the live session below.
    witness = stolen_copy(broker, GATEWAY_C, tmp_path / "witness")
    with probe(broker.port, stolen) as live:  # the thief is connected when the operator acts
        cli("pki", "revoke", "--dir", broker.pki, "gw/f001/s1/gw01")
        cli("pki", "revoke", "--dir", broker.pki, "gw/f001/s1/gw02")
        broker.rerender()
        broker.broker.reload()
        wait_until(lambda: not attempt(broker.port, witness).connected, what="broker re-read the CRL")
        assert not attempt(broker.port, stolen).connected
        # SIGHUP re-reads the CRL for new connections only: a live connection survives it ...
        assert live.client.is_connected()
        assert attempt(broker.port, broker.gateway(*GATEWAY_B)).connected  # everyone else unaffected
    # ... so the procedure restarts the broker, after which the stolen certificate stays out.
    broker.broker.restart()
    assert not attempt(broker.port, stolen).connected
    assert "gw/f001/s1/gw01" not in (broker.out / "acl").read_text()  # no rules either
    # The factory gets a replacement gateway under the same identity; the stolen copy stays refused.
    e, s, g = GATEWAY_A
    cli("pki", "issue", "--dir", broker.pki, "gateway", g, "--enterprise", e, "--site", s, "--master", MASTER)
    broker.rerender()
    broker.broker.reload()
    wait_until(lambda: attempt(broker.port, broker.gateway(*GATEWAY_A)).connected, what="replacement admitted")
    assert not attempt(broker.port, stolen).connected
    with probe(broker.port, broker.gateway(*GATEWAY_A)) as a:
        assert a.publish("seamline/v1/f001/s1/line01/m001/data", b"{}") in ACCEPTED


def test_renewed_certificate_connects_and_the_old_one_lasts_until_it_expires(broker: SecureBroker,
                                                                            tmp_path: Path) -> None:
    old = stolen_copy(broker, GATEWAY_B, tmp_path / "old")  # the gateway's files before renewal
    cli("pki", "renew", "--dir", broker.pki, "--before-days", "400")  # everything is due
    record = PkiStore(broker.pki).index().find("gw/f002/s1/gw01")
    assert record is not None and len(record.certs) == 2
    assert (broker.pki / "gateways/f002/s1/gw01/key.pem").read_bytes() != (tmp_path / "old/key.pem").read_bytes()
    broker.rerender()
    broker.broker.restart()  # the broker's own certificate was renewed too
    assert attempt(broker.port, broker.gateway(*GATEWAY_B)).connected
    assert attempt(broker.port, old).connected  # no gap while the new files are deployed


def test_an_expired_crl_locks_everyone_out_until_renew_resigns_it(tmp_path: Path) -> None:
    """OpenSSL treats a CRL past its nextUpdate as an error for every client certificate."""
    pki = tmp_path / "pki"
    PkiStore.init(pki, cluster="test", now=datetime.now(UTC) - timedelta(days=3), crl_days=1)
    make_pki_rest(pki)
    b = start_broker(tmp_path, pki=pki)
    try:
        assert not attempt(b.port, b.gateway(*GATEWAY_A)).connected
        cli("pki", "renew", "--dir", pki)  # nothing else is due; the CRL is
        b.rerender()
        b.broker.reload()
        wait_until(lambda: attempt(b.port, b.gateway(*GATEWAY_A)).connected, what="CRL re-signed")
    finally:
        b.broker.stop()


def make_pki_rest(pki: Path) -> None:
    """Broker and gateway A in a store created (back-dated) by the caller."""
    now = datetime.now(UTC)
    store = PkiStore(pki)
    store.issue(BrokerSpec("broker", ("localhost",), ("127.0.0.1",)), now=now)
    store.issue(GatewayIdentity(enterprise=GATEWAY_A[0], site=GATEWAY_A[1], gateway_id=GATEWAY_A[2]), now=now)

