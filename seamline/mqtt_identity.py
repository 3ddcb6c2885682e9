"""How a platform service (ingest, rules, matching) proves who it is to the broker: TLS with the
cluster CA and, with ``--auth cert`` brokers, its own client certificate (security/README.md:
``pki/services/<name>/{ca.pem,cert.pem,key.pem}``), or a user name and a password read from a
file or the environment. One model, mixed into each service's ``mqtt:`` config block and built
from ``seamline match``'s options, so every service has the same keys::

    mqtt:
      host: mqtt.example.net
      port: 8883
      tls_ca: /etc/seamline/ca.pem      # TLS on (tls: true alone = the system trust store)
      tls_cert: /etc/seamline/cert.pem  # --auth cert: the identity is the certificate's CN
      tls_key: /etc/seamline/key.pem
      username: svc/ingest              # --auth password
      password_file: /etc/seamline/password   # or password_env: VAR

No paho here: :mod:`seamline.mqtt_connect` applies it to a client."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator

from seamline.secret_source import resolve_secret


class MqttIdentity(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    password_env: str | None = None
    tls: bool = False
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Skip only the host name check (the chain is still verified): a broker reached by an address
    # its certificate does not name.
    tls_insecure_hostname: bool = False

    @model_validator(mode="before")
    @classmethod
    def _secret(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(data.get(k) is not None for k in ("password_file", "password_env")):
            data = {**data, "password": resolve_secret(value=data.get("password"), file=data.get("password_file"),
                                                        env=data.get("password_env"), what="password")}
        elif isinstance(data, dict) and data.get("password") is not None:
            data = {**data, "password": resolve_secret(value=data["password"], what="password")}
        return data

    @model_validator(mode="after")
    def _pairs(self) -> MqttIdentity:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        return self

    @property
    def uses_tls(self) -> bool:
        return self.tls or self.tls_ca is not None or self.tls_cert is not None

    def describe(self) -> str:
        """Who connects, for messages: the user name, or the certificate file; never the password."""
        if self.username:
            return f"user {self.username}"
        if self.tls_cert is not None:
            return f"certificate {self.tls_cert}"
        return "anonymous"


def ssl_context(identity: MqttIdentity) -> ssl.SSLContext | None:
    """A TLS 1.2+ client context for ``identity`` (None without TLS); raises ValueError naming the
    file that is missing or unusable (never its content)."""
    if not identity.uses_tls:
        return None
    return tls_client_context(ca=identity.tls_ca, cert=identity.tls_cert, key=identity.tls_key,
                              insecure_hostname=identity.tls_insecure_hostname)


def tls_client_context(*, ca: Path | None, cert: Path | None = None, key: Path | None = None,
                       insecure_hostname: bool = False) -> ssl.SSLContext:
    """A TLS 1.2+ client context: server verified against ``ca`` (None: the system store), the
    client certificate ``cert``/``key`` if given. ValueError names the file, never its content."""
    for what, p in (("CA file", ca), ("client certificate", cert), ("client key", key)):
        if p is not None and not Path(p).is_file():
            raise ValueError(f"TLS {what} {p} does not exist or is not a file")
    try:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca) if ca else None)
    except (ssl.SSLError, OSError) as exc:
        raise ValueError(f"TLS CA file {ca}: {type(exc).__name__}") from None
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert is not None:
        try:
            ctx.load_cert_chain(certfile=str(cert), keyfile=str(key) if key else None)
        except (ssl.SSLError, OSError) as exc:
            # the library's text may quote the PEM it choked on: say which files, not what is in them
            raise ValueError(f"TLS client certificate {cert} / key {key}: unusable ({type(exc).__name__})") from None
    if insecure_hostname:
        ctx.check_hostname = False
    return ctx
