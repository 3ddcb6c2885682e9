"""The inbox between the MQTT thread and the writer: bounded, counted, FIFO, cut like a batch."""

from __future__ import annotations

import threading

from seamline.ingest.batcher import BatchLimits, Inbox, Work


def limits(*, max_lines: int = 100, max_messages: int = 10, max_delay_s: float = 30.0,
           queue_max_messages: int = 50) -> BatchLimits:
    return BatchLimits(max_lines=max_lines, max_messages=max_messages, max_delay_s=max_delay_s,
                       queue_max_messages=queue_max_messages)


def work(mid: int, n_lines: int = 1) -> Work:
    return Work(lines=[f"m f={mid}.{i} {mid}" for i in range(n_lines)], topic=f"t/{mid}", mid=mid, qos=1)


def closed() -> threading.Event:
    e = threading.Event()
    e.set()
    return e


def test_put_beyond_the_bound_waits_is_counted_and_times_out() -> None:
    inbox = Inbox(limits(queue_max_messages=3))
    assert all(inbox.put(work(m)) for m in (1, 2, 3))
    assert inbox.full_waits == 0
    assert not inbox.put(work(4), timeout_s=0.01)
    assert not inbox.put(work(5), timeout_s=0)
    assert (len(inbox), inbox.full_waits, inbox.in_flight) == (3, 2, 3)


def test_a_full_inbox_takes_again_once_the_writer_took_a_batch() -> None:
    inbox = Inbox(limits(queue_max_messages=2, max_messages=1))
    inbox.put(work(1))
    inbox.put(work(2))
    result: list[bool] = []
    blocked = threading.Thread(target=lambda: result.append(inbox.put(work(3), timeout_s=10)))
    blocked.start()
    batch = inbox.take(closed(), clock=lambda: 0.0)
    blocked.join(10)
    assert not blocked.is_alive()
    assert batch is not None and [w.mid for w in batch] == [1]
    assert result == [True]
    assert [w.mid for w in inbox.take(closed(), clock=lambda: 0.0) or []] == [2]
    assert [w.mid for w in inbox.take(closed(), clock=lambda: 0.0) or []] == [3]


def test_batches_are_cut_by_messages_then_lines_in_fifo_order() -> None:
    inbox = Inbox(limits(max_messages=3, max_lines=5))
    for mid, n in ((1, 1), (2, 1), (3, 1), (4, 1), (5, 3), (6, 2), (7, 1)):
        inbox.put(work(mid, n))
    closing = closed()  # take what is there without waiting for max_delay_s
    cuts = []
    while (batch := inbox.take(closing, clock=lambda: 0.0)) is not None:
        cuts.append([w.mid for w in batch])
    # 3 messages; then 4+5 = 4 lines < 5 so 6 joins (6 lines, cut once >= 5); then 7
    assert cuts == [[1, 2, 3], [4, 5, 6], [7]]
    assert len(inbox) == 0


def test_in_flight_counts_until_done() -> None:
    inbox = Inbox(limits())
    for m in range(4):
        inbox.put(work(m))
    inbox.take(closed(), clock=lambda: 0.0)
    assert inbox.in_flight == 4  # taken is not acked
    assert inbox.done(4) == 0


def test_empty_and_closing_returns_none() -> None:
    assert Inbox(limits()).take(closed(), clock=lambda: 0.0) is None


def test_partial_batch_is_taken_when_its_delay_has_passed() -> None:
    now = [100.0]

    def clock() -> float:
        now[0] += 1.0  # every look at the clock is a second later
        return now[0]

    inbox = Inbox(limits(max_delay_s=2.5))
    inbox.put(work(1))
    inbox.put(work(2))
    batch = inbox.take(threading.Event(), clock=clock)
    assert batch is not None and [w.mid for w in batch] == [1, 2]


def test_a_full_batch_wakes_a_waiting_writer_before_its_delay() -> None:
    inbox = Inbox(limits(max_messages=4, max_delay_s=600.0))
    got: list[list[int | None]] = []
    writer = threading.Thread(target=lambda: got.append([w.mid for w in inbox.take(threading.Event(),
                                                                                    clock=lambda: 0.0) or []]))
    writer.start()
    for m in range(1, 6):
        inbox.put(work(m))
    writer.join(30)  # the 600 s delay never passes (the clock stands still): only a wake-up ends it
    assert not writer.is_alive()
    assert got == [[1, 2, 3, 4]]
    assert len(inbox) == 1
