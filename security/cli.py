"""``seamline pki``: the cluster CA and the certificates of gateways, services and the broker.

    seamline pki init   --dir D [--cluster NAME] [--days 3650] [--crl-days 90]
    seamline pki issue  --dir D gateway ID --enterprise E --site S [--days 365] [--master FILE]
    seamline pki issue  --dir D gateways FILE.csv [--master FILE]     (enterprise,site,gateway_id)
    seamline pki issue  --dir D service ROLE [--name N] [--days 365]
    seamline pki issue  --dir D broker --dns HOST [--ip ADDR] [--name broker] [--days 365]
    seamline pki renew  --dir D [--before-days 30] [--days N]
    seamline pki revoke --dir D IDENTITY
    seamline pki list   --dir D

Nothing here prints key material or passwords: output names files, identities, serials and dates.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from seamline.errors import UsageError
from seamline.security.identity import GatewayIdentity, IdentityError, Role, ServiceIdentity
from seamline.security.pki import PkiError
from seamline.security.pki_index import BrokerRecord, GatewayRecord, PkiIndex, ServiceRecord
from seamline.security.pki_store import (
    DEFAULT_CA_DAYS,
    DEFAULT_CERT_DAYS,
    DEFAULT_CRL_DAYS,
    BrokerSpec,
    PkiStore,
)

T = TypeVar("T")
# Renew this long before expiry: a monthly cron run gets a second chance before a gateway is cut off.
DEFAULT_BEFORE_DAYS = 30


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("pki", help="cluster CA, gateway and service certificates, CRL")
    psub = p.add_subparsers(dest="pki_command", metavar="ACTION", required=True)

    def action(name: str, help_: str) -> argparse.ArgumentParser:
        a: argparse.ArgumentParser = psub.add_parser(name, help=help_)
        a.add_argument("--dir", type=Path, required=True, help="the PKI store directory")
        return a

    i = action("init", "create the cluster CA, an empty CRL and the identity register")
    i.add_argument("--cluster", default="seamline", help="cluster name (the certificates' O=)")
    i.add_argument("--days", type=int, default=DEFAULT_CA_DAYS, help=f"CA validity (default {DEFAULT_CA_DAYS})")
    i.add_argument("--crl-days", type=int, default=DEFAULT_CRL_DAYS,
                   help=f"lifetime of each signed CRL (default {DEFAULT_CRL_DAYS})")
    i.set_defaults(handler=_init)

    s = action("issue", "key and certificate for a gateway, a service or the broker")
    days = argparse.ArgumentParser(add_help=False)
    days.add_argument("--days", type=int, default=DEFAULT_CERT_DAYS, help=f"validity (default {DEFAULT_CERT_DAYS})")
    kind = s.add_subparsers(dest="kind", metavar="KIND", required=True)
    g = kind.add_parser("gateway", help="a factory gateway of one enterprise's site", parents=[days])
    g.add_argument("gateway_id")
    g.add_argument("--enterprise", required=True)
    g.add_argument("--site", required=True)
    g.add_argument("--master", type=Path, help="check the enterprise and site against this master data")
    gs = kind.add_parser("gateways", help="many gateways at once, from a CSV file (enterprise,site,gateway_id)",
                         parents=[days])
    gs.add_argument("file", type=Path, help="CSV with a header row: enterprise,site,gateway_id")
    gs.add_argument("--master", type=Path, help="check every enterprise and site against this master data")
    v = kind.add_parser("service", help="a platform service instance", parents=[days])
    v.add_argument("role", choices=[r.value for r in Role])
    v.add_argument("--name", help="instance name, e.g. ingest-2 (default: the role)")
    b = kind.add_parser("broker", help="the broker's TLS server certificate", parents=[days])
    b.add_argument("--name", default="broker")
    b.add_argument("--dns", action="append", default=[], help="host name clients dial (repeatable)")
    b.add_argument("--ip", action="append", default=[], help="IP address clients dial (repeatable)")
    s.set_defaults(handler=_issue)

    r = action("renew", "new key and certificate for everything that expires soon; re-sign the CRL if due")
    r.add_argument("--before-days", type=int, default=DEFAULT_BEFORE_DAYS,
                   help=f"renew what ends within this many days (default {DEFAULT_BEFORE_DAYS})")
    r.add_argument("--days", type=int, help="validity of renewed certificates (default: as before)")
    r.set_defaults(handler=_renew)

    k = action("revoke", "revoke an identity's certificates (CRL) and delete its key and password")
    k.add_argument("identity", help="as `seamline pki list` shows it, e.g. gw/f001/s1/gw01 or svc/ingest")
    k.set_defaults(handler=_revoke)

    ls = action("list", "identities, expiry and revocation (never key material)")
    ls.set_defaults(handler=_list)


def _now() -> datetime:
    return datetime.now(UTC)


def _init(args: argparse.Namespace) -> int:
    store = _guard(lambda: PkiStore.init(args.dir, cluster=args.cluster, now=_now(), days=args.days,
                                         crl_days=args.crl_days))
    print(f"CA created: {store.ca_cert_path} (key {store.ca_key_path}, mode 0600); CRL {store.crl_path}")
    return 0


def _issue(args: argparse.Namespace) -> int:
    subject: GatewayIdentity | ServiceIdentity | BrokerSpec
    if args.kind == "gateways":
        return _issue_gateways(args)
    if args.kind == "gateway":
        subject = _guard(lambda: GatewayIdentity(enterprise=args.enterprise, site=args.site,
                                                 gateway_id=args.gateway_id))
        if args.master is not None:
            _check_sites(args.master, [subject])
    elif args.kind == "service":
        subject = _guard(lambda: ServiceIdentity(role=Role(args.role), name=args.name or args.role))
    else:
        subject = BrokerSpec(args.name, tuple(args.dns), tuple(args.ip))
    store = PkiStore(args.dir)
    record = _guard(lambda: store.issue(subject, now=_now(), days=args.days))
    print(f"issued {record.username}: serial {record.current.serial}, valid until "
          f"{record.current.not_after:%Y-%m-%d %H:%M} UTC; files in {store.folder(record)}")
    return 0


def _issue_gateways(args: argparse.Namespace) -> int:
    gateways = read_gateway_csv(args.file)
    if args.master is not None:
        _check_sites(args.master, gateways)
    store = PkiStore(args.dir)
    records = _guard(lambda: store.issue_many(gateways, now=_now(), days=args.days))
    until = min((r.current.not_after for r in records), default=None)
    print(f"issued {len(records)} gateway certificates" + (f", valid until {until:%Y-%m-%d}" if until else "")
          + f"; files in {args.dir / 'gateways'}")
    return 0


def read_gateway_csv(path: Path) -> list[GatewayIdentity]:
    """Gateways from a CSV file with the header ``enterprise,site,gateway_id``; an error names the line."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or set(reader.fieldnames) < {"enterprise", "site", "gateway_id"}:
                raise UsageError(f"{path}: expected a header row with enterprise,site,gateway_id")
            out = []
            for row in reader:
                try:
                    out.append(GatewayIdentity(enterprise=row["enterprise"] or "", site=row["site"] or "",
                                               gateway_id=row["gateway_id"] or ""))
                except IdentityError as exc:
                    raise UsageError(f"{path}:{reader.line_num}: {exc}") from None
            return out
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _renew(args: argparse.Namespace) -> int:
    if args.before_days < 0:
        raise UsageError(f"--before-days must be >= 0, got {args.before_days}")
    if args.days is not None and args.days < 1:
        raise UsageError(f"--days must be >= 1, got {args.days}")
    store = PkiStore(args.dir)
    now = _now()
    report = _guard(lambda: store.renew(now=now, before_days=args.before_days, days=args.days))
    for username in report.renewed:
        record = store.index().find(username)
        assert record is not None
        print(f"renewed {username} (new key): until {record.current.not_after:%Y-%m-%d} in {store.folder(record)}")
    print(f"{len(report.renewed)} renewed; CRL {'re-signed' if report.crl_resigned else 'not due'}")
    if (report.ca_not_after - now).days <= args.before_days:
        print(f"warning: the CA itself expires {report.ca_not_after:%Y-%m-%d}; plan a new CA", file=sys.stderr)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    store = PkiStore(args.dir)
    record = _guard(lambda: store.revoke(args.identity, now=_now()))
    print(f"revoked {record.username}; CRL re-signed ({store.crl_path}). Now re-run `seamline broker-config` "
          "and reload the broker (SIGHUP) or restart it to drop a live connection")
    return 0


