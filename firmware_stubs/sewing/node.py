"""What one node sends, and when: batching, andon messages and faults, as a pure plan.

``plan_node`` turns a prepared machine into the node's outgoing messages in send order
(simulated ms). A sample is ready at the end of its window; an andon press is sent with the next
sample tick so that, absent faults, messages leave in seq order. Samples are batched up to
``batch_max`` per message; a batch is flushed before an andon message and before going offline.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from seamline.contracts.topic import MessageKind, Topic
from seamline.firmware_stubs.faults import FaultLog, FaultSchedule, garbage_payload
from seamline.firmware_stubs.sewing.machine import AndonEvent, MachineSimulation
from seamline.firmware_stubs.sewing.payload import SampleRow, encode_andon, encode_samples

# Samples per message at most: an hour of 1 Hz data would be ~250 kB, close to the contract's
# payload limit; a minute (~4 kB) keeps messages small and the broker unflooded at high speed.
MAX_BATCH = 60


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeAddress:
    enterprise: str
    site: str
    line: str
    machine: str

    def topic(self, kind: MessageKind) -> str:
        return str(Topic(enterprise=self.enterprise, site=self.site, area=self.line, asset=self.machine, kind=kind))

    @property
    def key(self) -> str:
        return f"{self.enterprise}/{self.site}/{self.line}/{self.machine}"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One MQTT publish: at simulated ``send_ms``, ``payload`` on ``topic``."""

    send_ms: int
    topic: str
    payload: bytes
    kind: str  # "data", "state" or "garbage"
    seqs: tuple[int, ...]
    duplicate: bool = False  # a byte-identical resend injected as a fault


def batch_for_speed(speed: float) -> int:
    """Samples per message: one per second at real time, up to ``MAX_BATCH`` when faster."""
    return MAX_BATCH if speed == 0 else max(1, min(MAX_BATCH, int(speed)))


_Event = SampleRow | AndonEvent


def _events(sim: MachineSimulation) -> Iterator[tuple[int, _Event]]:
    """(ready_ms, event) in seq order."""
    andon = deque(sim.andon)
    period = sim.sampler.period_ms
    last_ready = 0
    for k0, k1 in sim.sampler.blocks():
        b = sim.sampler.block(k0, k1)
        cols = (b.ts_ms.tolist(), b.seq.tolist(), b.current_a.tolist(), b.speed_spm.tolist(),
                b.stitches_total.tolist(), b.pieces_total.tolist())
        for row in map(SampleRow, *cols):
            while andon and andon[0].seq < row.seq:
                yield max(andon[0].ts_ms, last_ready), andon.popleft()
            last_ready = row.ts_ms + period
            yield last_ready, row
    while andon:
        yield max(andon[0].ts_ms, last_ready), andon.popleft()


class _Planner:
    def __init__(self, addr: NodeAddress, batch_max: int, faults: FaultSchedule, log: FaultLog, rng: random.Random):
        self.data_topic = addr.topic(MessageKind.DATA)
        self.state_topic = addr.topic(MessageKind.STATE)
        self.batch_max = batch_max
        self.faults = faults
        self.log = log
        self.rng = rng
        self.pending: list[SampleRow] = []
        self.pending_ms = 0
        self.buffer: deque[_Event] = deque()
        self.offline_until = 0

    def _emit(self, send_ms: int, topic: str, payload: bytes, kind: str, seqs: tuple[int, ...]) -> Iterator[Outgoing]:
        out = Outgoing(send_ms, topic, payload, kind, seqs)
        yield out
        if self.rng.random() < self.faults.duplicate_prob:
            self.log.duplicated_seqs.append(seqs[0])
            yield Outgoing(send_ms, topic, payload, kind, seqs, duplicate=True)

    def flush(self) -> Iterator[Outgoing]:
        if self.pending:
            rows, self.pending = self.pending, []
            payload = encode_samples(rows, skew_ms=self.faults.skew_ms)
            yield from self._emit(self.pending_ms, self.data_topic, payload, "data", tuple(r.seq for r in rows))

    def send(self, send_ms: int, ev: _Event) -> Iterator[Outgoing]:
        if isinstance(ev, AndonEvent):
            yield from self.flush()
            payload = encode_andon(ev, skew_ms=self.faults.skew_ms)
            yield from self._emit(send_ms, self.state_topic, payload, "state", (ev.seq,))
            return
        self.pending.append(ev)
        self.pending_ms = send_ms
        if len(self.pending) >= self.batch_max:
            yield from self.flush()

    def offline(self, ev: _Event) -> None:
        if self.faults.buffer_samples == 0:
            self.lose(ev)
            return
        if len(self.buffer) >= self.faults.buffer_samples:
            self.lose(self.buffer.popleft())
            self.log.buffer_dropped += 1
        self.buffer.append(ev)

    def lose(self, ev: _Event) -> None:
        self.log.lost.append((ev.seq, ev.ts_ms, "andon" if isinstance(ev, AndonEvent) else "sample"))

    def reconnect(self) -> Iterator[Outgoing]:
        self.log.buffered += len(self.buffer)
        while self.buffer:
            yield from self.send(self.offline_until, self.buffer.popleft())
        yield from self.flush()


def _real_messages(sim: MachineSimulation, p: _Planner) -> Iterator[Outgoing]:
    for ready, ev in _events(sim):
        if p.offline_until and ready >= p.offline_until:
            yield from p.reconnect()
            p.offline_until = 0
        window = p.faults.offline_window(ready)
        if window is not None:
            if not p.offline_until:
                yield from p.flush()
                p.log.offline.append(window)
            p.offline_until = window[1]
            p.offline(ev)
            continue
        yield from p.send(ready, ev)
    if p.offline_until:  # still offline at the end: whatever is buffered never leaves
        for ev in p.buffer:
            p.lose(ev)
        p.buffer.clear()
    yield from p.flush()


def _garbage(sim: MachineSimulation, p: _Planner) -> Iterator[Outgoing]:
    end_ms = sim.sampler.start_ms + sim.sampler.count * sim.sampler.period_ms
    for t, kind in p.faults.garbage:
        if t >= end_ms or p.faults.offline_window(t) is not None:
            continue
        p.log.garbage[kind.value] = p.log.garbage.get(kind.value, 0) + 1
        payload = garbage_payload(kind, ts_ms=t + p.faults.skew_ms, seq=0)
        yield Outgoing(t, p.data_topic, payload, "garbage", ())


def plan_node(
    sim: MachineSimulation,
    *,
    addr: NodeAddress,
    batch_max: int,
    faults: FaultSchedule,
    log: FaultLog,
    rng: random.Random,
) -> Iterator[Outgoing]:
    """The node's messages in send order (lazy: samples are produced chunk by chunk)."""
    if not 1 <= batch_max <= MAX_BATCH:
        raise ValueError(f"batch_max must be 1..{MAX_BATCH}, got {batch_max}")
    log.skew_ms = faults.skew_ms
    planner = _Planner(addr, batch_max, faults, log, rng)
    return heapq.merge(_real_messages(sim, planner), _garbage(sim, planner), key=lambda o: o.send_ms)
