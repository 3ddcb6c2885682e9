"""Stateful property test: any interleaving of commits, peeks, acks, reopens and simulated
crashes keeps exactly what a simple in-memory model of the spool keeps (FIFO, drop policy,
counters, checkpoints)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from seamline.edge_agent.spool import OutMessage, Priority, SqliteSpool, message_size_bytes

TOPICS = ("seamline/v1/e/s/a/m1/data", "seamline/v1/e/s/a/m2/state", "seamline/v1/e/s/_gateway/gw/data")
MAX_BYTES = 3000  # small, so the drop policy runs often

message_spec = st.tuples(
    st.sampled_from(list(Priority)), st.sampled_from(TOPICS), st.integers(0, 400), st.booleans()
)


class SpoolModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="spool-sm-"))
        self.generation = 0
        self.spool = SqliteSpool(self.path, max_bytes=MAX_BYTES)
        self.abandoned: list[SqliteSpool] = []
        self.stored: list[tuple[int, OutMessage]] = []  # the model, in id order
        self.dropped = {p: 0 for p in Priority}
        self.put = self.acked = self.last_id = self.serial = 0
        self.checkpoint: dict[str, bytes] = {}

    @property
    def path(self) -> Path:
        return self.dir / f"spool-{self.generation}.db"

    def _apply_policy(self) -> None:
        total = sum(message_size_bytes(m.topic, m.payload) for _, m in self.stored)
        while total > MAX_BYTES:
            victim = min(self.stored, key=lambda im: (im[1].priority, im[0]))
            self.stored.remove(victim)
            self.dropped[victim[1].priority] += 1
            total -= message_size_bytes(victim[1].topic, victim[1].payload)

    @rule(
        specs=st.lists(message_spec, max_size=6),
        ckpt=st.dictionaries(st.sampled_from(["m1", "m2", "seq"]), st.binary(max_size=20), max_size=2),
    )
    def commit(self, specs: list[tuple[Priority, str, int, bool]], ckpt: dict[str, bytes]) -> None:
        messages = []
        for priority, topic, pad, retain in specs:
            self.serial += 1  # unique payloads: FIFO is checked on identity, not just on size
            messages.append(OutMessage(topic, f"{self.serial}:".encode() + b"x" * pad, priority, retain))
        ids = self.spool.commit(messages, ckpt)
        assert len(ids) == len(messages)
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        assert not ids or ids[0] > self.last_id
        self.last_id = max([self.last_id, *ids])
        self.stored.extend(zip(ids, messages, strict=True))
        self.put += len(messages)
        self.checkpoint.update(ckpt)
        self._apply_policy()

    @rule(data=st.data(), limit=st.integers(1, 8))
    def peek(self, data: st.DataObject, limit: int) -> None:
        after = data.draw(st.sampled_from([0, *(i for i, _ in self.stored), self.last_id + 1]))
        got = self.spool.peek(after_id=after, limit=limit)
        want = [(i, m) for i, m in self.stored if i > after][:limit]
        assert [(m.id, OutMessage(m.topic, m.payload, m.priority, m.retain)) for m in got] == want

    @precondition(lambda self: bool(self.stored))
    @rule(data=st.data())
    def ack(self, data: st.DataObject) -> None:
        ids = data.draw(st.lists(st.sampled_from([i for i, _ in self.stored]), unique=True, max_size=5))
        stale = data.draw(st.lists(st.integers(1, self.last_id + 5), max_size=2))  # gone or never were
        self.spool.ack([*ids, *stale])
        gone = set(ids) | {s for s in stale if any(i == s for i, _ in self.stored)}
        self.acked += len(gone)
        self.stored = [(i, m) for i, m in self.stored if i not in gone]

    @rule()
    def reopen(self) -> None:
        self.spool.close()
        self.spool = SqliteSpool(self.path, max_bytes=MAX_BYTES)

    @rule()
    def crash_by_copying_files(self) -> None:
        """What kill -9 leaves on disk between two transactions: the db and its WAL (the -shm
        index is rebuilt from the WAL)."""
        old = self.path
        self.generation += 1
        for suffix in ("", "-wal"):
            src = Path(f"{old}{suffix}")
            if src.exists():
                shutil.copyfile(src, f"{self.path}{suffix}")
        self.abandoned.append(self.spool)
        self.spool = SqliteSpool(self.path, max_bytes=MAX_BYTES)

    @rule()
    def crash_by_second_connection(self) -> None:
        """The old connection is never closed (like a dead process's) while a new one opens."""
        self.abandoned.append(self.spool)
        self.spool = SqliteSpool(self.path, max_bytes=MAX_BYTES)

    @invariant()
    def matches_model(self) -> None:
        got = self.spool.peek(limit=10_000)
        assert [(m.id, OutMessage(m.topic, m.payload, m.priority, m.retain)) for m in got] == self.stored
        st_ = self.spool.stats()
        assert st_.messages == len(self.stored)
        assert st_.bytes == sum(message_size_bytes(m.topic, m.payload) for _, m in self.stored)
        assert st_.bytes <= MAX_BYTES
        assert st_.dropped_by_priority == self.dropped
        assert st_.dropped_total == sum(self.dropped.values())
        assert (st_.put_total, st_.acked_total) == (self.put, self.acked)
        assert st_.put_total == st_.messages + st_.acked_total + st_.dropped_total
        assert self.spool.checkpoints() == self.checkpoint

    def teardown(self) -> None:
        self.spool.close()
        for s in self.abandoned:
            s.close()
        shutil.rmtree(self.dir, ignore_errors=True)


SpoolModel.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestSpoolModel = SpoolModel.TestCase
