from __future__ import annotations

from pathlib import Path

from seamline.notify.outbox import Enqueued, Outbox
from tests.support.notify_fakes import message


def _outbox(tmp_path: Path, **kw: float) -> Outbox:
    args = {"max_rows": 100, "max_bytes": 1_000_000, "dedup_window_s": 60.0} | kw
    return Outbox(tmp_path / "o.sqlite", max_rows=int(args["max_rows"]), max_bytes=int(args["max_bytes"]),
                  dedup_window_s=args["dedup_window_s"])


def test_each_channel_sees_its_messages_oldest_first(tmp_path: Path) -> None:
    box = _outbox(tmp_path)
    for i in range(3):
        assert box.enqueue(f"k{i}", [message(f"a{i}", "c1"), message(f"b{i}", "c2")], now=i) is Enqueued.ACCEPTED
    order = []
    while (row := box.head("c1")) is not None:
        order.append(row.message.id)
        box.delivered(row)
    assert order == ["a0", "a1", "a2"]
    assert box.head("c2") is not None and box.head("c2").message.id == "b0"  # type: ignore[union-attr]


def test_a_failed_head_stays_head_with_its_attempts_counted(tmp_path: Path) -> None:
    box = _outbox(tmp_path)
    box.enqueue("k0", [message("a0")], now=0)
    box.enqueue("k1", [message("a1")], now=1)
    head = box.head("c1")
    assert head is not None
    box.retry_later(head, next_at=50)
    again = box.head("c1")
    assert again is not None and again.message.id == "a0" and again.attempts == 1 and again.next_at == 50


def test_the_same_notification_is_taken_once_within_the_dedup_window(tmp_path: Path) -> None:
    box = _outbox(tmp_path, dedup_window_s=60)
    assert box.enqueue("same", [message("a")], now=0) is Enqueued.ACCEPTED
    assert box.enqueue("same", [message("a")], now=59) is Enqueued.DUPLICATE
    assert box.enqueue("same", [message("a")], now=61) is Enqueued.ACCEPTED


def test_bounds_refuse_a_whole_notification_and_keep_the_rest(tmp_path: Path) -> None:
    box = _outbox(tmp_path, max_rows=3)
    assert box.enqueue("k0", [message("a"), message("b", "c2")], now=0) is Enqueued.ACCEPTED
    assert box.enqueue("k1", [message("c"), message("d", "c2")], now=0) is Enqueued.FULL
    assert sum(d.rows for d in box.depth()) == 2
    small = _outbox(tmp_path / "small", max_bytes=2000)
    assert small.enqueue("k", [message("big", text="x" * 3000)], now=0) is Enqueued.FULL
    # refused is not "seen": the retry Alertmanager makes later is taken when there is room
    assert box.enqueue("k1", [message("c")], now=1) is Enqueued.ACCEPTED


def test_the_outbox_survives_a_reopen(tmp_path: Path) -> None:
    box = _outbox(tmp_path)
    box.enqueue("k0", [message("a0")], now=10)
    box.record_send("c1", now=11)
    box.close()
    again = _outbox(tmp_path)
    row = again.head("c1")
    assert row is not None and row.message.title == "title a0" and row.created_at == 10
    assert again.recent_sends("c1", since=0) == [11]
    assert again.enqueue("k0", [message("a0")], now=12) is Enqueued.DUPLICATE
    (depth,) = again.depth()
    assert depth.channel == "c1" and depth.rows == 1 and depth.oldest_created_at == 10
