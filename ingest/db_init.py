"""Create seamline's storage layout, idempotently: database + ``raw`` (default) and ``kpi`` retention
policies on InfluxDB 1.x; on 2.x one bucket per retention policy plus the DBRP mappings so InfluxQL
(rules, dashboards) reads them under the same ``database``/``rp`` names.

Running it again changes nothing unless a duration or the default flag differs, which it corrects.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

__all__ = [
    "DbInitError",
    "DbLayout",
    "InfluxQLClient",
    "RetentionSpec",
    "duration_s",
    "init_v1",
    "init_v2",
    "quote_ident",
]

_DURATION = re.compile(r"(\d+)(w|d|h|m|s)")
_UNIT_S = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}


class DbInitError(Exception):
    """The server refused a statement or could not be reached."""


def duration_s(text: str) -> int:
    """Seconds in an InfluxQL/Go duration (``90d``, ``2160h0m0s``, ``1w2d``); ``INF``/``0s`` → 0 (keep
    forever). ValueError for anything else."""
    t = text.strip()
    if t.upper() in ("INF", "0", ""):
        return 0
    pos, total = 0, 0
    for m in _DURATION.finditer(t):
        if m.start() != pos:
            break
        total += int(m.group(1)) * _UNIT_S[m.group(2)]
        pos = m.end()
    if pos != len(t):
        raise ValueError(f"not a duration: {text!r} (expected e.g. 90d, 12w, 720h or INF)")
    return total


def quote_ident(name: str) -> str:
    """An InfluxQL double-quoted identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionSpec:
    """A retention policy: ``duration`` as InfluxQL text (``90d``, ``INF``)."""

    name: str
    duration: str
    default: bool = False

    def __post_init__(self) -> None:
        duration_s(self.duration)
        if not self.name:
            raise ValueError("retention policy name must not be empty")


@dataclass(frozen=True, slots=True, kw_only=True)
class DbLayout:
    """``raw`` holds ingested samples (default RP), ``kpi`` what the rules engine derives."""

    database: str = "seamline"
    policies: tuple[RetentionSpec, ...] = (
        RetentionSpec(name="raw", duration="90d", default=True),
        RetentionSpec(name="kpi", duration="INF"),
    )

    def __post_init__(self) -> None:
        if not self.database:
            raise ValueError("database must not be empty")
        if sum(p.default for p in self.policies) != 1:
            raise ValueError("exactly one retention policy must be the default")


