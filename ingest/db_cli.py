"""``seamline db``: create the storage layout (``init``) and run InfluxQL for operators (``query``).

Connection settings come from the ``influx:`` section of a service config (``--config``: the
ingest or the rules YAML, the block is the same), and flags override them. Passwords and tokens
are read from the config or from an environment variable named by ``--password-env`` /
``--token-env``, never from a flag (shell history).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from seamline.configfile import ConfigFileError, read_yaml_mapping, validation_problems
from seamline.contracts.assets import AssetKind
from seamline.errors import UsageError
from seamline.storage.config import InfluxConfig
from seamline.storage.connect import query_client
from seamline.storage.db_init import DbInitError, DbLayout, RetentionSpec, init_v1, init_v2
from seamline.storage.db_users import SERVICE_PRIVILEGES, DbUser, DbUsersError, ensure_admin, ensure_users
from seamline.storage.influxql import duration_s
from seamline.storage.query_errors import QueryError
from seamline.storage.schema import Retention, telemetry

__all__ = ["register"]


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("db", help="InfluxDB: create the layout, run InfluxQL")
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)

    i = dsub.add_parser("init", help="create database/buckets and retention policies (idempotent)")
    _connection_args(i)
    i.add_argument("--raw-duration", help="retention of ingested samples (default from config, else 90d)")
    i.add_argument("--kpi-duration", help="retention of derived KPIs (default from config, else INF = forever)")
    i.add_argument("--no-rollups", action="store_true", help="create no rollups (config: influx.rollups: [])")
    i.set_defaults(handler=_init)

    r = dsub.add_parser("rollup", help="InfluxDB 1.x: run the rollups' continuous queries once over a past "
                                       "range (data that arrived after its interval was rolled up)")
    _connection_args(r)
    r.add_argument("--start", required=True, help="UTC start, ISO 8601 (e.g. 2026-12-01T00:00:00Z)")
    r.add_argument("--end", required=True, help="UTC end, ISO 8601 (exclusive)")
    r.add_argument("--every", action="append", help="only this rollup interval (default: every configured one)")
    r.set_defaults(handler=_rollup)

    u = dsub.add_parser("users", help="InfluxDB 1.x auth: an admin and one user per service (ingest WRITE, "
                                      "dashboards READ, rules ALL)")
    _connection_args(u)
    u.add_argument("--admin-user", default="admin", help="admin user name (default admin)")
    u.add_argument("--passwords-dir", type=Path, required=True,
                   help="<user>.password files (admin, ingest, dashboards, rules); a missing one is created "
                        "0600 with a random password")
    u.add_argument("--service", action="append", metavar="NAME=READ|WRITE|ALL",
                   help="users and privileges (default: ingest=WRITE dashboards=READ rules=ALL)")
    u.set_defaults(handler=_users)

    q = dsub.add_parser("query", help="run an InfluxQL statement and print the result as a table")
    _connection_args(q)
    example = f"{Retention.RAW}.{telemetry(AssetKind.SEWING_MACHINE)}"
    q.add_argument("influxql", help=f"e.g. 'SELECT count(*) FROM {example} WHERE time > now()-1h'")
    q.set_defaults(handler=_query)


def _connection_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="ingest or rules config file (its influx: section is used)")
    p.add_argument("--url", help="InfluxDB URL (default from config, else http://127.0.0.1:8086)")
    p.add_argument("--database", help="database name (default from config, else seamline)")
    p.add_argument("--username", help="1.x user")
    p.add_argument("--password-env", metavar="VAR", help="environment variable holding the 1.x password")
    p.add_argument("--password-file", type=Path, metavar="FILE", help="file holding the 1.x password")
    p.add_argument("--influx-version", type=int, choices=(1, 2), help="server API version (default 1)")
    p.add_argument("--org", help="2.x organization")
    p.add_argument("--token-env", metavar="VAR", help="environment variable holding the 2.x token")


def _secret_from_env(var: str | None) -> SecretStr | None:
    if var is None:
        return None
    value = os.environ.get(var)
    if value is None:
        raise UsageError(f"environment variable {var} is not set")
    return SecretStr(value)


def _influx_section(path: Path) -> dict[str, Any]:
    try:
        raw = read_yaml_mapping(path, empty_ok=True)
    except ConfigFileError as exc:
        raise UsageError(str(exc)) from None
    section = raw.get("influx", {})
    if not isinstance(section, dict):
        raise UsageError(f"{path}: influx: expected a mapping")
    return section


def _target(args: argparse.Namespace) -> InfluxConfig:
    """The config file's ``influx:`` block with the flags applied over it, validated once."""
    block = _influx_section(args.config) if args.config is not None else {}
    overrides = {
        "version": args.influx_version, "url": args.url, "database": args.database, "username": args.username,
        "password": _secret_from_env(args.password_env), "password_file": args.password_file,
        "org": args.org, "token": _secret_from_env(args.token_env),
        "raw_duration": getattr(args, "raw_duration", None), "kpi_duration": getattr(args, "kpi_duration", None),
    }
    merged = {**block, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return InfluxConfig.model_validate(merged)
    except ValidationError as exc:
        where = f"{args.config}: " if args.config is not None else ""
        raise UsageError("\n".join(f"{where}influx.{p}" for p in validation_problems(exc))) from None


def _init(args: argparse.Namespace) -> int:
    t = _target(args)
    layout = DbLayout(
        database=t.database,
        policies=(
            RetentionSpec(name=t.raw_rp, duration=t.raw_duration, default=True, bucket=t.raw_bucket),
            RetentionSpec(name=t.kpi_rp, duration=t.kpi_duration, bucket=t.kpi_bucket),
        ),
        rollups=() if args.no_rollups else tuple(r.spec() for r in t.rollups),
    )
    try:
        if t.version == 1:
            actions = init_v1(query_client(t), layout)
        else:
            assert t.token is not None  # the config model refuses version 2 without a token
            actions = init_v2(url=t.url, token=t.token, org=t.org, layout=layout, timeout_s=t.timeout_s)
    except (DbInitError, QueryError) as exc:
        print(f"seamline db init: {exc}", file=sys.stderr)
        return 1
    for a in actions:
        print(a)
    raw_days = duration_s(t.duration(Retention.RAW)) / 86400
    rollups = ", ".join(f"{r.rp} kept {r.duration}" for r in layout.rollups) or "none"
    if layout.rollups and t.version == 2:
        rollups += " (buckets only: continuous queries are InfluxDB 1.x; use tasks on 2.x)"
    print(
        f"database {t.database}: ready ({len(actions)} change(s); raw retention "
        f"{'forever' if raw_days == 0 else f'{raw_days:g} d'}, kpi {t.duration(Retention.KPI)}; rollups: {rollups})"
    )
    return 0


def _utc_ms(text: str, flag: str) -> int:
    from datetime import UTC, datetime

    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag} {text!r}: expected an ISO 8601 time such as 2026-12-01T00:00:00Z") from None
    if dt.tzinfo is None:
        raise UsageError(f"{flag} {text!r}: give the time zone (Z or +08:00)")
    return int(dt.astimezone(UTC).timestamp() * 1000)


