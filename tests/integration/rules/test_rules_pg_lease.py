"""PostgreSQL leases against a real PostgreSQL: take / renew / take-over with a higher token, the
fence (database check, then local deadline when the database is unreachable), dynamic shards
moving between replicas. The database's clock is real; "time passes" for it by moving a lease's
``expires_at`` into the past, and the replicas' monotonic clocks are fakes."""

from __future__ import annotations

import psycopg
import pytest
from pydantic import SecretStr

from seamline.rules.coordination.database import CoordinationUnavailable, Database, PgSettings
from seamline.rules.coordination.lease_table import LeaseTable
from seamline.rules.coordination.membership import Membership
from seamline.rules.coordination.pg_lease import PgLease
from seamline.rules.coordination.rendezvous import owned_by
from seamline.rules.coordination.schema import LEASE, REPLICA, ensure_schema
from seamline.rules.coordination.shard_leases import ShardLeases, shard_lease_name
from seamline.rules.kpi_points import FencingError, KpiPoint, KpiPointWriter
from seamline.rules.lease import shard_of
from seamline.rules.master_data import MasterData, parse_master_data

pytestmark = pytest.mark.integration

TTL_S, MARGIN_S = 30.0, 5.0


class Clock:
    """A replica's monotonic clock."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _db(dsn: str) -> Database:
    return Database(PgSettings(dsn=SecretStr(dsn), timeout_s=2.0, connect_timeout_s=2.0), on_connect=ensure_schema)


def _table(dsn: str, holder: str, clock: Clock) -> LeaseTable:
    return LeaseTable(_db(dsn), holder=holder, ttl_s=TTL_S, margin_s=MARGIN_S, clock=clock)


def _expire(dsn: str, name: str) -> None:
    """The database's TTL passes for lease ``name``."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"UPDATE {LEASE} SET expires_at = now() - interval '1 second' WHERE name = %s", (name,))


