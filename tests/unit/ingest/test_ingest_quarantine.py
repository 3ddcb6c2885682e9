"""The SQLite quarantine: durable, bounded, listable by reason, replayable."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import orjson

from seamline.ingest.config import IngestConfig
from seamline.ingest.quarantine import SOURCE_DB, SOURCE_MQTT, QuarantineEntry, QuarantineStore
from seamline.ingest.service import replay_quarantine


def entry(
    reason: str = "bad_json", payload: bytes = b"{", topic: str = "t", source: str = SOURCE_MQTT
) -> QuarantineEntry:
    return QuarantineEntry(received_ms=1, source=source, topic=topic, reason=reason, detail="why", payload=payload)


def test_add_list_count_and_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    store = QuarantineStore(path, max_rows=100)
    store.add([entry("bad_json", b"{"), entry("oversized", b"x" * 10), entry("bad_json", b"[")])
    store.close()
    store = QuarantineStore(path, max_rows=100)
    assert len(store) == 3
    assert store.counts() == {"bad_json": 2, "oversized": 1}
    items = store.list(reason="bad_json")
    assert [i.payload for i in items] == [b"{", b"["]
    assert [i.reason for i in items] == ["bad_json", "bad_json"]
    assert items[0].topic == "t" and items[0].detail == "why" and not items[0].truncated
    assert [i.payload for i in store.list(after_id=items[0].id, limit=1)] == [b"x" * 10]
    store.close()


def test_bound_evicts_oldest_and_counts(tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path / "q.sqlite", max_rows=3)
    assert store.add([entry(payload=b"1"), entry(payload=b"2")]) == {}
    assert store.add([entry(payload=b"3"), entry(payload=b"4"), entry(payload=b"5")]) == {"bad_json": 2}
    assert store.evicted == 2 and store.added == 5
    assert [i.payload for i in store.list()] == [b"3", b"4", b"5"]
    assert len(store) == 3
    store.close()


def test_bytes_bound_evicts_oldest_and_counts_by_reason(tmp_path: Path) -> None:
    """Rows are not the only bound: 600 payloads of 250 kB must not take 150 MB."""
    store = QuarantineStore(tmp_path / "q.sqlite", max_rows=1000, max_bytes=10_000)
    store.add([entry("oversized", b"x" * 3000), entry("bad_json", b"y" * 3000)])
    evicted = store.add([entry("bad_schema", b"z" * 3000), entry("bad_schema", b"w" * 3000)])
    assert evicted == {"oversized": 1}  # 4 x (3000 + len("why")) > 10 000: the oldest goes
    rows, size = store.totals()
    assert rows == 3 and size == 3 * 3003 and size <= 10_000
    assert [i.reason for i in store.list()] == ["bad_json", "bad_schema", "bad_schema"]
    assert store.evicted_by_reason == {"oversized": 1}
    store.close()


def test_totals_come_from_the_store_so_a_replay_beside_ingest_is_seen(tmp_path: Path) -> None:
    """Two store objects on one file (ingest and a CLI replay): deletes by one are seen by the
    other's bound, so ingest does not evict new entries for room the replay already freed."""
    ingest = QuarantineStore(tmp_path / "q.sqlite", max_rows=3)
    ingest.add([entry(payload=b"1"), entry(payload=b"2"), entry(payload=b"3")])
    replay = QuarantineStore(tmp_path / "q.sqlite", max_rows=3)
    assert replay.delete([i.id for i in replay.list()[:2]]) == 2
    assert len(ingest) == 1
    assert ingest.add([entry(payload=b"4"), entry(payload=b"5")]) == {}
    assert [i.payload for i in ingest.list()] == [b"3", b"4", b"5"]
    ingest.close()
    replay.close()


def test_an_older_store_is_migrated_with_its_totals(tmp_path: Path) -> None:
    import sqlite3
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE quarantine (id INTEGER PRIMARY KEY AUTOINCREMENT, received_ms INTEGER NOT NULL,"
                     " source TEXT NOT NULL, topic TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL,"
                     " payload BLOB NOT NULL, payload_len INTEGER NOT NULL);"
                     "INSERT INTO quarantine VALUES (NULL, 1, 'mqtt', 't', 'bad_json', 'why', x'7b', 1);")
    db.commit()
    db.close()
    store = QuarantineStore(path, max_rows=10)
    assert store.totals() == (1, 4)
    assert [i.attempts for i in store.list()] == [0]
    store.close()