def _list(args: argparse.Namespace) -> int:
    index = PkiStore(args.dir).index()
    print(render_list(index, now=_now()), end="")
    return 0


def render_list(index: PkiIndex, *, now: datetime, soon_days: int = DEFAULT_BEFORE_DAYS) -> str:
    """The register as a table: identity, kind, scope, serial, expiry, status. No key material."""
    lines = [
        f"CA {index.cluster}: serial {index.ca_serial[:12]}, until {index.ca_not_after:%Y-%m-%d}; "
        f"CRL #{index.crl_number} until {index.crl_next_update:%Y-%m-%d}, {len(index.revoked)} revoked serials",
        f"{'IDENTITY':<32} {'KIND':<8} {'SCOPE':<24} {'SERIAL':<12} {'NOT AFTER':<10} {'DAYS':>5} STATUS",
    ]
    for r in sorted(index.identities, key=lambda r: r.username):
        cur = r.current
        days = (cur.not_after - now).days
        status = ("revoked" if r.revoked else "expired" if cur.not_after <= now
                  else "renew due" if days <= soon_days else "valid")
        lines.append(f"{r.username:<32} {r.kind:<8} {_scope(r):<24} {cur.serial[:12]:<12} "
                     f"{cur.not_after:%Y-%m-%d} {days:>5} {status}")
    return "\n".join(lines) + "\n"


def _scope(r: GatewayRecord | ServiceRecord | BrokerRecord) -> str:
    if isinstance(r, GatewayRecord):
        return f"{r.enterprise}/{r.site}"
    if isinstance(r, ServiceRecord):
        return f"role {r.role.value}"
    return ",".join((*r.dns, *r.ips))


def _check_sites(master_path: Path, gateways: list[GatewayIdentity]) -> None:
    from seamline.rules.master_data import load_master_data  # pydantic only; imported when asked for

    master = load_master_data(master_path)
    sites = {(e.id, s.id) for e in master.enterprises for s in e.sites}
    for g in gateways:
        if (g.enterprise, g.site) not in sites:
            raise UsageError(f"{master_path}: no site {g.site!r} in enterprise {g.enterprise!r} (gateway {g.username})")


def _guard(fn: Callable[[], T]) -> T:
    """Run ``fn`` and turn a bad name, date or certificate into a usage error (exit 2)."""
    try:
        return fn()
    except (IdentityError, PkiError) as exc:
        raise UsageError(str(exc)) from None
