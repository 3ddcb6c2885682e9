"""Who a certificate (or a password-file user) is: a gateway of one enterprise's site, a platform
service with a role, or the broker itself.

The MQTT identity is the certificate's CN (Mosquitto's ``use_identity_as_username``), so it must be
unique in the cluster and at most 64 characters (X.520's bound on a CN). Gateway ids are only unique
within a site (every small factory may call its box ``gw01``), so a gateway's identity carries its
enterprise and site: ``gw/<enterprise>/<site>/<gateway id>``. Services are ``svc/<name>``; the two
prefixes keep a gateway from ever being named like a service. ``/`` and ``:`` never occur inside a
name (the id grammar below), so an identity parses back unambiguously, and ``:`` stays free for the
password file's ``user:hash`` separator.

The same facts are written into the certificate as a SAN URI
(``urn:seamline:gateway:<enterprise>:<site>:<id>``, ``urn:seamline:service:<role>:<name>``) so tools
can read them back from a certificate alone; the broker's ACL, rendered from the PKI index, is the
authority on what an identity may do.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

# The master-data id grammar (rules/master_data.py) minus nothing: letters, digits, _ . -
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
# X.520 upper bound for a common name; cryptography refuses longer ones.
MAX_IDENTITY_CHARS = 64
GATEWAY_PREFIX = "gw"
SERVICE_PREFIX = "svc"
URN_PREFIX = "urn:seamline"


class IdentityError(ValueError):
    """A name or identity does not follow the grammar above."""


class Role(enum.StrEnum):
    """What a platform service does on the broker; the ACL grants per role."""

    INGEST = "ingest"  # reads gateway telemetry and lost reports; writes confirm and resend (the confirmer)
    RULES = "rules"  # writes capacity, reads bookings
    MATCHING = "matching"  # reads capacity, writes allocation and bookings
    NOTIFY = "notify"  # talks to people, not to the broker: no topic at all


def check_name(value: str, *, what: str) -> str:
    """``value`` if it is a valid enterprise/site/gateway/service name, else :class:`IdentityError`."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise IdentityError(f"{what} {value!r} must be 1-64 characters of A-Z a-z 0-9 _ . -")
    # Names become directory names in the PKI store: no '.', '..' or hidden files; no '-' so a
    # name is never read as a command-line option.
    if value.startswith((".", "-")):
        raise IdentityError(f"{what} {value!r} must not start with '.' or '-'")
    return value


def _bounded(username: str) -> str:
    if len(username) > MAX_IDENTITY_CHARS:
        raise IdentityError(
            f"identity {username!r} is {len(username)} characters; a certificate CN allows {MAX_IDENTITY_CHARS}"
        )
    return username


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayIdentity:
    """A factory gateway: may write telemetry for its own site only."""

    enterprise: str
    site: str
    gateway_id: str

    def __post_init__(self) -> None:
        check_name(self.enterprise, what="enterprise")
        check_name(self.site, what="site")
        check_name(self.gateway_id, what="gateway id")
        _bounded(self.username)

    @property
    def username(self) -> str:
        return f"{GATEWAY_PREFIX}/{self.enterprise}/{self.site}/{self.gateway_id}"

    @property
    def san_uri(self) -> str:
        return f"{URN_PREFIX}:gateway:{self.enterprise}:{self.site}:{self.gateway_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceIdentity:
    """A platform service instance; several instances of one role (ingest workers) each get a name."""

    role: Role
    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.role, Role):
            try:
                object.__setattr__(self, "role", Role(self.role))
            except ValueError as exc:
                raise IdentityError(f"unknown service role {self.role!r}, expected one of "
                                    f"{', '.join(r.value for r in Role)}") from exc
        check_name(self.name, what="service name")
        _bounded(self.username)

    @property
    def username(self) -> str:
        return f"{SERVICE_PREFIX}/{self.name}"

    @property
    def san_uri(self) -> str:
        return f"{URN_PREFIX}:service:{self.role.value}:{self.name}"


ClientIdentity = GatewayIdentity | ServiceIdentity


def parse_san_uri(uri: str) -> ClientIdentity:
    """The identity a certificate's SAN URI names; :class:`IdentityError` if it is not ours."""
    parts = uri.split(":")
    if parts[:2] != URN_PREFIX.split(":"):
        raise IdentityError(f"{uri!r} is not a seamline identity URI")
    if parts[2:3] == ["gateway"] and len(parts) == 6:
        return GatewayIdentity(enterprise=parts[3], site=parts[4], gateway_id=parts[5])
    if parts[2:3] == ["service"] and len(parts) == 5:
        try:
            role = Role(parts[3])
        except ValueError as exc:
            raise IdentityError(f"{uri!r} names an unknown service role {parts[3]!r}") from exc
        return ServiceIdentity(role=role, name=parts[4])
    raise IdentityError(f"{uri!r} is not a seamline identity URI")
