"""The TLS context of the uplink: server verification against a CA file, optional client
certificate, hostname checking on unless explicitly waived."""

from __future__ import annotations

import ssl
from pathlib import Path


def client_ssl_context(
    *, ca_file: Path | None, cert_file: Path | None = None, key_file: Path | None = None,
    insecure_hostname: bool = False,
) -> ssl.SSLContext:
    """A TLS 1.2+ client context.

    ``ca_file`` None means the system trust store. ``cert_file``/``key_file`` go together (a
    key inside the certificate file is allowed: then ``key_file`` may be None).
    ``insecure_hostname`` skips the hostname check only (the chain is still verified) — for
    brokers reached by an IP that is not in their certificate.
    Raises ValueError naming the file when a file is missing or unusable.
    """
    for what, p in (("CA file", ca_file), ("client certificate", cert_file), ("client key", key_file)):
        if p is not None and not Path(p).is_file():
            raise ValueError(f"TLS {what} {p} does not exist or is not a file")
    if key_file is not None and cert_file is None:
        raise ValueError(f"TLS client key {key_file} given without a client certificate")
    try:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_file) if ca_file else None)
    except (ssl.SSLError, OSError) as exc:
        raise ValueError(f"TLS CA file {ca_file}: {exc}") from exc
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file is not None:
        try:
            ctx.load_cert_chain(certfile=str(cert_file), keyfile=str(key_file) if key_file else None)
        except (ssl.SSLError, OSError) as exc:
            raise ValueError(f"TLS client certificate {cert_file} / key {key_file}: {exc}") from exc
    if insecure_hostname:
        ctx.check_hostname = False
    return ctx
