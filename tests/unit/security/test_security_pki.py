"""The PKI's pure functions: CA, client and server certificates, CRL, and the checks on them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from seamline.security import pki
from seamline.security.identity import GatewayIdentity, Role, ServiceIdentity

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
GW = GatewayIdentity(enterprise="f001", site="s1", gateway_id="gw01")


@pytest.fixture(scope="module")
def ca() -> tuple[x509.Certificate, pki.ec.EllipticCurvePrivateKey]:
    key = pki.new_key()
    return pki.make_ca(key, cluster="test", validity=pki.Validity.days_from(NOW, 3650)), key


def client(ca: tuple[x509.Certificate, pki.ec.EllipticCurvePrivateKey], *, validity: pki.Validity | None = None,
           identity: GatewayIdentity | ServiceIdentity = GW) -> x509.Certificate:
    cert, key = ca
    return pki.issue_client(ca_cert=cert, ca_key=key, public_key=pki.new_key().public_key(), identity=identity,
                            validity=validity or pki.Validity.days_from(NOW, 365))


def test_ca_is_a_ca_that_signs_leaves_only(ca: tuple[x509.Certificate, pki.ec.EllipticCurvePrivateKey]) -> None:
    cert, _ = ca
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert bc.ca and bc.path_length == 0
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign


def test_client_certificate_names_the_identity(ca: tuple[x509.Certificate, pki.ec.EllipticCurvePrivateKey]) -> None:
    cert = client(ca)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "gw/f001/s1/gw01"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "gateway"
    assert pki.identity_of(cert) == GW
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert pki.problems(cert, ca_cert=ca[0], now=NOW) == []
    svc = client(ca, identity=ServiceIdentity(role=Role.RULES, name="rules"))
    assert pki.identity_of(svc) == ServiceIdentity(role=Role.RULES, name="rules")


def test_certificate_from_another_ca_is_a_problem(ca: tuple[x509.Certificate, pki.ec.EllipticCurvePrivateKey]) -> None:
    other_key = pki.new_key()
    other = pki.make_ca(other_key, cluster="test", validity=pki.Validity.days_from(NOW, 10))
    cert = client((other, other_key))
    assert [p.split(" (")[0] for p in pki.problems(cert, ca_cert=ca[0], now=NOW)] == ["not issued by this CA"]


def test_validity_window(ca: tuple[x509.Certificate, pki.ec.EllipticCurvePrivateKey]) -> None:
    cert = client(ca, validity=pki.Validity(NOW - timedelta(days=30), NOW - timedelta(days=1)))
    assert pki.problems(cert, ca_cert=ca[0], now=NOW) == ["expired 2030-01-06 08:00 UTC"]
    future = client(ca, validity=pki.Validity(NOW + timedelta(days=1), NOW + timedelta(days=2)))
    assert pki.problems(future, ca_cert=ca[0], now=NOW) == ["not valid before 2030-01-08 08:00 UTC"]
    fresh = client(ca)
    assert fresh.not_valid_before_utc == NOW - pki.CLOCK_SKEW  # a gateway a few minutes behind accepts it


def test_a_certificate_never_outlives_its_ca(ca: tuple[x509.Certificate, pki.ec.EllipticCurvePrivateKey]) -> None:
    cert = client(ca, validity=pki.Validity.days_from(NOW, 100_000))
    assert cert.not_valid_after_utc == ca[0].not_valid_after_utc


def test_bad_validity_is_refused() -> None:
    with pytest.raises(pki.PkiError, match="before it starts"):
        pki.Validity(NOW, NOW)
    with pytest.raises(pki.PkiError, match="at least 1 day"):
        pki.Validity.days_from(NOW, 0)
    with pytest.raises(pki.PkiError, match="timezone"):
        pki.Validity(datetime(2030, 1, 1), datetime(2030, 2, 1))


def test_crl_lists_the_revoked_serials(ca: tuple[x509.Certificate, pki.ec.EllipticCurvePrivateKey]) -> None:
    cert, key = ca
    revoked, kept = client(ca), client(ca)
    crl = pki.make_crl(ca_cert=cert, ca_key=key, revoked=[pki.Revoked(revoked.serial_number, NOW)],
                       this_update=NOW, next_update=NOW + timedelta(days=90), number=7)
    crl = pki.load_crl(pki.crl_pem(crl))
    assert crl.is_signature_valid(cert.public_key())
    assert crl.get_revoked_certificate_by_serial_number(revoked.serial_number) is not None
    assert crl.get_revoked_certificate_by_serial_number(kept.serial_number) is None
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 7
    assert pki.problems(revoked, ca_cert=cert, now=NOW, crl=crl) == ["revoked"]
    assert pki.problems(kept, ca_cert=cert, now=NOW, crl=crl) == []


def test_server_certificate(ca: tuple[x509.Certificate, pki.ec.EllipticCurvePrivateKey]) -> None:
    cert, key = ca
    server = pki.issue_server(ca_cert=cert, ca_key=key, public_key=pki.new_key().public_key(), name="broker",
                              dns=["mqtt.example"], ips=["127.0.0.1"], validity=pki.Validity.days_from(NOW, 10))
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["mqtt.example"]
    assert [str(i) for i in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert list(server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH]
    with pytest.raises(pki.PkiError, match="DNS name or IP"):
        pki.issue_server(ca_cert=cert, ca_key=key, public_key=pki.new_key().public_key(), name="b", dns=[], ips=[],
                         validity=pki.Validity.days_from(NOW, 1))
    with pytest.raises(pki.PkiError):
        pki.issue_server(ca_cert=cert, ca_key=key, public_key=pki.new_key().public_key(), name="b", dns=[],
                         ips=["999.1.1.1"], validity=pki.Validity.days_from(NOW, 1))


def test_a_certificate_without_our_identity_is_not_one_of_ours(
    ca: tuple[x509.Certificate, pki.ec.EllipticCurvePrivateKey],
) -> None:
    cert, key = ca
    server = pki.issue_server(ca_cert=cert, ca_key=key, public_key=pki.new_key().public_key(), name="broker",
                              dns=["x"], ips=[], validity=pki.Validity.days_from(NOW, 1))
    with pytest.raises(pki.PkiError, match="no seamline identity"):
        pki.identity_of(server)


def test_unreadable_key_error_does_not_echo_the_input() -> None:
    secret = b"-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n"
    with pytest.raises(pki.PkiError) as exc:
        pki.load_key(secret)
    assert "c2VjcmV0" not in str(exc.value)
    key = pki.new_key()
    assert pki.load_key(pki.key_pem(key)).private_numbers() == key.private_numbers()