def test_db_rejected_retries_are_scheduled_and_capped(tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path / "q.sqlite", max_rows=10)
    store.add([entry("db_rejected", b"m f=1 1", source=SOURCE_DB), entry("bad_json")])
    [due] = store.due_retries(reason="db_rejected", now_ms=0, max_attempts=2, limit=10)
    store.retry_later(due.id, attempts=1, retry_at_ms=5_000, detail="still refused")
    assert store.due_retries(reason="db_rejected", now_ms=4_999, max_attempts=2, limit=10) == []
    [again] = store.due_retries(reason="db_rejected", now_ms=5_000, max_attempts=2, limit=10)
    assert again.attempts == 1 and again.detail == "still refused"
    store.retry_later(due.id, attempts=2, retry_at_ms=6_000, detail="still refused")
    assert store.due_retries(reason="db_rejected", now_ms=10**12, max_attempts=2, limit=10) == []  # a person's turn
    store.close()


def test_payload_is_truncated_but_length_kept(tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path / "q.sqlite", max_rows=3, max_payload_bytes=4)
    store.add([entry(payload=b"123456")])
    [item] = store.list()
    assert item.payload == b"1234" and item.payload_len == 6 and item.truncated
    store.close()


def test_delete_and_update_reason(tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path / "q.sqlite", max_rows=10)
    store.add([entry(), entry()])
    a, b = store.list()
    assert store.delete([a.id]) == 1
    store.update_reason(b.id, reason="schema_version", detail="still v2")
    [left] = store.list()
    assert (left.id, left.reason, left.detail) == (b.id, "schema_version", "still v2")
    assert len(store) == 1
    store.close()


class RecordingWriter:
    """Fake PointWriter: stores lines like a database would."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, lines: Sequence[str]) -> None:
        self.lines.extend(lines)

    def close(self) -> None:
        pass


def test_replay_writes_what_passes_now_and_keeps_the_rest(tmp_path: Path) -> None:
    import time

    now = int(time.time() * 1000)
    config = IngestConfig.model_validate({"quarantine": {"path": str(tmp_path / "q.sqlite")}})
    good = orjson.dumps({"asset_kind": "meter", "samples": [{"ts_ms": now, "seq": 1, "metrics": {"power_w": 5}}]})
    store = QuarantineStore(config.quarantine.path, max_rows=10)
    store.add([
        # e.g. quarantined by an older ingest; passes now
        entry("unknown_asset_kind", good, topic="seamline/v1/acme/s1/hall/meter1/data"),
        entry("bad_json", b"{", topic="seamline/v1/acme/s1/hall/meter1/data"),
        entry("db_rejected", b"meter,asset=x power_w=1.0 1", source=SOURCE_DB),
    ])
    store.close()
    writer = RecordingWriter()
    replayed, failing = replay_quarantine(config, reason=None, writer=writer, stop=threading.Event())
    assert (replayed, failing) == (2, 1)
    assert writer.lines == [
        f'meter,area=hall,asset=meter1,enterprise=acme,site=s1 power_w=5.0,seq=1i,quality="good" {now}',
        "meter,asset=x power_w=1.0 1",
    ]
    store = QuarantineStore(config.quarantine.path, max_rows=10)
    assert store.counts() == {"bad_json": 1}
    store.close()


def test_replay_by_reason_touches_only_that_reason(tmp_path: Path) -> None:
    config = IngestConfig.model_validate({"quarantine": {"path": str(tmp_path / "q.sqlite")}})
    store = QuarantineStore(config.quarantine.path, max_rows=10)
    store.add([entry("db_rejected", b"m f=1.0 1", source=SOURCE_DB), entry("bad_json", b"{", topic="x")])
    store.close()
    writer = RecordingWriter()
    assert replay_quarantine(config, reason="db_rejected", writer=writer) == (1, 0)
    assert writer.lines == ["m f=1.0 1"]
    store = QuarantineStore(config.quarantine.path, max_rows=10)
    assert store.counts() == {"bad_json": 1}
    store.close()
