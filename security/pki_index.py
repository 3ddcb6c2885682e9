"""The PKI store's register (``ca/index.json``): every identity ever issued, its certificates
(serials and validity, never key material), whether it is revoked, and the revoked serials the
CRL lists. It is the cluster's list of who may connect: ``seamline broker-config`` renders the
broker's ACL and password file from it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from seamline.security.identity import ClientIdentity, GatewayIdentity, Role, ServiceIdentity, check_name


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CertRecord(_Model):
    serial: str = Field(description="hexadecimal")
    not_before: datetime
    not_after: datetime

    @property
    def lifetime(self) -> timedelta:
        return self.not_after - self.not_before


class _Record(_Model):
    # Oldest first; the last is current. Empty only while a record is being minted.
    certs: tuple[CertRecord, ...] = ()
    revoked_at: datetime | None = None

    @property
    def current(self) -> CertRecord:
        if not self.certs:
            raise ValueError(f"{self.username} has no certificate")
        return self.certs[-1]

    @property
    def username(self) -> str:
        raise NotImplementedError

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class GatewayRecord(_Record):
    kind: Literal["gateway"] = "gateway"
    enterprise: str
    site: str
    gateway_id: str

    @property
    def identity(self) -> GatewayIdentity:
        return GatewayIdentity(enterprise=self.enterprise, site=self.site, gateway_id=self.gateway_id)

    @property
    def username(self) -> str:
        return self.identity.username

    @property
    def folder(self) -> tuple[str, ...]:
        return ("gateways", self.enterprise, self.site, self.gateway_id)


class ServiceRecord(_Record):
    kind: Literal["service"] = "service"
    role: Role
    name: str

    @property
    def identity(self) -> ServiceIdentity:
        return ServiceIdentity(role=self.role, name=self.name)

    @property
    def username(self) -> str:
        return self.identity.username

    @property
    def folder(self) -> tuple[str, ...]:
        return ("services", self.name)


class BrokerRecord(_Record):
    """The broker's TLS server certificate; not an MQTT user."""

    kind: Literal["broker"] = "broker"
    name: str
    dns: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()

    @property
    def username(self) -> str:
        return f"broker/{check_name(self.name, what='broker name')}"

    @property
    def folder(self) -> tuple[str, ...]:
        return ("broker", self.name)


IdentityRecord = Annotated[GatewayRecord | ServiceRecord | BrokerRecord, Field(discriminator="kind")]


class RevokedRecord(_Model):
    serial: str
    revoked_at: datetime
    username: str


class PkiIndex(_Model):
    version: Literal[1] = 1
    cluster: str
    ca_serial: str
    ca_not_after: datetime
    crl_number: int = Field(ge=0)
    crl_next_update: datetime
    crl_days: int = Field(ge=1, description="lifetime of each CRL the store signs, days")
    identities: tuple[IdentityRecord, ...] = ()
    revoked: tuple[RevokedRecord, ...] = ()

    @model_validator(mode="after")
    def _every_identity_has_a_certificate(self) -> PkiIndex:
        empty = [r.username for r in self.identities if not r.certs]
        if empty:
            raise ValueError(f"identities without a certificate: {empty}")
        return self

    def find(self, username: str) -> GatewayRecord | ServiceRecord | BrokerRecord | None:
        return next((r for r in self.identities if r.username == username), None)

    def replace(self, record: GatewayRecord | ServiceRecord | BrokerRecord) -> PkiIndex:
        """This index with ``record`` added, or put in place of the record with its username."""
        return self.replace_many([record])

    def replace_many(self, records: Sequence[GatewayRecord | ServiceRecord | BrokerRecord]) -> PkiIndex:
        """:meth:`replace` for several records at once (linear, not quadratic, in the register)."""
        new = {r.username: r for r in records}
        others = tuple(r for r in self.identities if r.username not in new)
        return self.model_copy(update={"identities": (*others, *new.values())})

    def active_clients(self) -> list[ClientIdentity]:
        """The MQTT identities that are not revoked, sorted by username."""
        out: list[ClientIdentity] = [
            r.identity for r in self.identities if isinstance(r, GatewayRecord | ServiceRecord) and not r.revoked
        ]
        return sorted(out, key=lambda i: i.username)

    def brokers(self) -> list[BrokerRecord]:
        return [r for r in self.identities if isinstance(r, BrokerRecord) and not r.revoked]
