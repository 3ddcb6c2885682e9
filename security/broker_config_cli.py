"""``seamline broker-config``: render the broker's configuration from master data and the PKI.

    seamline broker-config --master FILE --pki DIR --out DIR [--auth cert|password]
                           [--listen HOST:PORT] [--install-dir PATH] [--data-dir PATH]
                           [--user NAME] [--no-bind-client-id] [--broker NAME] [--emqx]

Prints the files written and how many identities they admit; never a key or a password.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from seamline.errors import UsageError
from seamline.security.mosquitto_conf import AuthMode, BrokerSettings


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "broker-config", help="Mosquitto (and EMQX) config, ACL and password file from master data and the PKI")
    p.add_argument("--master", type=Path, required=True, help="master data YAML (enterprises and sites)")
    p.add_argument("--pki", type=Path, required=True, help="the PKI store (seamline pki init --dir)")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--auth", choices=[m.value for m in AuthMode], default=AuthMode.CERT.value,
                   help="cert: client certificate required (default); password: TLS plus user name/password")
    p.add_argument("--listen", default="0.0.0.0:8883", help="TLS listener HOST:PORT (default 0.0.0.0:8883)")
    p.add_argument("--install-dir", help="where --out's files will live on the broker host (default: --out)")
    p.add_argument("--data-dir", help="Mosquitto persistence directory (default: Mosquitto's)")
    p.add_argument("--user", dest="run_as", help="user Mosquitto switches to when started as root")
    p.add_argument("--no-bind-client-id", action="store_true",
                   help="let clients choose their client id (default: client id = identity)")
    p.add_argument("--broker", help="which broker certificate of the PKI store (if there are several)")
    p.add_argument("--emqx", action="store_true", help="also write emqx-acl.conf and emqx-authz.md")
    p.set_defaults(handler=run)


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise UsageError(f"--listen {text!r}: expected HOST:PORT, e.g. 0.0.0.0:8883")
    return host.strip("[]"), int(port)


def run(args: argparse.Namespace) -> int:
    from seamline.rules.master_data import load_master_data
    from seamline.security.broker_config import write_broker_config
    from seamline.security.pki_store import PkiStore

    host, port = parse_listen(args.listen)
    install = PurePosixPath(args.install_dir) if args.install_dir else PurePosixPath(args.out.resolve())
    try:
        settings = BrokerSettings(
            auth=AuthMode(args.auth), host=host, port=port, install_dir=install,
            data_dir=PurePosixPath(args.data_dir) if args.data_dir else None, run_as=args.run_as,
            bind_client_id=not args.no_bind_client_id,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    master = load_master_data(args.master)
    result = write_broker_config(
        master=master, master_path=args.master, store=PkiStore(args.pki), out=args.out, settings=settings,
        now=datetime.now(UTC), emqx_files=args.emqx, broker_name=args.broker,
    )
    for path in result.written:
        print(path)
    print(f"{result.gateways} gateways, {result.services} services admitted; {result.revoked} revoked "
          f"identities refused. Listener {host}:{port}, auth {settings.auth.value}")
    return 0
