"""``seamline db``: create the storage layout (``init``) and run InfluxQL for operators (``query``).

Connection settings come from the ingest config file's ``influx:`` section (``--config``), and
flags override them. Passwords and tokens are read from the config or from an environment
variable named by ``--password-env`` / ``--token-env``, never from a flag (shell history).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from seamline.errors import UsageError
from seamline.ingest.db_init import DbInitError, DbLayout, InfluxQLClient, RetentionSpec, duration_s, init_v1, init_v2

__all__ = ["register"]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Target:
    version: int
    url: str
    database: str
    retention_policy: str
    username: str | None
    password: SecretStr | None
    org: str
    token: SecretStr | None
    timeout_s: float


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("db", help="InfluxDB: create the layout, run InfluxQL")
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)

    i = dsub.add_parser("init", help="create database/buckets and retention policies (idempotent)")
    _connection_args(i)
    i.add_argument("--raw-duration", default="90d", help="retention of ingested samples (default 90d)")
    i.add_argument("--kpi-duration", default="INF", help="retention of derived KPIs (default INF = forever)")
    i.set_defaults(handler=_init)

    q = dsub.add_parser("query", help="run an InfluxQL statement and print the result as a table")
    _connection_args(q)
    q.add_argument("influxql", help='e.g. "SELECT count(*) FROM raw.sewing_machine WHERE time > now()-1h"')
    q.set_defaults(handler=_query)


def _connection_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="ingest config file (its influx: section is used)")
    p.add_argument("--url", help="InfluxDB URL (default from config, else http://127.0.0.1:8086)")
    p.add_argument("--database", help="database name (default from config, else seamline)")
    p.add_argument("--username", help="1.x user")
    p.add_argument("--password-env", metavar="VAR", help="environment variable holding the 1.x password")
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


def _target(args: argparse.Namespace) -> _Target:
    version, url, database, rp = 1, "http://127.0.0.1:8086", "seamline", "raw"
    username: str | None = None
    password: SecretStr | None = None
    token: SecretStr | None = None
    org, timeout_s = "seamline", 10.0
    if args.config is not None:
        from seamline.ingest.config import load_config

        ic = load_config(args.config).influx
        version, url, database, rp = ic.version, ic.url, ic.database, ic.retention_policy
        username, password, token, org, timeout_s = ic.username, ic.password, ic.token, ic.org, ic.timeout_s
    return _Target(
        version=args.influx_version or version,
        url=args.url or url,
        database=args.database or database,
        retention_policy=rp,
        username=args.username or username,
        password=_secret_from_env(args.password_env) or password,
        org=args.org or org,
        token=_secret_from_env(args.token_env) or token,
        timeout_s=timeout_s,
    )


def _init(args: argparse.Namespace) -> int:
    t = _target(args)
    try:
        layout = DbLayout(
            database=t.database,
            policies=(
                RetentionSpec(name=t.retention_policy, duration=args.raw_duration, default=True),
                RetentionSpec(name="kpi", duration=args.kpi_duration),
            ),
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    try:
        if t.version == 1:
            client = InfluxQLClient(url=t.url, username=t.username, password=t.password, timeout_s=t.timeout_s)
            actions = init_v1(client, layout)
        else:
            if t.token is None:
                raise UsageError("InfluxDB 2.x needs a token: influx.token in the config or --token-env VAR")
            actions = init_v2(url=t.url, token=t.token, org=t.org, layout=layout, timeout_s=t.timeout_s)
    except DbInitError as exc:
        print(f"seamline db init: {exc}", file=sys.stderr)
        return 1
    for a in actions:
        print(a)
    raw_days = duration_s(args.raw_duration) / 86400
    print(
        f"database {t.database}: ready ({len(actions)} change(s); raw retention "
        f"{'forever' if raw_days == 0 else f'{raw_days:g} d'}, kpi {args.kpi_duration})"
    )
    return 0


def _query(args: argparse.Namespace) -> int:
    t = _target(args)
    client = InfluxQLClient(url=t.url, username=t.username, password=t.password, timeout_s=t.timeout_s)
    try:
        results = client.query(args.influxql, db=t.database)
    except DbInitError as exc:
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
