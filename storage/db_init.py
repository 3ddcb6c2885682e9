"""Create seamline's storage layout, idempotently: database + ``raw`` (default) and ``kpi`` retention
policies on InfluxDB 1.x; on 2.x one bucket per retention policy plus the DBRP mappings so InfluxQL
(rules, dashboards) reads them under the same ``database``/``rp`` names.

Running it again changes nothing unless a duration or the default flag differs, which it corrects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from seamline.storage.influxql import duration_s, quote_ident
from seamline.storage.query_client import InfluxQLClient
from seamline.storage.rollups import CQ_PREFIX, RollupSpec, continuous_queries
from seamline.storage.schema import DEFAULT_DURATION, Retention

__all__ = [
    "DbInitError",
    "DbLayout",
    "RetentionSpec",
    "default_policies",
    "init_v1",
    "init_v2",
]


class DbInitError(Exception):
    """The 2.x API refused to create or map a bucket, or the organization does not exist.
    (Statements refused on 1.x raise :class:`~seamline.storage.query_errors.QueryError`.)"""


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionSpec:
    """A retention policy: ``duration`` as InfluxQL text (``90d``, ``INF``). On 2.x its bucket is
    ``bucket``, by default ``<database>/<name>``, DBRP-mapped to database/``name``."""

    name: str
    duration: str
    default: bool = False
    bucket: str | None = None

    def __post_init__(self) -> None:
        duration_s(self.duration)
        if not self.name:
            raise ValueError("retention policy name must not be empty")
        if self.bucket == "":
            raise ValueError("bucket name must not be empty")

    def bucket_name(self, database: str) -> str:
        return self.bucket or f"{database}/{self.name}"


def default_policies() -> tuple[RetentionSpec, ...]:
    """``raw`` (the default RP, 90 d) and ``kpi`` (forever), per :mod:`seamline.storage.schema`."""
    return (
        RetentionSpec(name=Retention.RAW.value, duration=DEFAULT_DURATION[Retention.RAW], default=True),
        RetentionSpec(name=Retention.KPI.value, duration=DEFAULT_DURATION[Retention.KPI]),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class DbLayout:
    """``raw`` holds ingested samples (default RP), ``kpi`` what the rules engine derives; each
    rollup adds its retention policy and the continuous queries that fill it from the default RP
    (:mod:`seamline.storage.rollups`)."""

    database: str = "seamline"
    policies: tuple[RetentionSpec, ...] = field(default_factory=default_policies)
    rollups: tuple[RollupSpec, ...] = ()

    def __post_init__(self) -> None:
        if not self.database:
            raise ValueError("database must not be empty")
        if sum(p.default for p in self.policies) != 1:
            raise ValueError("exactly one retention policy must be the default")
        names = [p.name for p in self.all_policies]
        if len(set(names)) != len(names):
            raise ValueError(f"retention policy names must be unique: {names}")

    @property
    def raw_rp(self) -> str:
        return next(p.name for p in self.policies if p.default)

    @property
    def all_policies(self) -> tuple[RetentionSpec, ...]:
        return (*self.policies, *(RetentionSpec(name=r.rp, duration=r.duration) for r in self.rollups))


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
    for spec in layout.all_policies:
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
    return actions + _sync_continuous_queries(client, layout)


def _sync_continuous_queries(client: InfluxQLClient, layout: DbLayout) -> list[str]:
    """Create the rollups' CQs that are missing, drop ``rollup_*`` CQs not (or no longer) wanted:
    a changed definition has another name (its fingerprint), so it is dropped and created."""
    want = continuous_queries(layout.database, layout.raw_rp, layout.rollups)
    have = _existing_cqs(client, layout.database)
    db = quote_ident(layout.database)
    actions: list[str] = []
    for name in sorted(have - set(want)):
        if name.startswith(CQ_PREFIX):
            stmt = f"DROP CONTINUOUS QUERY {quote_ident(name)} ON {db}"
            client.query(stmt)
            actions.append(stmt)
    for name, stmt in want.items():
        if name not in have:
            client.query(stmt)
            actions.append(f"CREATE CONTINUOUS QUERY {quote_ident(name)} ON {db}")
    return actions


def _existing_cqs(client: InfluxQLClient, database: str) -> set[str]:
    results = client.query("SHOW CONTINUOUS QUERIES")
    for series in results[0].get("series", []) if results else []:
        if series.get("name") == database:
            return {str(row[0]) for row in series.get("values", [])}
    return set()


def _database_exists(client: InfluxQLClient, database: str) -> bool:
    results = client.query("SHOW DATABASES")
    for series in results[0].get("series", []) if results else []:
        if any(row[0] == database for row in series.get("values", [])):
            return True
    return False


def init_v2(*, url: str, token: SecretStr, org: str, layout: DbLayout, timeout_s: float = 10.0) -> list[str]:
    """InfluxDB 2.x: one bucket per retention policy (``<database>/<rp>`` unless the spec names
    one; retention = duration) and a DBRP mapping database/rp → bucket, so InfluxQL reads and the
    names in :mod:`seamline.storage.schema` stay the same as on 1.x. Return what was created or
    changed; :class:`DbInitError` when the API refuses (the token never appears in it).

    Not exercised against a real 2.x server in this repository's tests (only 1.x is installed)."""
    import urllib3.exceptions
    from influxdb_client.client.influxdb_client import InfluxDBClient
    from influxdb_client.rest import ApiException

    try:
        with InfluxDBClient(url=url, token=token.get_secret_value(), org=org, timeout=int(timeout_s * 1000)) as client:
            return _init_buckets(client, org, layout)
    except ApiException as exc:
        raise DbInitError(f"{url}: HTTP {exc.status}: {exc.reason}") from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise DbInitError(f"{url}: cannot reach InfluxDB: {type(exc).__name__}") from exc


def _init_buckets(client: Any, org: str, layout: DbLayout) -> list[str]:
    from influxdb_client.domain.bucket_retention_rules import BucketRetentionRules
    from influxdb_client.domain.dbrp_create import DBRPCreate
    from influxdb_client.service.dbr_ps_service import DBRPsService

    actions: list[str] = []
    orgs = client.organizations_api().find_organizations(org=org)
    if not orgs:
        raise DbInitError(f"organization {org!r} not found")
    org_id = orgs[0].id
    buckets = client.buckets_api()
    dbrps = DBRPsService(client.api_client)  # type: ignore[no-untyped-call]
    for spec in layout.all_policies:
        name = spec.bucket_name(layout.database)
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
