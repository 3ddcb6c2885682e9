"""The cluster PKI as pure functions: keys, the CA, client and server certificates, the revocation
list, and the checks a tool can make on a certificate. No files, no clock: the caller passes
``now`` and the validity, and :mod:`seamline.security.pki_store` does the I/O.

Keys are ECDSA P-256: every TLS stack on the path (OpenSSL under Mosquitto and EMQX, Python's ssl
under paho on a gateway) supports it, and signing is cheap on a gateway's ARM CPU.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from seamline.security.identity import ClientIdentity, GatewayIdentity, IdentityError, parse_san_uri

# A certificate starts this long before it is issued, so a gateway whose clock is a few minutes
# behind the CA's accepts (and is accepted with) a certificate issued just now.
CLOCK_SKEW = timedelta(minutes=5)
_HASH = hashes.SHA256()


class PkiError(ValueError):
    """A certificate or key does not fit (wrong CA, expired, not one of ours, unreadable)."""


@dataclass(frozen=True, slots=True)
class Validity:
    """``[not_before, not_after]``, timezone-aware UTC."""

    not_before: datetime
    not_after: datetime

    def __post_init__(self) -> None:
        if self.not_before.tzinfo is None or self.not_after.tzinfo is None:
            raise PkiError("validity times must be timezone-aware")
        if self.not_after <= self.not_before:
            raise PkiError(f"certificate would end ({self.not_after:%Y-%m-%d}) before it starts")

    @classmethod
    def days_from(cls, now: datetime, days: int) -> Validity:
        """Valid from ``now`` minus the clock-skew margin for ``days`` days after ``now``."""
        if days < 1:
            raise PkiError(f"validity must be at least 1 day, got {days}")
        return cls(now - CLOCK_SKEW, now + timedelta(days=days))

    def capped(self, not_after: datetime) -> Validity:
        """This validity ending no later than ``not_after`` (a certificate cannot outlive its CA)."""
        return Validity(self.not_before, min(self.not_after, not_after))


@dataclass(frozen=True, slots=True)
class Revoked:
    """One revoked certificate serial and when it was revoked."""

    serial: int
    revoked_at: datetime


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def make_ca(key: ec.EllipticCurvePrivateKey, *, cluster: str, validity: Validity) -> x509.Certificate:
    """A self-signed CA that may sign end-entity certificates only (path length 0)."""
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, cluster),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{cluster} cluster CA"),
    ])
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity.not_before)
        .not_valid_after(validity.not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, _HASH)
    )


def issue_client(
    *, ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, public_key: ec.EllipticCurvePublicKey,
    identity: ClientIdentity, validity: Validity,
) -> x509.Certificate:
    """A TLS client certificate whose CN is the MQTT identity and whose SAN URI says what it is."""
    unit = "gateway" if isinstance(identity, GatewayIdentity) else "service"
    san: list[x509.GeneralName] = [x509.UniformResourceIdentifier(identity.san_uri)]
    return _leaf(ca_cert, ca_key, public_key, cn=identity.username, unit=unit, san=san,
                 usage=ExtendedKeyUsageOID.CLIENT_AUTH, validity=validity)


def issue_server(
    *, ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, public_key: ec.EllipticCurvePublicKey,
    name: str, dns: Sequence[str], ips: Sequence[str], validity: Validity,
) -> x509.Certificate:
    """The broker's TLS server certificate for the host names and addresses clients dial."""
    if not dns and not ips:
        raise PkiError("a server certificate needs at least one DNS name or IP address")
    san: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    try:
        san += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    except ValueError as exc:
        raise PkiError(str(exc)) from None
    return _leaf(ca_cert, ca_key, public_key, cn=name, unit="broker", san=san,
                 usage=ExtendedKeyUsageOID.SERVER_AUTH, validity=validity)


def make_crl(
    *, ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, revoked: Sequence[Revoked],
    this_update: datetime, next_update: datetime, number: int,
) -> x509.CertificateRevocationList:
    """The CA's revocation list. OpenSSL (Mosquitto's ``crlfile``) refuses *every* client once
    ``next_update`` has passed, so the list must be re-signed before then (``seamline pki renew``)."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    for r in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(r.serial).revocation_date(r.revoked_at).build()
        )
    return builder.sign(ca_key, _HASH)


def identity_of(cert: x509.Certificate) -> ClientIdentity:
    """The identity a client certificate names; :class:`PkiError` if CN and SAN URI disagree."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = san.get_values_for_type(x509.UniformResourceIdentifier)
        identity = parse_san_uri(uris[0]) if len(uris) == 1 else None
    except (x509.ExtensionNotFound, IdentityError):
        identity = None
    if identity is None:
        raise PkiError("certificate carries no seamline identity URI")
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(cns) != 1 or cns[0].value != identity.username:
        raise PkiError(f"certificate CN does not match its identity URI {identity.san_uri}")
    return identity


def problems(cert: x509.Certificate, *, ca_cert: x509.Certificate, now: datetime,
             crl: x509.CertificateRevocationList | None = None) -> list[str]:
    """Why a broker would refuse ``cert`` (empty: it would accept it)."""
    found = []
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature) as exc:
        found.append(f"not issued by this CA ({type(exc).__name__})")
    if now < cert.not_valid_before_utc:
        found.append(f"not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC")
    if now > cert.not_valid_after_utc:
        found.append(f"expired {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC")
    if crl is not None and crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
        found.append("revoked")
    return found


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def crl_pem(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.PEM)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """Unencrypted PKCS#8: Mosquitto and paho read it without a passphrase prompt; the file mode
    (0600) and the store's 0700 directories protect it."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_cert(data: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise PkiError(f"not a PEM certificate: {exc}") from None


def load_crl(data: bytes) -> x509.CertificateRevocationList:
    try:
        return x509.load_pem_x509_crl(data)
    except ValueError as exc:
        raise PkiError(f"not a PEM CRL: {exc}") from None


def load_key(data: bytes) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        # Never echo the input: it is key material.
        raise PkiError(f"not an unencrypted PEM private key ({type(exc).__name__})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError(f"expected an EC private key, got {type(key).__name__}")
    return key


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign, crl_sign=cert_sign,
        encipher_only=False, decipher_only=False,
    )


def _leaf(
    ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, public_key: ec.EllipticCurvePublicKey, *,
    cn: str, unit: str, san: list[x509.GeneralName], usage: x509.ObjectIdentifier, validity: Validity,
) -> x509.Certificate:
    capped = validity.capped(ca_cert.not_valid_after_utc)
    organisation = ca_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    subject = x509.Name([
        *organisation,
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(capped.not_before)
        .not_valid_after(capped.not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, _HASH)
    )
