"""The spool's retained history (kept after PUBACK until confirmed), resend with lost ranges,
the repair handler's decoding held to the contract's models, and a full disk through the fault hook."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from seamline.contracts import seqranges
from seamline.contracts.examples import examples
from seamline.contracts.repair import ConfirmMessage, LostMessage
from seamline.contracts.topic import MessageKind
from seamline.edge_agent.repair import Repair, RepairTopics, decode_assets, encode_lost
from seamline.edge_agent.spool import OutMessage, Priority, SqliteSpool

DATA = "seamline/v1/f001/s1/line01/m001/data"
STATE = "seamline/v1/f001/s1/line01/m001/state"
TOPICS = RepairTopics.of(enterprise="f001", site="s1", gateway_id="gw01")


def data(seq: int) -> OutMessage:
    payload = orjson.dumps({"asset_kind": "sewing_machine", "samples": [{"ts_ms": 1_764_291_600_000 + seq * 60_000,
                                                                         "seq": seq, "metrics": {"run_s": 1.0}}]})
    return OutMessage(DATA, payload, Priority.AGGREGATE)


def state(seq: int) -> OutMessage:
    return OutMessage(STATE, orjson.dumps({"ts_ms": 1_764_291_600_000, "seq": seq, "state": "idle"}), Priority.STATE)


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000

    def __call__(self) -> int:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def spool(tmp_path: Path, clock: Clock) -> Iterator[SqliteSpool]:
    with SqliteSpool(tmp_path / "s.sqlite", max_bytes=1_000_000, now_ms=clock, history_retention_ms=60_000) as s:
        yield s


def send_all(spool: SqliteSpool) -> None:
    spool.ack([m.id for m in spool.peek(limit=10_000)])


def test_seqranges() -> None:
    assert seqranges.merge([(4, 6), (1, 3), (9, 9)]) == [(1, 6), (9, 9)]
    assert seqranges.subtract([(1, 10)], [(3, 4), (8, 20)]) == [(1, 2), (5, 7)]
    assert seqranges.gaps([(1, 2), (5, 7), (9, 9)]) == [(3, 4), (8, 8)]
    assert seqranges.from_values([5, 1, 2, 3]) == [(1, 3), (5, 5)]
    assert seqranges.count([(1, 3), (2, 5)]) == 5


def test_acked_messages_are_kept_until_a_confirm_covers_them(spool: SqliteSpool) -> None:
    spool.commit([data(i) for i in range(1, 11)] + [state(11)])
    send_all(spool)
    stats = spool.stats()
    assert stats.messages == 0 and stats.history is not None and stats.history.messages == 11
    assert spool.confirm({"line01/m001": [(1, 5), (11, 11)]}) == 6
    assert spool.stats().history.messages == 5  # type: ignore[union-attr]


def test_birth_is_not_kept_and_the_gateways_own_telemetry_is(spool: SqliteSpool) -> None:
    spool.commit([OutMessage("seamline/v1/f001/s1/_gateway/gw01/birth", b"{}", Priority.STATE),
                  OutMessage("seamline/v1/f001/s1/_gateway/gw01/data", b'{"samples":[{"seq":1}]}', Priority.TELEMETRY)])
    send_all(spool)
    assert spool.stats().history.messages == 1  # type: ignore[union-attr]
    assert spool.resend({"_gateway/gw01": [(1, 1)]}) == {}


def test_resend_replays_what_is_kept_and_reports_the_rest_lost(spool: SqliteSpool) -> None:
    spool.commit([data(i) for i in range(1, 11)])
    send_all(spool)
    spool.confirm({"line01/m001": [(1, 3)]})
    lost = spool.resend({"line01/m001": [(2, 6)], "line02/m009": [(1, 2)]})
    assert lost == {"line01/m001": [(2, 3)], "line02/m009": [(1, 2)]}
    replays = spool.peek(limit=100)
    assert [orjson.loads(m.payload)["samples"][0]["seq"] for m in replays] == [4, 5, 6]
    assert all(m.replay for m in replays)
    send_all(spool)  # the replays acked again replace their kept originals
    assert spool.stats().history.messages == 7  # type: ignore[union-attr]


def _queued_seqs(spool: SqliteSpool) -> list[int]:
    return [orjson.loads(m.payload)["samples"][0]["seq"] for m in spool.peek(limit=10_000)]


def test_a_resend_does_not_queue_again_what_is_still_queued(spool: SqliteSpool) -> None:
    """Resend requests repeat while a slow uplink has not yet delivered the last replays: each kept
    message is queued once (copies of copies stalled an uplink on 3 x 3 334 messages)."""
    spool.commit([data(i) for i in range(1, 11)])
    send_all(spool)
    assert spool.resend({"line01/m001": [(2, 6)]}) == {}
    assert spool.resend({"line01/m001": [(1, 8)]}) == {}
    assert _queued_seqs(spool) == [2, 3, 4, 5, 6, 1, 7, 8]
    assert spool.stats().messages == 8


def test_unconfirmed_are_not_replayed_again_while_their_replays_are_queued(spool: SqliteSpool, clock: Clock) -> None:
    spool.commit([data(i) for i in range(1, 6)])
    send_all(spool)
    clock.t += 10_000
    assert spool.replay_unconfirmed(older_than_ms=5_000) == 5
    clock.t += 10_000
    assert spool.replay_unconfirmed(older_than_ms=5_000) == 0  # the first replays are not sent yet
    assert _queued_seqs(spool) == [1, 2, 3, 4, 5]
    send_all(spool)
    clock.t += 10_000
    assert spool.replay_unconfirmed(older_than_ms=5_000) == 5  # delivered, still not confirmed: again


def test_unsent_messages_are_not_reported_lost(spool: SqliteSpool) -> None:
    spool.commit([data(i) for i in range(1, 6)])
    assert spool.resend({"line01/m001": [(1, 5)]}) == {}


def test_history_expires_after_the_retention(spool: SqliteSpool, clock: Clock) -> None:
    spool.commit([data(1), data(2)])
    send_all(spool)
    clock.t += 61_000
    spool.commit([data(3)])
    send_all(spool)
    assert spool.stats().history.messages == 1  # type: ignore[union-attr]
    assert spool.resend({"line01/m001": [(1, 3)]}) == {"line01/m001": [(1, 2)]}


def test_history_counts_against_max_bytes_and_goes_before_unsent_messages(tmp_path: Path, clock: Clock) -> None:
    one = len(data(1).payload) + len(DATA) + 64
    with SqliteSpool(tmp_path / "s.sqlite", max_bytes=one * 10, now_ms=clock, history_retention_ms=60_000) as s:
        s.commit([data(i) for i in range(1, 9)])
        send_all(s)
        s.commit([data(i) for i in range(9, 15)])  # ~14 > 10: kept ones are forgotten, no unsent dropped
        st = s.stats()
        assert st.messages == 6 and st.dropped_total == 0
        assert st.history is not None and st.history.evicted_total >= 4
        assert st.history.messages + st.history.evicted_total == 8
        assert st.bytes + st.history.bytes <= s.max_bytes < st.bytes + st.history.bytes + one


def test_repair_handler_confirms_and_answers_resend_with_a_lost_report(spool: SqliteSpool) -> None:
    spool.commit([data(i) for i in range(1, 6)])
    send_all(spool)
    woke: list[int] = []
    repair = Repair(spool=spool, topics=TOPICS, gateway_id="gw01", now_ms=lambda: 1_764_291_600_000,
                    wake=lambda: woke.append(1))
    confirm = ConfirmMessage.model_validate({"gateway_id": "gw01", "generated_ts_ms": 1_764_291_600_000,
                                             "window_start_ms": 1_764_291_500_000,
                                             "assets": [{"area": "line01", "asset": "m001",
                                                         "ranges": [{"first": 1, "last": 2}]}]})
    repair.handle(TOPICS.confirm, confirm.model_dump_json().encode())
    assert repair.counters.confirmed_messages == 2
    resend = orjson.dumps({"schema_version": 1, "gateway_id": "gw01", "request_id": "r1",
                           "generated_ts_ms": 1_764_291_600_000,
                           "assets": [{"area": "line01", "asset": "m001", "ranges": [{"first": 1, "last": 4}]}]})
    repair.handle(TOPICS.resend, resend)
    queued = spool.peek(limit=10)
    lost = [m for m in queued if m.topic == TOPICS.lost]
    assert len(lost) == 1 and woke
    report = LostMessage.model_validate_json(lost[0].payload)
    assert report.request_id == "r1" and [(r.first, r.last) for r in report.assets[0].ranges] == [(1, 2)]
    assert sum(1 for m in queued if m.replay) == 2
    repair.handle(TOPICS.resend, b'{"gateway_id": "gw02", "assets": []}')  # another gateway's: ignored
    assert repair.counters.malformed == 1


def test_repair_decodes_the_contract_examples() -> None:
    for topic, model in examples():
        if topic.kind in (MessageKind.CONFIRM, MessageKind.RESEND):
            _obj, assets = decode_assets(model.model_dump_json().encode(), gateway_id="gw01")
            assert assets and all(isinstance(r, tuple) for rs in assets.values() for r in rs)
    encoded = encode_lost(gateway_id="gw01", request_id="x", ts_ms=1_764_291_600_000,
                          lost={"line01/m001": [(3, 4)]})
    assert LostMessage.model_validate_json(encoded).assets[0].asset == "m001"


def test_disk_full_keeps_running_drops_by_policy_and_resumes(tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    full = {"on": False}

    def fault(name: str) -> None:
        if full["on"]:
            raise sqlite3.OperationalError("database or disk is full")

    with SqliteSpool(tmp_path / "s.sqlite", max_bytes=1_000_000, fault=fault) as s:
        s.commit([data(1)])
        full["on"] = True
        for i in range(2, 6):
            assert s.commit([data(i)]) == []  # no exception: dropped and counted
        assert s.stats().disk_full_dropped == 4
        assert sum("disk full" in r.getMessage() for r in caplog.records) == 1  # one line per episode
        full["on"] = False
        assert s.commit([data(6)])
        assert s.stats().messages == 2
        assert any("disk space is back" in r.getMessage() for r in caplog.records)


def test_below_the_reserve_the_spool_stops_growing(tmp_path: Path) -> None:
    free = {"bytes": 10**9}
    with SqliteSpool(tmp_path / "s.sqlite", max_bytes=1_000_000, reserve_bytes=1_000_000,
                     free_bytes=lambda _p: free["bytes"]) as s:
        s.commit([data(i) for i in range(1, 6)])
        free["bytes"] = 10
        s.commit([data(i) for i in range(6, 9)])
        st = s.stats()
        assert st.messages == 5 and st.dropped_total == 3
