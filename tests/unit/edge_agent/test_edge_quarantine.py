"""The spool's local quarantine: refused messages are kept, counted by reason, bounded, listed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from seamline.cli import main
from seamline.edge_agent.quarantine import QuarantineReadError, Rejection, broker_reason, quarantine_bound, read
from seamline.edge_agent.spool import OutMessage, Priority, SqliteSpool, message_size_bytes

TOPIC = "seamline/v1/f002/s1/line07/m001/data"


def _spool(path: Path, max_bytes: int = 100_000) -> SqliteSpool:
    return SqliteSpool(path, max_bytes=max_bytes, now_ms=lambda: 1_764_000_000_000)


def test_refused_messages_move_to_the_quarantine_and_are_counted_by_reason(tmp_path: Path) -> None:
    spool = _spool(tmp_path / "s.db")
    ids = spool.commit([OutMessage(TOPIC, b'{"n": %d}' % i, Priority.AGGREGATE) for i in range(5)])
    moved = spool.quarantine([Rejection(ids[1], broker_reason(0x87), "not authorized"),
                              Rejection(ids[3], "oversized", "too big"),
                              Rejection(999, broker_reason(0x87), "already dropped")])
    assert moved == 2
    st = spool.stats()
    assert (st.messages, st.bytes) == (3, 3 * message_size_bytes(TOPIC, b'{"n": 0}'))
    assert [m.id for m in spool.peek()] == [ids[0], ids[2], ids[4]]
    q = spool.quarantine_stats()
    assert (q.messages, q.rejected_by_reason, q.evicted_total) == (2, {"broker_0x87": 2, "oversized": 1}, 0)
    kept = spool.quarantined()
    assert [(m.id, m.topic, m.payload, m.reason) for m in kept] == [
        (ids[1], TOPIC, b'{"n": 1}', "broker_0x87"), (ids[3], TOPIC, b'{"n": 3}', "oversized")]
    spool.close()
    reopened = _spool(tmp_path / "s.db")  # counters and rows survive a restart
    assert reopened.quarantine_stats() == q
    assert reopened.stats().messages == 3
    reopened.close()


def test_the_quarantine_is_bounded_and_counts_what_it_evicts(tmp_path: Path) -> None:
    spool = _spool(tmp_path / "s.db", max_bytes=65_536)
    payload = b"x" * 1000
    ids = spool.commit([OutMessage(TOPIC, payload, Priority.AGGREGATE) for _ in range(20)])
    spool.quarantine([Rejection(i, broker_reason(0x87), "no") for i in ids])
    size = message_size_bytes(TOPIC, payload)
    fit = quarantine_bound(65_536) // size
    q = spool.quarantine_stats()
    assert (q.messages, q.evicted_total, q.rejected_by_reason) == (fit, 20 - fit, {"broker_0x87": 20})
    assert [m.id for m in spool.quarantined()] == ids[20 - fit:]  # the newest are kept
    assert spool.stats().messages == 0
    spool.close()


def test_read_while_the_agent_holds_the_spool_and_refuses_a_missing_file(tmp_path: Path) -> None:
    spool = _spool(tmp_path / "s.db")
    ids = spool.commit([OutMessage(TOPIC, b"{}", Priority.STATE)])
    spool.quarantine([Rejection(ids[0], broker_reason(0x87), "not authorized")])
    stats, messages = read(tmp_path / "s.db")
    assert stats.messages == 1 and messages[0].topic == TOPIC
    spool.close()
    with pytest.raises(QuarantineReadError, match="no spool file"):
        read(tmp_path / "missing.db")


def test_cli_lists_the_quarantine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spool_path = tmp_path / "spool.sqlite"
    spool = _spool(spool_path)
    ids = spool.commit([OutMessage(TOPIC, b'{"seq": 7}', Priority.AGGREGATE)])
    spool.quarantine([Rejection(ids[0], broker_reason(0x87), "broker PUBACK Not authorized (0x87)")])
    spool.close()
    config = tmp_path / "edge.yaml"
    config.write_text(yaml.safe_dump({"gateway": {"id": "gw01", "enterprise": "f001", "site": "s1"},
                                      "uplink": {"host": "localhost", "port": 1883},
                                      "spool": {"path": str(spool_path)}}))
    assert main(["edge", "quarantine", "list", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "1 message(s) in quarantine" in out
    assert "refused by reason: broker_0x87 1" in out
    assert TOPIC in out and '{"seq": 7}' in out and "Not authorized" in out
