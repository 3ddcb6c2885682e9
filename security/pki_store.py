"""The PKI on disk: one directory holds the CA, the register of identities and one folder per
identity with the files it is deployed with.

    <dir>/                                   0700
      ca/ca.pem  ca/crl.pem  ca/index.json   the CA certificate, its revocation list, the register
      ca/ca.key                              0600, never leaves this machine
      gateways/<enterprise>/<site>/<id>/     cert.pem, key.pem, password (0600), ca.pem: what a gateway gets
      services/<name>/                       the same for a platform service (ingest, rules, ...)
      broker/<name>/                         the broker's server certificate and key

Every directory is 0700 and every key 0600 from the moment it is created. Mutations hold an
exclusive lock on ``ca/.lock`` so two runs never interleave. Renewal rotates the key (a new key
pair and a new certificate with a new serial); the previous certificate stays valid until it
expires, so a gateway can be switched over without a gap.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from seamline.errors import UsageError
from seamline.private_files import make_private_dir, write_private, write_public
from seamline.security import pki
from seamline.security.identity import ClientIdentity, GatewayIdentity, check_name
from seamline.security.passwd import new_password
from seamline.security.pki_index import (
    BrokerRecord,
    CertRecord,
    GatewayRecord,
    PkiIndex,
    RevokedRecord,
    ServiceRecord,
)

Record = GatewayRecord | ServiceRecord | BrokerRecord
# The files of an identity's folder: what is deployed to the gateway or service.
CERT_FILE = "cert.pem"
KEY_FILE = "key.pem"
CA_FILE = "ca.pem"
PASSWORD_FILE = "password"
# Ten years: the CA is replaced deliberately, not by a cron job.
DEFAULT_CA_DAYS = 3650
DEFAULT_CERT_DAYS = 365
# The CRL is re-signed by every `pki revoke` and by `pki renew` when it is due; 90 days leaves a
# monthly renew cron two chances to miss before the broker would refuse every client.
DEFAULT_CRL_DAYS = 90


class PkiStoreError(UsageError):
    """The store is missing, already exists, or an operation does not apply (exit code 2)."""


@dataclass(frozen=True, slots=True)
class BrokerSpec:
    """What to put in a broker server certificate."""

    name: str
    dns: tuple[str, ...]
    ips: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RenewReport:
    renewed: tuple[str, ...]  # usernames
    crl_resigned: bool
    ca_not_after: datetime  # the CA itself is not renewed here; the caller warns when it is near


class PkiStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.ca_dir = self.root / "ca"

    @property
    def ca_cert_path(self) -> Path:
        return self.ca_dir / "ca.pem"

    @property
    def ca_key_path(self) -> Path:
        return self.ca_dir / "ca.key"

    @property
    def crl_path(self) -> Path:
        return self.ca_dir / "crl.pem"

    @property
    def index_path(self) -> Path:
        return self.ca_dir / "index.json"

    def folder(self, record: Record) -> Path:
        return self.root.joinpath(*record.folder)

    # ----------------------------------------------------------------------------------- reading

    def index(self) -> PkiIndex:
        try:
            raw = self.index_path.read_bytes()
        except FileNotFoundError:
            raise self._missing() from None
        try:
            return PkiIndex.model_validate_json(raw)
        except ValidationError as exc:
            raise PkiStoreError(f"{self.index_path}: not a valid PKI index: {exc.errors()[0]['msg']}") from None

    def ca_cert(self) -> x509.Certificate:
        return pki.load_cert(self.ca_cert_path.read_bytes())

    def crl(self) -> x509.CertificateRevocationList:
        return pki.load_crl(self.crl_path.read_bytes())

    def password(self, record: GatewayRecord | ServiceRecord) -> str:
        """The identity's MQTT password (for ``--auth password`` brokers)."""
        path = self.folder(record) / PASSWORD_FILE
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            raise PkiStoreError(f"{path} is missing; re-issue {record.username}") from None

    # ---------------------------------------------------------------------------------- creating

    @classmethod
    def init(cls, root: Path, *, cluster: str, now: datetime, days: int = DEFAULT_CA_DAYS,
             crl_days: int = DEFAULT_CRL_DAYS) -> PkiStore:
        """Create the CA, an empty CRL and an empty register; refuses to touch an existing CA."""
        store = cls(root)
        check_name(cluster, what="cluster name")
        if store.ca_key_path.exists() or store.index_path.exists():
            raise PkiStoreError(f"{store.ca_dir}: a CA exists already; refusing to replace it")
        make_private_dir(store.ca_dir)
        with store._locked():
            key = pki.new_key()
            ca = pki.make_ca(key, cluster=cluster, validity=pki.Validity.days_from(now, days))
            write_private(store.ca_key_path, pki.key_pem(key))
            write_public(store.ca_cert_path, pki.cert_pem(ca))
            index = PkiIndex(cluster=cluster, ca_serial=f"{ca.serial_number:x}", ca_not_after=ca.not_valid_after_utc,
                             crl_number=0, crl_next_update=now, crl_days=crl_days)
            store._save(store._sign_crl(index, key, ca, now))
        return store

    def issue(self, subject: ClientIdentity | BrokerSpec, *, now: datetime, days: int = DEFAULT_CERT_DAYS) -> Record:
        """A key and certificate for a new identity (or one that was revoked: its old serials stay
        on the CRL). An identity that holds a valid certificate is renewed, not re-issued."""
        return self.issue_many([subject], now=now, days=days)[0]

    def issue_many(self, subjects: Sequence[ClientIdentity | BrokerSpec], *, now: datetime,
                   days: int = DEFAULT_CERT_DAYS) -> list[Record]:
        """:meth:`issue` for many identities under one lock and one register write (onboarding a
        cluster of thousands of gateways); all are checked before the first is minted."""
        validity = pki.Validity.days_from(now, days)
        with self._locked():
            index = self.index()
            known = {r.username: r for r in index.identities}
            records = [_blank_record(s) for s in subjects]
            if dups := sorted(u for u, n in Counter(r.username for r in records).items() if n > 1):
                raise PkiStoreError(f"listed more than once: {', '.join(dups)}")
            for record in records:
                old = known.get(record.username)
                if old is not None and not old.revoked:
                    raise PkiStoreError(
                        f"{record.username} already has a certificate (until {old.current.not_after:%Y-%m-%d}); "
                        f"renew it with `seamline pki renew`, or revoke it first"
                    )
            issued = []
            for record in records:
                old = known.get(record.username)
                record = self._mint(record, old.certs if old is not None else (), validity)
                if not isinstance(record, BrokerRecord):
                    # For brokers configured with `--auth password`; kept across renewals.
                    write_private(self.folder(record) / PASSWORD_FILE, new_password().encode() + b"\n")
                issued.append(record)
            self._save(index.replace_many(issued))
            return issued

    def renew(self, *, now: datetime, before_days: int, days: int | None = None) -> RenewReport:
        """New key and certificate for every unrevoked identity whose certificate ends within
        ``before_days`` (with ``days`` of validity, default: the lifetime it had), and a freshly
        signed CRL if the current one ends within the same window."""
        window = timedelta(days=before_days)
        with self._locked():
            index = self.index()
            renewed = []
            for record in index.identities:
                if record.revoked or record.current.not_after - now > window:
                    continue
                life = timedelta(days=days) if days is not None else record.current.lifetime - pki.CLOCK_SKEW
                validity = pki.Validity(now - pki.CLOCK_SKEW, now + life)
                renewed.append(self._mint(record, record.certs, validity))
            index = index.replace_many(renewed)
            due = index.crl_next_update - now <= window
            if due:
                index = self._sign_crl(index, self._ca_key(), self.ca_cert(), now)
            if renewed or due:
                self._save(index)
            return RenewReport(renewed=tuple(r.username for r in renewed), crl_resigned=due,
                               ca_not_after=index.ca_not_after)

    def revoke(self, username: str, *, now: datetime) -> Record:
        """Revoke every unexpired certificate of ``username``, re-sign the CRL, delete its key."""
        with self._locked():
            index = self.index()
            record = index.find(username)
            if record is None:
                raise PkiStoreError(f"no identity {username!r} in {self.root} (see `seamline pki list`)")
            if record.revoked:
                raise PkiStoreError(f"{username} was revoked already at {record.revoked_at:%Y-%m-%d %H:%M} UTC")
            listed = {r.serial for r in index.revoked}
            added = tuple(
                RevokedRecord(serial=c.serial, revoked_at=now, username=username)
                for c in record.certs if c.serial not in listed and c.not_after > now
            )
            record = record.model_copy(update={"revoked_at": now})
            index = index.replace(record).model_copy(update={"revoked": (*index.revoked, *added)})
            self._save(self._sign_crl(index, self._ca_key(), self.ca_cert(), now))
            # A revoked identity's secrets have no further use; don't leave them lying around.
            (self.folder(record) / KEY_FILE).unlink(missing_ok=True)
            (self.folder(record) / PASSWORD_FILE).unlink(missing_ok=True)
            return record

    # ---------------------------------------------------------------------------------- internal

    def _mint(self, record: Record, history: tuple[CertRecord, ...], validity: pki.Validity) -> Record:
        ca_cert, ca_key = self.ca_cert(), self._ca_key()
        key = pki.new_key()
        if isinstance(record, BrokerRecord):
            cert = pki.issue_server(ca_cert=ca_cert, ca_key=ca_key, public_key=key.public_key(), name=record.name,
                                    dns=record.dns, ips=record.ips, validity=validity)
        else:
            cert = pki.issue_client(ca_cert=ca_cert, ca_key=ca_key, public_key=key.public_key(),
                                    identity=record.identity, validity=validity)
        folder = make_private_dir(self.folder(record))
        write_private(folder / KEY_FILE, pki.key_pem(key))
        write_public(folder / CERT_FILE, pki.cert_pem(cert))
        write_public(folder / CA_FILE, pki.cert_pem(ca_cert))
        cr = CertRecord(serial=f"{cert.serial_number:x}", not_before=cert.not_valid_before_utc,
                        not_after=cert.not_valid_after_utc)
        return record.model_copy(update={"certs": (*history, cr), "revoked_at": None})

    def _sign_crl(self, index: PkiIndex, key: ec.EllipticCurvePrivateKey, ca: x509.Certificate,
                  now: datetime) -> PkiIndex:
        next_update = now + timedelta(days=index.crl_days)
        revoked = [pki.Revoked(int(r.serial, 16), r.revoked_at) for r in index.revoked]
        number = index.crl_number + 1
        crl = pki.make_crl(ca_cert=ca, ca_key=key, revoked=revoked, this_update=now - pki.CLOCK_SKEW,
                           next_update=next_update, number=number)
        write_public(self.crl_path, pki.crl_pem(crl))
        return index.model_copy(update={"crl_number": number, "crl_next_update": next_update})

    def _ca_key(self) -> ec.EllipticCurvePrivateKey:
        return pki.load_key(self.ca_key_path.read_bytes())

    def _save(self, index: PkiIndex) -> None:
        write_public(self.index_path, index.model_dump_json(indent=1).encode() + b"\n")

    def _missing(self) -> PkiStoreError:
        return PkiStoreError(f"{self.root}: no PKI here; create one with: seamline pki init --dir {self.root}")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if not self.ca_dir.is_dir():
            raise self._missing()
        fd = os.open(self.ca_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _blank_record(subject: ClientIdentity | BrokerSpec) -> Record:
    """A record for ``subject`` without a certificate yet (``_mint`` adds it)."""
    if isinstance(subject, BrokerSpec):
        check_name(subject.name, what="broker name")
        return BrokerRecord(name=subject.name, dns=subject.dns, ips=subject.ips)
    if isinstance(subject, GatewayIdentity):
        return GatewayRecord(enterprise=subject.enterprise, site=subject.site, gateway_id=subject.gateway_id)
    return ServiceRecord(role=subject.role, name=subject.name)