class InfluxQLClient:
    """POST ``/query`` on InfluxDB 1.x (or a 1.x-compatible endpoint); Basic auth if a user is set."""

    def __init__(
        self, *, url: str, username: str | None = None, password: SecretStr | None = None, timeout_s: float = 10.0
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._headers: dict[str, str] = {}
        if username:
            secret = password.get_secret_value() if password else ""
            self._headers["Authorization"] = "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()

    def query(self, q: str, *, db: str | None = None) -> list[dict[str, Any]]:
        """Run one or more statements; return the ``results`` list (``epoch=ms``). A statement
        error raises DbInitError with the server's message."""
        params = {"q": q, "epoch": "ms"}
        if db:
            params["db"] = db
        req = urllib.request.Request(
            f"{self.url}/query", data=urllib.parse.urlencode(params).encode(), headers=self._headers, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                doc = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise DbInitError(f"{self.url}: HTTP {exc.code}: {exc.read().decode(errors='replace')[:500]}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise DbInitError(f"{self.url}: cannot reach InfluxDB: {exc}") from exc
        if "error" in doc:
            raise DbInitError(str(doc["error"]))
        results: list[dict[str, Any]] = doc.get("results", [])
        for r in results:
            if "error" in r:
                raise DbInitError(f"{q!r}: {r['error']}")
        return results


def _existing_policies(client: InfluxQLClient, database: str) -> dict[str, tuple[int, bool]]:
    results = client.query(f"SHOW RETENTION POLICIES ON {quote_ident(database)}")
    out: dict[str, tuple[int, bool]] = {}
    for series in results[0].get("series", []) if results else []:
        cols = series["columns"]
        for row in series.get("values", []):
            rec = dict(zip(cols, row, strict=True))
            out[str(rec["name"])] = (duration_s(str(rec["duration"])), bool(rec["default"]))
    return out


def init_v1(client: InfluxQLClient, layout: DbLayout) -> list[str]:
    """Create or correct the database and its retention policies; return the statements run
    (empty when everything already matched)."""
    db = quote_ident(layout.database)
    actions: list[str] = []
    existing = _existing_policies(client, layout.database) if _database_exists(client, layout.database) else None
    if existing is None:
        stmt = f"CREATE DATABASE {db}"
        client.query(stmt)
        actions.append(stmt)
        existing = _existing_policies(client, layout.database)
    for spec in layout.policies:
        want = (duration_s(spec.duration), spec.default)
        have = existing.get(spec.name)
        if have == want:
            continue
        verb = "CREATE" if have is None else "ALTER"
        stmt = f"{verb} RETENTION POLICY {quote_ident(spec.name)} ON {db} DURATION {spec.duration}"
        stmt += " REPLICATION 1" if verb == "CREATE" else ""
        stmt += " DEFAULT" if spec.default else ""
        if have is not None and have[1] and not spec.default and have[0] == want[0]:
            # un-defaulting happens by making another policy the default (done in this same loop)
            continue
        client.query(stmt)
        actions.append(stmt)
    return actions


def _database_exists(client: InfluxQLClient, database: str) -> bool:
    results = client.query("SHOW DATABASES")
    for series in results[0].get("series", []) if results else []:
        if any(row[0] == database for row in series.get("values", [])):
            return True
    return False


def init_v2(*, url: str, token: SecretStr, org: str, layout: DbLayout, timeout_s: float = 10.0) -> list[str]:
    """InfluxDB 2.x: one bucket ``<database>/<rp>`` per retention policy (retention = duration)
    and a DBRP mapping database/rp → bucket. Return what was created or changed.

    Not exercised against a real 2.x server in this repository's tests (only 1.x is installed)."""
    from influxdb_client.client.influxdb_client import InfluxDBClient
    from influxdb_client.domain.bucket_retention_rules import BucketRetentionRules
    from influxdb_client.domain.dbrp_create import DBRPCreate
    from influxdb_client.service.dbr_ps_service import DBRPsService

    actions: list[str] = []
    with InfluxDBClient(url=url, token=token.get_secret_value(), org=org, timeout=int(timeout_s * 1000)) as client:
        orgs = client.organizations_api().find_organizations(org=org)
        if not orgs:
            raise DbInitError(f"organization {org!r} not found")
        org_id = orgs[0].id
        buckets = client.buckets_api()
        dbrps = DBRPsService(client.api_client)  # type: ignore[no-untyped-call]
        for spec in layout.policies:
            name = f"{layout.database}/{spec.name}"
            rules = [BucketRetentionRules(type="expire", every_seconds=duration_s(spec.duration))]  # type: ignore[no-untyped-call]
            bucket = buckets.find_bucket_by_name(name)
            if bucket is None:
                bucket = buckets.create_bucket(bucket_name=name, retention_rules=rules, org=org)
                actions.append(f"create bucket {name}")
            elif _every_seconds(bucket.retention_rules) != duration_s(spec.duration):
                bucket.retention_rules = rules
                buckets.update_bucket(bucket)
                actions.append(f"set retention of bucket {name} to {spec.duration}")
            found = dbrps.get_dbr_ps(org_id=org_id, db=layout.database, rp=spec.name)  # type: ignore[no-untyped-call]
            if not (found.content or []):
                dbrps.post_dbrp(  # type: ignore[no-untyped-call]
                    DBRPCreate(  # type: ignore[no-untyped-call]
                        org_id=org_id,
                        bucket_id=bucket.id,
                        database=layout.database,
                        retention_policy=spec.name,
                        default=spec.default,
                    )
                )
                actions.append(f"map {layout.database}/{spec.name} -> bucket {name}")
    return actions


def _every_seconds(rules: Sequence[Any] | None) -> int:
    for r in rules or []:
        if getattr(r, "type", None) == "expire":
            return int(getattr(r, "every_seconds", 0) or 0)
    return 0
