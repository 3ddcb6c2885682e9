"""The command-line form of :class:`~seamline.mqtt_identity.MqttIdentity` for one-shot commands
(``seamline match``): TLS files and a user name as options, the password only from a file or an
environment variable (an option's value would sit in shell history and ``ps``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from seamline.configfile import validation_problems
from seamline.errors import UsageError
from seamline.mqtt_identity import MqttIdentity, tls_client_context
from seamline.secret_source import SecretSourceError, resolve_secret


def add_identity_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("broker identity (security/README.md)")
    g.add_argument("--tls-ca", metavar="FILE", help="CA of the broker's certificate (turns TLS on)")
    g.add_argument("--tls-cert", metavar="FILE", help="client certificate (brokers with --auth cert)")
    g.add_argument("--tls-key", metavar="FILE", help="its key")
    g.add_argument("--tls-insecure-hostname", action="store_true",
                   help="do not check the broker's host name (the chain is still verified)")
    g.add_argument("--username", help="MQTT user name (brokers with --auth password)")
    g.add_argument("--password-file", metavar="FILE", help="file holding the password")
    g.add_argument("--password-env", metavar="VAR", help="environment variable holding the password")


def identity_from_args(args: argparse.Namespace) -> MqttIdentity | None:
    """The identity the options describe, None when none was given; UsageError without values."""
    raw = {"tls_ca": args.tls_ca, "tls_cert": args.tls_cert, "tls_key": args.tls_key,
           "tls_insecure_hostname": args.tls_insecure_hostname or None, "username": args.username,
           "password_file": args.password_file, "password_env": args.password_env}
    given = {k: v for k, v in raw.items() if v is not None}
    if not given:
        return None
    try:
        return MqttIdentity.model_validate(given)
    except ValidationError as exc:
        raise UsageError("broker identity: " + "; ".join(validation_problems(exc))) from None


def http_auth(args: argparse.Namespace) -> dict[str, Any]:
    """``token``/``context`` keyword arguments for an HTTP read from ``--capacity-token-file``,
    ``--capacity-token-env`` and ``--capacity-ca``."""
    try:
        token = resolve_secret(file=args.capacity_token_file, env=args.capacity_token_env, what="capacity token")
    except SecretSourceError as exc:
        raise UsageError(str(exc)) from None
    context = None
    if args.capacity_ca:
        try:
            context = tls_client_context(ca=Path(args.capacity_ca))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return {"token": token, "context": context}
