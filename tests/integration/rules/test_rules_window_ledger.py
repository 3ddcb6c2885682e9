"""The window ledger against a real PostgreSQL: begin/finish fenced in the same statement as the
lease check, what a new owner may claim, re-pending by a backfill, gap data, and PostgreSQL
being away (computation goes on, nothing is recorded)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from pydantic import SecretStr

from seamline.rules.coordination.database import Database, PgSettings
from seamline.rules.coordination.lease_table import LeaseTable
from seamline.rules.coordination.schema import LEASE, WINDOW, WINDOW_RUN, ensure_schema
from seamline.rules.coordination.window_ledger import PgLedger
from seamline.rules.kpi_points import FencingError, KpiPoint
from seamline.rules.ledger import WindowKey, digest
from seamline.rules.windows import Window

pytestmark = pytest.mark.integration

SHARD = "rules/shard/0of2"
T0 = datetime(2026, 5, 6, 0, 0, tzinfo=UTC)
POINTS = [KpiPoint("kpi_line", (("line", "l1"),), 0, (("coverage", 1.0),))]


def key(i: int, label: str = "1h") -> WindowKey:
    return WindowKey(SHARD, "Asia/Shanghai", label, Window(T0 + timedelta(hours=i), T0 + timedelta(hours=i + 1)))


def setup(dsn: str, holder: str) -> tuple[LeaseTable, PgLedger]:
    db = Database(PgSettings(dsn=SecretStr(dsn), timeout_s=2), on_connect=ensure_schema)
    return LeaseTable(db, holder=holder, ttl_s=30, margin_s=5), PgLedger(db, holder=holder)


def sql(dsn: str, q: str, *args: object) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(q, args)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


def test_begin_and_finish_only_under_the_current_token(pg_dsn: str) -> None:
    ta, a = setup(pg_dsn, "a")
    tb, b = setup(pg_dsn, "b")
    ga = ta.take(SHARD)
    assert ga is not None
    a.begin(key(0), ga.token)
    with pytest.raises(FencingError):
        b.begin(key(1), 99)  # b holds nothing
    sql(pg_dsn, f"UPDATE {LEASE} SET expires_at = now() - interval '1 s'")  # a's TTL passes
    gb = tb.take(SHARD)
    assert gb is not None and gb.token == ga.token + 1
    a.finish(key(0), ga.token, POINTS)  # a finishes late: the run is kept, the ledger does not take it
    assert sql(pg_dsn, f"SELECT status, token FROM {WINDOW}") == [("running", ga.token)]
    with pytest.raises(FencingError):
        a.begin(key(1), ga.token)
    assert b.claimable([(SHARD, gb.token)], limit=10, stale_s=600) == [key(0)]  # left running by an older token
    b.begin(key(0), gb.token)
    b.finish(key(0), gb.token, POINTS)
    assert sql(pg_dsn, f"SELECT status, token, holder, points, digest, runs FROM {WINDOW}") == [
        ("done", gb.token, "b", 1, digest(POINTS), 1)]
    assert sql(pg_dsn, f"SELECT holder, recorded, digest FROM {WINDOW_RUN} ORDER BY id") == [
        ("a", False, digest(POINTS)), ("b", True, digest(POINTS))]
    assert b.claimable([(SHARD, gb.token)], limit=10, stale_s=600) == []


def test_claimable_pending_and_orphaned_oldest_first_and_backfill_repends_done(pg_dsn: str) -> None:
    t, led = setup(pg_dsn, "a")
    g = t.take(SHARD)
    assert g is not None
    led.enqueue([key(3), key(1)])
    led.begin(key(2), g.token)  # being computed by this owner right now: not claimable
    led.begin(key(0), g.token)
    led.finish(key(0), g.token, POINTS)
    assert led.claimable([(SHARD, g.token)], limit=10, stale_s=600) == [key(1), key(3)]
    assert led.claimable([(SHARD, g.token)], limit=1, stale_s=600) == [key(1)]
    assert led.claimable([("rules/shard/1of2", 7)], limit=10, stale_s=600) == []  # another shard's
    led.enqueue([key(0), key(2)])  # a backfill: done -> pending again; running stays running
    assert sql(pg_dsn, f"SELECT window_start, status FROM {WINDOW} ORDER BY window_start") == [
        (key(0).window.start, "pending"), (key(1).window.start, "pending"), (key(2).window.start, "running"),
        (key(3).window.start, "pending")]
    led.abandon(key(2), g.token)
    assert len(led.claimable([(SHARD, g.token)], limit=10, stale_s=600)) == 4


def test_recorded_tells_final_from_computed_while_open(pg_dsn: str) -> None:
    t, led = setup(pg_dsn, "a")
    g = t.take(SHARD)
    assert g is not None
    now = datetime.now(UTC)
    closed = WindowKey(SHARD, "Asia/Shanghai", "5m", Window(now - timedelta(minutes=20), now - timedelta(minutes=15)))
    open_ = WindowKey(SHARD, "Asia/Shanghai", "5m", Window(now - timedelta(minutes=1), now + timedelta(minutes=4)))
    for k in (closed, open_):
        led.begin(k, g.token)
        led.finish(k, g.token, POINTS)
    rec = led.recorded(SHARD, since=now - timedelta(hours=1), settle_s=30)
    assert rec.first == {("Asia/Shanghai", "5m"): closed.window.start}
    assert rec.final == frozenset({("Asia/Shanghai", "5m", closed.window.start)})


def test_postgres_away_means_not_recorded_not_stopped(pg_dsn: str) -> None:
    t, led = setup(pg_dsn, "a")
    g = t.take(SHARD)
    assert g is not None
    head, _, tail = pg_dsn.rpartition(":")
    led.db.settings = PgSettings(dsn=SecretStr(f"{head}:1/{tail.split('/', 1)[1]}"), timeout_s=1)  # nothing on port 1
    led.db.close()
    led.begin(key(0), g.token)
    led.finish(key(0), g.token, POINTS)
    assert led.unrecorded == 2


def test_prune_keeps_recent_windows(pg_dsn: str) -> None:
    t, led = setup(pg_dsn, "a")
    g = t.take(SHARD)
    assert g is not None
    led.enqueue([key(0), WindowKey(SHARD, "Asia/Shanghai", "1h", Window(datetime.now(UTC), datetime.now(UTC)
                                                                          + timedelta(hours=1)))])
    assert led.prune(keep_days=1) == 1
    assert len(sql(pg_dsn, f"SELECT 1 FROM {WINDOW}")) == 1