def _rollup(args: argparse.Namespace) -> int:
    from seamline.storage.rollups import backfill_statement, rolled_up_kinds

    t = _target(args)
    if t.version != 1:
        raise UsageError("db rollup is for InfluxDB 1.x (continuous queries)")
    start, end = _utc_ms(args.start, "--start"), _utc_ms(args.end, "--end")
    if end <= start:
        raise UsageError("--end must be after --start")
    specs = [r.spec() for r in t.rollups if not args.every or r.every in args.every]
    if not specs:
        raise UsageError(f"no configured rollup matches --every {args.every} (configured: "
                         f"{[r.every for r in t.rollups]})")
    client = query_client(t)
    written = 0
    try:
        for spec in specs:
            for kind in rolled_up_kinds():
                q = backfill_statement(t.database, t.raw_rp, spec, kind, start_ms=start, end_ms=end)
                for result in client.query(q, db=t.database):
                    for series in result.get("series", []):
                        written += sum(int(row[1]) for row in series.get("values", []))
    except QueryError as exc:
        print(f"seamline db rollup: {exc}", file=sys.stderr)
        return 1
    print(f"database {t.database}: {written} rollup points written ({', '.join(s.rp for s in specs)})")
    return 0


def _password(d: Path, user: str) -> SecretStr:
    """``d/<user>.password``; created 0600 with 32 random URL-safe characters when missing."""
    import secrets

    from seamline.private_files import make_private_dir, write_private
    from seamline.secret_source import SecretSourceError, read_secret_file

    path = d / f"{user}.password"
    if not path.exists():
        make_private_dir(d)
        write_private(path, secrets.token_urlsafe(24).encode())
    try:
        return read_secret_file(path, what=f"{user} password")
    except SecretSourceError as exc:
        raise UsageError(str(exc)) from None


def _services(specs: list[str] | None) -> dict[str, str]:
    if not specs:
        return dict(SERVICE_PRIVILEGES)
    out = {}
    for spec in specs:
        name, _, priv = spec.partition("=")
        if not name or priv.upper() not in ("READ", "WRITE", "ALL"):
            raise UsageError(f"--service {spec!r}: expected NAME=READ|WRITE|ALL")
        out[name] = priv.upper()
    return out


def _users(args: argparse.Namespace) -> int:
    t = _target(args)
    if t.version != 1:
        raise UsageError("db users is for InfluxDB 1.x (2.x/3.x: create tokens with the influx CLI)")
    admin_pw = _password(args.passwords_dir, args.admin_user)
    admin = t.model_copy(update={"username": args.admin_user, "password": admin_pw})
    client = query_client(admin)
    users = [DbUser(name, _password(args.passwords_dir, name), priv)  # type: ignore[arg-type]
             for name, priv in _services(args.service).items()]
    try:
        actions = [ensure_admin(client, args.admin_user, admin_pw), *ensure_users(client, t.database, users)]
    except (DbUsersError, QueryError) as exc:
        print(f"seamline db users: {exc}", file=sys.stderr)
        return 1
    for a in actions:
        print(a)
    print(f"database {t.database}: {len(users)} service users; passwords in {args.passwords_dir} (0600)")
    return 0


def _query(args: argparse.Namespace) -> int:
    t = _target(args)
    try:
        results = query_client(t).query(args.influxql, db=t.database)
    except QueryError as exc:
        print(f"seamline db query: {exc}", file=sys.stderr)
        return 1
    for result in results:
        for series in result.get("series", []):
            tags = series.get("tags")
            title = series.get("name", "")
            if tags:
                title += " " + ",".join(f"{k}={v}" for k, v in sorted(tags.items()))
            print(f"# {title}")
            print("\t".join(str(c) for c in series["columns"]))
            for row in series.get("values", []):
                print("\t".join("" if v is None else str(v) for v in row))
    return 0
