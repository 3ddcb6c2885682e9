"""Mosquitto 2.0 configuration text from settings and a :class:`~seamline.security.acl.Policy`:
``mosquitto.conf`` (one TLS listener, no anonymous access) and the ``acl_file``. Pure: no files."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import PurePosixPath

from seamline.contracts.messages import MAX_PAYLOAD_BYTES
from seamline.security.acl import Policy


class AuthMode(enum.StrEnum):
    CERT = "cert"  # client certificate required; its CN is the MQTT user name
    PASSWORD = "password"  # server-authenticated TLS plus user name and password


DEFAULT_INSTALL_DIR = PurePosixPath("/etc/mosquitto/seamline")


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerSettings:
    """Where and how the broker listens; paths are where the files will be *on the broker host*."""

    auth: AuthMode = AuthMode.CERT
    host: str = "0.0.0.0"
    port: int = 8883
    install_dir: PurePosixPath = DEFAULT_INSTALL_DIR
    data_dir: PurePosixPath | None = None  # persistence location; None: Mosquitto's default
    run_as: str | None = None  # `user`: who Mosquitto becomes when started as root (default mosquitto)
    # The client id becomes the identity, so one client cannot take over (and disconnect) another's
    # session by connecting with its client id; each process needs its own identity.
    bind_client_id: bool = True
    # The contract's payload limit plus room for fixed header, topic and properties: anything
    # bigger is not a seamline message and is refused before it is read into memory.
    max_packet_bytes: int = MAX_PAYLOAD_BYTES + 4096

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ValueError(f"listener port {self.port} is not in 1..65535")
        if not self.install_dir.is_absolute():
            raise ValueError(f"install directory {self.install_dir} must be an absolute path")

    def path(self, name: str) -> str:
        return str(self.install_dir / name)


# File names inside the output / install directory.
CONF = "mosquitto.conf"
ACL = "acl"
PASSWD = "passwd"
CA = "certs/ca.pem"
CRL = "certs/crl.pem"
SERVER_CERT = "certs/server.pem"
SERVER_KEY = "certs/server.key"


def render_conf(s: BrokerSettings, *, header: list[str]) -> str:
    """``mosquitto.conf`` for one TLS listener; ``header`` lines become leading comments."""
    out = [f"# {h}" if h else "#" for h in header]
    return "\n".join([*out, "", *_global_lines(s), "", *_listener_lines(s)]) + "\n"


def _global_lines(s: BrokerSettings) -> list[str]:
    out = [
        "# One listener, one set of security settings.",
        "per_listener_settings false",
        "# Nobody without an identity: no anonymous clients.",
        "allow_anonymous false",
        "# What each identity may publish and receive (generated with this file).",
        f"acl_file {s.path(ACL)}",
    ]
    if s.auth is AuthMode.PASSWORD:
        out += ["# PBKDF2-SHA512 ($7$) hashes of each identity's password.", f"password_file {s.path(PASSWD)}"]
    if s.run_as:
        out += [f"user {s.run_as}"]
    if s.data_dir is not None:
        out += ["persistence true", f"persistence_location {str(s.data_dir).rstrip('/')}/"]
    return [
        *out,
        "# Refused connections are logged (notice). A refused PUBLISH is logged at debug level only;",
        "# the client gets PUBACK 0x87 (MQTT 5).",
        "connection_messages true",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_timestamp_format %Y-%m-%dT%H:%M:%S",
        f"max_packet_size {s.max_packet_bytes}",
    ]


def _listener_lines(s: BrokerSettings) -> list[str]:
    out = [
        f"listener {s.port} {s.host}",
        "# TLS 1.2 at least; the server certificate is signed by the cluster CA.",
        "tls_version tlsv1.2",
        f"cafile {s.path(CA)}",
        f"certfile {s.path(SERVER_CERT)}",
        f"keyfile {s.path(SERVER_KEY)}",
    ]
    if s.auth is AuthMode.CERT:
        out += [
            "# A client certificate signed by the cluster CA, not revoked, not expired; its CN is the",
            "# MQTT user name the ACL knows (any user name or password the client sends is ignored).",
            "require_certificate true",
            "use_identity_as_username true",
            "# Revoked certificates (`seamline pki revoke`). Re-read on SIGHUP. OpenSSL refuses every",
            "# client once this list's nextUpdate has passed: `seamline pki renew` re-signs it in time.",
            f"crlfile {s.path(CRL)}",
        ]
    else:
        out += [
            "# Clients verify the server with the cluster CA and log in with user name and password.",
            "require_certificate false",
        ]
    if s.bind_client_id:
        out += [
            "# The client id is replaced by the user name: no client can take over another's session.",
            "use_username_as_clientid true",
        ]
    return out


def render_acl(policy: Policy, *, header: list[str]) -> str:
    """Mosquitto's ``acl_file``: one ``user`` block per identity, each rule with its reason."""
    out = [f"# {h}" if h else "#" for h in header]
    out += [
        "#",
        "# Nothing is allowed unless a rule below allows it; `deny` wins over every allow rule.",
        "# Mosquitto 2.0 grants every SUBSCRIBE and checks `read` on each delivered message's topic",
        "# (shared subscriptions $share/<group>/... included), and checks `write` on every PUBLISH:",
        "# a refused QoS 1 publish gets PUBACK 0x87 (MQTT 5) and nothing is delivered or retained.",
        "# No rules precede the first `user` line: an anonymous client (refused anyway) may do nothing.",
    ]
    for grant in policy.grants:
        out += ["", f"# {grant.title}", f"user {grant.username}"]
        for rule in grant.rules:
            out += [f"# {rule.why}", f"topic {rule.access.value} {rule.topic}"]
    return "\n".join(out) + "\n"