def _dies(dsn: str, holder: str) -> None:
    """``holder`` stopped renewing a TTL ago: its leases and its heartbeat have expired."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"UPDATE {LEASE} SET expires_at = now() - interval '1 second' WHERE holder = %s", (holder,))
        conn.execute(f"UPDATE {REPLICA} SET expires_at = now() - interval '1 second' WHERE replica = %s", (holder,))


def _shards(leases: ShardLeases, rounds: int = 1) -> None:
    for _ in range(rounds):
        leases.acquire()


def test_one_holder_then_takeover_with_a_higher_token(pg_dsn: str) -> None:
    ca, cb = Clock(), Clock()
    a, b = PgLease(_table(pg_dsn, "a", ca), "rules/static/0of1"), PgLease(_table(pg_dsn, "b", cb), "rules/static/0of1")
    assert a.acquire() == 1
    assert b.acquire() is None
    ca.t += 10
    assert a.acquire() == 1  # renewed, same token
    a.check()
    with pytest.raises(FencingError):
        b.check()
    _expire(pg_dsn, "rules/static/0of1")  # a stopped renewing for a TTL
    assert b.acquire() == 2
    b.check()
    with pytest.raises(FencingError, match="no longer held"):
        a.check()  # the database says token 2 belongs to b
    assert a.acquire() is None  # and a cannot renew or take it back while b holds it
    b.release()
    assert a.acquire() == 3


def test_a_replica_cut_off_from_postgres_writes_until_its_local_deadline_only(pg_dsn: str) -> None:
    dsn = pg_dsn
    clock = Clock()
    lease = PgLease(_table(dsn, "a", clock), "rules/static/0of1")
    assert lease.acquire() == 1
    rec = _Recorder()
    writer = KpiPointWriter(rec, fence=lease)
    point = KpiPoint("kpi_line", (("line", "l1"),), 0, (("coverage", 1.0),))
    assert writer.write([point]) == 1
    lease.table.db.settings = PgSettings(dsn=SecretStr(_unreachable(dsn)), timeout_s=1.0, connect_timeout_s=2.0)
    lease.table.db.close()
    clock.t += TTL_S - MARGIN_S - 1  # just before the local deadline: the database cannot be asked
    assert lease.acquire() == 1  # kept until the local deadline
    assert writer.write([point]) == 1
    assert lease.holdings.checks_local_only >= 1
    clock.t += 1  # the local deadline passes: margin_s before the database could hand the lease over
    with pytest.raises(FencingError, match="local deadline passed"):
        writer.write([point])
    assert lease.acquire() is None
    assert len(rec.lines) == 2


def test_shards_spread_over_live_replicas_and_move_when_one_dies(pg_dsn: str) -> None:
    count = 16
    clocks = {r: Clock() for r in ("r1", "r2", "r3")}
    leases = {r: ShardLeases(_table(pg_dsn, r, c), Membership(_db(pg_dsn), group="rules", replica=r, ttl_s=TTL_S),
                             group="rules", shard_count=count) for r, c in clocks.items()}
    for _ in range(2):  # the first round registers everyone (r1 takes all), the second hands off
        for lease in leases.values():
            lease.acquire()
    for r, c in clocks.items():
        c.t += MARGIN_S  # handed-off shards are released margin_s later
        leases[r].acquire()
    for lease in leases.values():
        lease.acquire()
    held = {r: {g.name: g.token for g in lease.holdings.all()} for r, lease in leases.items()}
    for r in leases:
        assert set(held[r]) == {shard_lease_name("rules", k, count) for k in owned_by(r, count, leases)}
    assert set().union(*held.values()) == {shard_lease_name("rules", k, count) for k in range(count)}
    assert all(held[r] for r in leases)  # three replicas, 16 shards: everyone has work

    # r3 dies (stops renewing): after its TTL its shards go to r1 and r2, each with a higher token
    moved = held["r3"]
    fence = leases["r3"].fence_for(_enterprise_in(next(iter(moved)), count))
    _dies(pg_dsn, "r3")
    for r in ("r1", "r2"):
        leases[r].acquire()
    after = {r: {g.name: g.token for g in leases[r].holdings.all()} for r in ("r1", "r2")}
    assert set(moved) == (set(after["r1"]) | set(after["r2"])) - set(held["r1"]) - set(held["r2"])
    for r in ("r1", "r2"):
        assert {n: t for n, t in after[r].items() if n in held[r]} == held[r]  # kept, same tokens
        assert all(tok > moved[n] for n, tok in after[r].items() if n in moved)
    with pytest.raises(FencingError):
        fence.check()  # r3's fence, if it were still running, now fails in the database


def test_a_returning_replica_gets_its_shards_back_and_the_old_fence_fails(pg_dsn: str) -> None:
    count = 8
    c1, c2 = Clock(), Clock()
    r1 = ShardLeases(_table(pg_dsn, "r1", c1), Membership(_db(pg_dsn), group="rules", replica="r1", ttl_s=TTL_S),
                     group="rules", shard_count=count)
    r1.acquire()
    assert len(r1.holdings.all()) == count  # alone: everything
    r2 = ShardLeases(_table(pg_dsn, "r2", c2), Membership(_db(pg_dsn), group="rules", replica="r2", ttl_s=TTL_S),
                     group="rules", shard_count=count)
    r2.acquire()  # registers; r1 still holds everything
    assert r2.holdings.all() == []
    master = _master(count)
    fences = {p.key: p.fence for p in r1.parts(master)}
    r1.acquire()  # r1 sees r2 and hands off r2's shards: its fences for them fail at once
    theirs = {shard_lease_name("rules", k, count) for k in owned_by("r2", count, {"r1", "r2"})}
    assert theirs
    for name in theirs:
        with pytest.raises(FencingError):
            fences[name].check()
    c1.t += MARGIN_S  # released once no write request of r1 can be in flight
    r1.acquire()
    r2.acquire()
    assert {g.name for g in r2.holdings.all()} == theirs
    assert all(g.token == 2 for g in r2.holdings.all())
    assert r2.owns(_enterprise_in(next(iter(theirs)), count))


def test_membership_and_leases_of_a_clean_shutdown_are_gone_at_once(pg_dsn: str) -> None:
    c1, c2 = Clock(), Clock()
    r1 = ShardLeases(_table(pg_dsn, "r1", c1), Membership(_db(pg_dsn), group="rules", replica="r1", ttl_s=TTL_S),
                     group="rules", shard_count=4)
    r2 = ShardLeases(_table(pg_dsn, "r2", c2), Membership(_db(pg_dsn), group="rules", replica="r2", ttl_s=TTL_S),
                     group="rules", shard_count=4)
    r1.acquire()
    r2.acquire()
    r1.acquire()
    c1.t += MARGIN_S
    r1.acquire()
    r2.acquire()
    assert len(r2.holdings.all()) == len(owned_by("r2", 4, {"r1", "r2"})) > 0
    r2.release()
    r1.acquire()  # no TTL wait: r2 left the group and released its leases
    assert len(r1.holdings.all()) == 4


def test_unreachable_database_is_one_clear_error_without_the_password(pg_dsn: str) -> None:
    secret = "s3cret-pw"
    dsn = _unreachable(pg_dsn).replace("postgres@", f"postgres:{secret}@")
    db = Database(PgSettings(dsn=SecretStr(dsn), timeout_s=1.0, connect_timeout_s=2.0))
    with pytest.raises(CoordinationUnavailable) as err:
        db.run(lambda conn: conn.execute("SELECT 1"))
    assert secret not in str(err.value)
    with pytest.raises(CoordinationUnavailable, match="next attempt in"):
        db.run(lambda conn: conn.execute("SELECT 1"))  # the circuit is open: fails at once
    assert db.fast_failures == 1
    # libpq quotes a malformed part of the DSN in its error: the password is blanked
    bad = Database(PgSettings(dsn=SecretStr("postgresql://rules:pw%ZZ-secret@127.0.0.1:1/x")))
    with pytest.raises(CoordinationUnavailable, match="percent-encoded") as err:
        bad.run(lambda conn: conn.execute("SELECT 1"))
    assert "secret" not in str(err.value)


class _Recorder:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, lines: object) -> None:
        self.lines += list(lines)  # type: ignore[call-overload]

    def close(self) -> None:
        return None


def _unreachable(dsn: str) -> str:
    """The same DSN on a port nothing listens on (connection refused at once)."""
    from seamline.localstack import free_port

    head, _, tail = dsn.rpartition(":")
    return f"{head}:{free_port()}/{tail.split('/', 1)[1]}"


def _master(count: int) -> MasterData:
    ents = [{"id": f"e{i:02d}", "name": f"E{i}", "calendar": "c", "sites": [{"id": "s1", "lines": [
        {"id": "l1", "operators": 1, "categories": ["x"], "machine_count": 1}]}]} for i in range(count * 4)]
    shift = {"name": "day", "start": "08:00", "end": "17:00", "days": ["mon", "tue", "wed", "thu", "fri"]}
    return parse_master_data({"calendars": [{"id": "c", "shifts": [shift]}], "enterprises": ents})


def _enterprise_in(name: str, count: int) -> str:
    return next(e.id for e in _master(count).enterprises if shard_lease_name("rules", shard_of(e.id, count), count)
                == name)
