"""SqliteSpool: FIFO, acks, checkpoints, the byte bound and its drop policy, persistence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from seamline.edge_agent.spool import (
    ROW_OVERHEAD_BYTES,
    OutMessage,
    Priority,
    SpoolError,
    SqliteSpool,
    message_size_bytes,
)

T, A, S = Priority.TELEMETRY, Priority.AGGREGATE, Priority.STATE
SIZE = message_size_bytes("t/x", b"0123456789")  # every message below has this size


def msg(n: int, p: Priority = A, retain: bool = False) -> OutMessage:
    return OutMessage("t/x", f"{n:010d}".encode(), p, retain)


def numbers(spool: SqliteSpool) -> list[int]:
    return [int(m.payload) for m in spool.peek(limit=10_000)]


class Clock:
    def __init__(self) -> None:
        self.ms = 1_700_000_000_000

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[SqliteSpool]:
    s = SqliteSpool(tmp_path / "spool.db", max_bytes=1_000_000, now_ms=Clock())
    yield s
    s.close()


def test_size_accounting() -> None:
    assert message_size_bytes("é/x", b"abc") == 4 + 3 + ROW_OVERHEAD_BYTES


def test_commit_peek_in_order_with_all_fields(spool: SqliteSpool) -> None:
    ids = spool.commit([msg(1, S, retain=True), msg(2, T)])
    ids += spool.commit([msg(3)])
    assert ids == sorted(ids) and len(set(ids)) == 3
    got = spool.peek()
    assert [(m.id, m.topic, m.payload, m.priority, m.retain, m.created_ms) for m in got] == [
        (ids[0], "t/x", b"0000000001", S, True, 1_700_000_000_000),
        (ids[1], "t/x", b"0000000002", T, False, 1_700_000_000_000),
        (ids[2], "t/x", b"0000000003", A, False, 1_700_000_000_000),
    ]
    assert [m.id for m in spool.peek(after_id=ids[0], limit=1)] == [ids[1]]
    assert spool.peek(limit=0) == []


def test_ack_deletes_and_counts(spool: SqliteSpool) -> None:
    ids = spool.commit([msg(i) for i in range(5)])
    spool.ack([ids[1], ids[3], 99_999])  # unknown id ignored
    spool.ack([ids[1]])  # second ack of the same id ignored
    assert numbers(spool) == [0, 2, 4]
    st = spool.stats()
    assert (st.messages, st.bytes, st.acked_total, st.put_total) == (3, 3 * SIZE, 2, 5)


def test_ids_never_reused_after_the_spool_empties(tmp_path: Path) -> None:
    s = SqliteSpool(tmp_path / "s.db", max_bytes=10_000)
    first = s.commit([msg(1), msg(2)])
    s.ack(first)
    s.close()
    s = SqliteSpool(tmp_path / "s.db", max_bytes=10_000)
    assert s.commit([msg(3)])[0] > max(first)
    s.close()


def test_checkpoint_upsert_and_persistence(tmp_path: Path) -> None:
    s = SqliteSpool(tmp_path / "s.db", max_bytes=10_000)
    s.commit([], {"m1": b"a", "m2": b"b"})
    s.commit([msg(1)], {"m1": b"c"})
    assert s.load_checkpoint("m1") == b"c"
    assert s.load_checkpoint("nope") is None
    s.close()
    s = SqliteSpool(tmp_path / "s.db", max_bytes=10_000)
    assert s.checkpoints() == {"m1": b"c", "m2": b"b"}
    assert numbers(s) == [1]
    s.close()


def test_failed_commit_stores_nothing(spool: SqliteSpool) -> None:
    spool.commit([msg(1)], {"k": b"old"})
    with pytest.raises(ValueError, match="payload"):
        spool.commit([msg(2), OutMessage("t/x", "not bytes", A)], {"k": b"new"})  # type: ignore[arg-type]
    assert numbers(spool) == [1]
    assert spool.load_checkpoint("k") == b"old"
    assert spool.stats().put_total == 1


@pytest.mark.parametrize("bad", [OutMessage("", b"x", A), OutMessage("t/x", b"x" * 2000, A)])
def test_rejects_empty_topic_and_oversize(tmp_path: Path, bad: OutMessage) -> None:
    s = SqliteSpool(tmp_path / "s.db", max_bytes=1000)
    with pytest.raises(ValueError):
        s.commit([bad])
    s.close()


def test_drop_policy_lowest_priority_oldest_first(tmp_path: Path) -> None:
    s = SqliteSpool(tmp_path / "s.db", max_bytes=5 * SIZE)
    s.commit([msg(0, S), msg(1, A), msg(2, T), msg(3, A), msg(4, S)])
    assert s.stats().dropped_total == 0
    s.commit([msg(5, A)])  # one too many: the only telemetry goes
    assert numbers(s) == [0, 1, 3, 4, 5]
    s.commit([msg(6, S), msg(7, T)])  # two too many: the new telemetry, then the oldest aggregate
    assert numbers(s) == [0, 3, 4, 5, 6]
    st = s.stats()
    assert st.dropped_by_priority == {T: 2, A: 1, S: 0}
    assert st.dropped_total == 3
    assert st.bytes == 5 * SIZE and st.messages == 5
    s.commit([msg(8, S), msg(9, S), msg(10, S), msg(11, S)])  # aggregates all go, then oldest state
    assert numbers(s) == [6, 8, 9, 10, 11]
    assert s.stats().dropped_by_priority == {T: 2, A: 3, S: 2}
    s.close()
    s = SqliteSpool(tmp_path / "s.db", max_bytes=5 * SIZE)  # counters are persistent
    st = s.stats()
    assert (st.dropped_total, st.put_total, st.messages, st.bytes) == (7, 12, 5, 5 * SIZE)
    s.close()


def test_drop_policy_over_many_scan_batches(tmp_path: Path) -> None:
    s = SqliteSpool(tmp_path / "s.db", max_bytes=10 * SIZE)
    s.commit([msg(i, T) for i in range(600)] + [msg(1000 + i, S) for i in range(3)])
    assert numbers(s) == [593, 594, 595, 596, 597, 598, 599, 1000, 1001, 1002]
    assert s.stats().dropped_by_priority == {T: 593, A: 0, S: 0}
    s.close()


def test_stats_oldest_created(tmp_path: Path) -> None:
    clock = Clock()
    s = SqliteSpool(tmp_path / "s.db", max_bytes=10_000, now_ms=clock)
    assert s.stats().oldest_created_ms is None
    a = s.commit([msg(1)])
    clock.ms += 5000
    s.commit([msg(2)])
    assert s.stats().oldest_created_ms == 1_700_000_000_000
    s.ack(a)
    assert s.stats().oldest_created_ms == 1_700_000_005_000
    s.close()


def test_closed_spool_raises(tmp_path: Path) -> None:
    s = SqliteSpool(tmp_path / "s.db", max_bytes=10_000)
    s.close()
    s.close()  # idempotent
    with pytest.raises(SpoolError, match="closed"):
        s.commit([msg(1)])


def test_not_a_database(tmp_path: Path) -> None:
    p = tmp_path / "s.db"
    p.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(SpoolError, match=str(p)):
        SqliteSpool(p, max_bytes=10_000)


def test_bad_max_bytes(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        SqliteSpool(tmp_path / "s.db", max_bytes=0)


def test_wal_mode_on_disk(spool: SqliteSpool) -> None:
    import sqlite3

    spool.commit([msg(1)])
    other = sqlite3.connect(spool.path)
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()
