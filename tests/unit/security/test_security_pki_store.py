"""The PKI store on disk: layout and file modes, issue, renew window and key rotation, revoke and
the CRL, and the register never holding or printing key material."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from seamline.security import pki
from seamline.security.identity import GatewayIdentity, Role, ServiceIdentity
from seamline.security.pki_store import BrokerSpec, PkiStore, PkiStoreError

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
A = GatewayIdentity(enterprise="f001", site="s1", gateway_id="gw01")
B = GatewayIdentity(enterprise="f002", site="s1", gateway_id="gw01")
INGEST = ServiceIdentity(role=Role.INGEST, name="ingest")


@pytest.fixture
def store(tmp_path: Path) -> PkiStore:
    s = PkiStore.init(tmp_path / "pki", cluster="test", now=NOW, crl_days=90)
    s.issue(A, now=NOW, days=365)
    s.issue(B, now=NOW, days=60)
    s.issue(INGEST, now=NOW, days=365)
    s.issue(BrokerSpec("broker", ("localhost",), ("127.0.0.1",)), now=NOW)
    return s


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_layout_and_modes_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        s = PkiStore.init(tmp_path / "pki", cluster="test", now=NOW)
        s.issue(A, now=NOW)
    finally:
        os.umask(old)
    root = tmp_path / "pki"
    folder = root / "gateways/f001/s1/gw01"
    assert sorted(p.name for p in folder.iterdir()) == ["ca.pem", "cert.pem", "key.pem", "password"]
    for d in (root, root / "ca", root / "gateways", root / "gateways/f001", root / "gateways/f001/s1", folder):
        assert mode(d) == 0o700, d
    for secret in (root / "ca/ca.key", folder / "key.pem", folder / "password"):
        assert mode(secret) == 0o600, secret
    for public in (root / "ca/ca.pem", root / "ca/crl.pem", root / "ca/index.json", folder / "cert.pem"):
        assert mode(public) == 0o644, public
    assert not [p for p in root.rglob("*.tmp-*")]


def test_issued_certificate_chains_to_the_ca_and_names_the_gateway(store: PkiStore) -> None:
    folder = store.root / "gateways/f001/s1/gw01"
    cert = pki.load_cert((folder / "cert.pem").read_bytes())
    assert pki.problems(cert, ca_cert=store.ca_cert(), now=NOW, crl=store.crl()) == []
    assert pki.identity_of(cert) == A
    key = pki.load_key((folder / "key.pem").read_bytes())
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]
    assert (folder / "ca.pem").read_bytes() == store.ca_cert_path.read_bytes()


def test_init_refuses_to_replace_a_ca(store: PkiStore) -> None:
    key_before = store.ca_key_path.read_bytes()
    with pytest.raises(PkiStoreError, match="refusing"):
        PkiStore.init(store.root, cluster="test", now=NOW)
    assert store.ca_key_path.read_bytes() == key_before


def test_issuing_a_live_identity_again_is_refused(store: PkiStore) -> None:
    with pytest.raises(PkiStoreError, match="renew"):
        store.issue(A, now=NOW)


def test_missing_store_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(PkiStoreError, match="seamline pki init"):
        PkiStore(tmp_path / "nowhere").index()
    with pytest.raises(PkiStoreError, match="seamline pki init"):
        PkiStore(tmp_path / "nowhere").issue(A, now=NOW)


def test_renew_takes_what_ends_within_the_window_and_rotates_its_key(store: PkiStore) -> None:
    folder_b = store.root / "gateways/f002/s1/gw01"
    key_b, password_b = (folder_b / "key.pem").read_bytes(), (folder_b / "password").read_bytes()
    key_a = (store.root / "gateways/f001/s1/gw01/key.pem").read_bytes()
    # B ends at NOW + 60 d, so at `later` it has 29 d 23 h left: outside a 28-day window, inside 30 days.
    later = NOW + timedelta(days=30, hours=1)
    assert store.renew(now=later, before_days=28).renewed == ()
    report = store.renew(now=later, before_days=30)
    assert report.renewed == ("gw/f002/s1/gw01",)
    assert not report.crl_resigned  # the CRL ends at NOW + 90 d, 60 days after `later`
    record = store.index().find("gw/f002/s1/gw01")
    assert record is not None and len(record.certs) == 2
    assert record.current.not_after == later + timedelta(days=60)  # the lifetime it had
    assert (folder_b / "key.pem").read_bytes() != key_b  # new key
    assert (folder_b / "password").read_bytes() == password_b  # password kept
    assert (store.root / "gateways/f001/s1/gw01/key.pem").read_bytes() == key_a  # A untouched
    cert = pki.load_cert((folder_b / "cert.pem").read_bytes())
    assert f"{cert.serial_number:x}" == record.current.serial


def test_renew_resigns_the_crl_before_it_expires(store: PkiStore) -> None:
    before = store.index().crl_number
    report = store.renew(now=NOW + timedelta(days=61), before_days=30)
    assert report.crl_resigned
    index = store.index()
    assert index.crl_number == before + 1
    assert index.crl_next_update == NOW + timedelta(days=61 + 90)
    assert store.crl().next_update_utc == index.crl_next_update


def test_revoke_puts_every_live_serial_on_the_crl_and_deletes_the_secrets(store: PkiStore) -> None:
    store.renew(now=NOW + timedelta(days=40), before_days=30)  # B now has two live certificates
    serials = [int(c.serial, 16) for c in store.index().find("gw/f002/s1/gw01").certs]  # type: ignore[union-attr]
    store.revoke("gw/f002/s1/gw01", now=NOW + timedelta(days=41))
    crl = store.crl()
    assert crl.is_signature_valid(store.ca_cert().public_key())  # type: ignore[arg-type]
    assert all(crl.get_revoked_certificate_by_serial_number(s) is not None for s in serials)
    a_serial = int(store.index().find("gw/f001/s1/gw01").current.serial, 16)  # type: ignore[union-attr]
    assert crl.get_revoked_certificate_by_serial_number(a_serial) is None
    folder = store.root / "gateways/f002/s1/gw01"
    assert not (folder / "key.pem").exists() and not (folder / "password").exists()
    assert [i.username for i in store.index().active_clients()] == ["gw/f001/s1/gw01", "svc/ingest"]
    with pytest.raises(PkiStoreError, match="revoked already"):
        store.revoke("gw/f002/s1/gw01", now=NOW)
    with pytest.raises(PkiStoreError, match="no identity"):
        store.revoke("gw/f009/s1/gw01", now=NOW)


def test_a_revoked_identity_can_be_issued_again_and_its_old_serials_stay_revoked(store: PkiStore) -> None:
    old = int(store.index().find("gw/f001/s1/gw01").current.serial, 16)  # type: ignore[union-attr]
    store.revoke("gw/f001/s1/gw01", now=NOW)
    record = store.issue(A, now=NOW + timedelta(hours=1))
    assert not record.revoked and len(record.certs) == 2
    crl = store.crl()
    assert crl.get_revoked_certificate_by_serial_number(old) is not None
    assert crl.get_revoked_certificate_by_serial_number(int(record.current.serial, 16)) is None


def test_the_register_holds_no_secret(store: PkiStore) -> None:
    index_text = store.index_path.read_text()
    for secret in store.root.rglob("*"):
        if secret.name in ("key.pem", "password", "ca.key"):
            body = secret.read_text().strip().splitlines()
            assert not any(line in index_text for line in body if len(line) > 20), secret
    assert "PRIVATE" not in index_text
