"""The edge agent's processing loop: local messages in, derived messages into the spool, acks out.

One batch at a time (the only thread that touches derivation state):

1. take up to ``batch_max_messages`` local messages; validate each against the contract
   (:mod:`edge_agent.wire`; invalid ones are counted in ``rejected_in``, logged with the reason, and acknowledged);
2. per machine, process its samples and andon events in device-time order
   (:class:`edge_agent.aggregate.MachineDerivation`), skipping redelivered input;
3. add messages from plug-in :class:`Source` s (Modbus pollers), renumbered with this agent's
   per-asset seq counters, and self-telemetry when it is due;
4. ``spool.commit(outputs, checkpoint=<derivation state of touched machines + seq counters>)`` in
   ONE transaction, THEN acknowledge the local messages, then wake the uplink.

A crash anywhere before step 4 loses nothing: the local broker redelivers the un-acked
messages and the checkpoint says which device times were already processed.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import orjson

from seamline.contracts.kinds import AssetKind, GatewayState
from seamline.contracts.topic import MessageKind, Topic, TopicError
from seamline.edge_agent import wire
from seamline.edge_agent.aggregate import Andon, MachineDerivation, Output, RawSample
from seamline.edge_agent.local import Inbound, InboundSource
from seamline.edge_agent.metric_table import units
from seamline.edge_agent.settings import EdgeSettings
from seamline.edge_agent.spool import OutMessage, Priority, SqliteSpool
from seamline.edge_agent.state import Thresholds
from seamline.edge_agent.telemetry import Counters, TelemetryClock, telemetry_message
from seamline.edge_agent.uplink import UplinkStats
from seamline.edge_agent.wire import AssetEntry, DataPayload, Payload, StatePayload

log = logging.getLogger(__name__)

AGENT_VERSION = "0.1.0"
# Messages a Source may queue between two batches; beyond it they are dropped and counted
# (a poller that outruns the agent by this much is misconfigured).
SOURCE_QUEUE_MAX = 10_000
# On stop, batches taken from what already arrived; the rest is redelivered after restart.
FINAL_DRAIN_BATCHES = 20
SEQ_KEY = "seq"  # checkpoint key of the non-machine seq counters (gateway, Modbus assets)


class Sink(Protocol):
    """Where a :class:`Source` puts contract messages. Thread-safe; never blocks.

    ``message`` is a contract payload (:class:`edge_agent.wire.DataPayload` or ``StatePayload``); its seq
    numbers are replaced by the agent's own per-asset counter when it is committed, so a
    source may leave them at 0.
    """

    def emit(self, topic: Topic, message: Payload, priority: Priority) -> None: ...


class Source(Protocol):
    """A device reader plugged into the agent (e.g. ``edge_agent.modbus``)."""

    def assets(self) -> Sequence[AssetEntry]: ...

    def start(self, sink: Sink) -> None: ...

    def stop(self) -> None: ...


class UplinkPort(Protocol):
    """The part of :class:`edge_agent.uplink.Uplink` the processing loop uses."""

    def wake(self) -> None: ...

    @property
    def stats(self) -> UplinkStats: ...


@dataclass(frozen=True, slots=True)
class _Machine:
    machine_id: str
    line: str

    @property
    def key(self) -> str:
        """Identity inside one gateway: machine ids repeat across lines (m001 on every line)."""
        return f"{self.line}/{self.machine_id}"


class SourceQueue:
    """The :class:`Sink` given to sources: a bounded, thread-safe queue drained by the agent."""

    def __init__(self, max_items: int = SOURCE_QUEUE_MAX) -> None:
        self._items: deque[tuple[Topic, Payload, Priority]] = deque()
        self._lock = threading.Lock()
        self.max_items = max_items
        self.dropped = 0

    def emit(self, topic: Topic, message: Payload, priority: Priority) -> None:
        with self._lock:
            if len(self._items) >= self.max_items:
                self.dropped += 1
                return
            self._items.append((topic, message, priority))

    def drain(self) -> list[tuple[Topic, Payload, Priority]]:
        with self._lock:
            items = list(self._items)
            self._items.clear()
        return items


def _int_or_none(v: float | None) -> int | None:
    return None if v is None else int(v)


class EdgeAgent:
    """Composition of config, spool, local subscriber, sources and uplink; see module docstring."""

    def __init__(
        self,
        *,
        config: EdgeSettings,
        spool: SqliteSpool,
        inbound: InboundSource,
        now_ms: Callable[[], int],
        boot_id: str,
        uplink: UplinkPort | None = None,
        sources: Sequence[Source] = (),
    ) -> None:
        self.config, self.spool, self.inbound, self.uplink = config, spool, inbound, uplink
        self.now_ms, self.boot_id, self.sources = now_ms, boot_id, sources
        self.counters = Counters()
        self.source_queue = SourceQueue()
        self.telemetry_clock = TelemetryClock(interval_s=config.telemetry_interval_s)
        self.machines: dict[str, _Machine] = {f"{m.line}/{m.id}": _Machine(m.id, m.line) for m in config.machines}
        self._machines_lock = threading.Lock()  # birth_messages() runs on the uplink's thread
        self.derivations: dict[str, MachineDerivation] = {}
        self.seqs: dict[str, int] = {}
        self._birth_due = False
        self._restore()

    # -- identity -----------------------------------------------------------------------------

    def _topic(self, area: str, asset: str, kind: MessageKind) -> Topic:
        g = self.config.gateway
        return Topic(enterprise=g.enterprise, site=g.site, area=area, asset=asset, kind=kind)

    def gateway_topic(self, kind: MessageKind) -> Topic:
        g = self.config.gateway
        return Topic.gateway(enterprise=g.enterprise, site=g.site, gateway_id=g.id, kind=kind)

    def assets(self) -> list[AssetEntry]:
        sewing_units = units(AssetKind.SEWING_MACHINE)
        with self._machines_lock:
            machines = list(self.machines.values())
        out = [
            AssetEntry(asset=m.machine_id, area=m.line, asset_kind=AssetKind.SEWING_MACHINE, units=sewing_units)
            for m in machines
        ]
        for src in self.sources:
            out += list(src.assets())
        return out

    def birth_messages(self) -> list[OutMessage]:
        """Birth (not retained) and retained online status: published on every uplink connect."""
        g = self.config.gateway
        online = wire.encode_status(gateway_id=g.id, state=GatewayState.ONLINE, ts_ms=self.now_ms(),
                                    boot_id=self.boot_id)
        return [
            OutMessage(str(self.gateway_topic(MessageKind.BIRTH)), self._birth(), Priority.STATE),
            OutMessage(str(self.gateway_topic(MessageKind.STATUS)), online, Priority.STATE, retain=True),
        ]

    def status_message(self, state: GatewayState, *, reason: str | None = None, ts: bool = True) -> OutMessage:
        """Retained gateway status; the Last Will is ``status_message(OFFLINE, ts=False)``."""
        msg = wire.encode_status(gateway_id=self.config.gateway.id, state=state, boot_id=self.boot_id, reason=reason,
                                 ts_ms=self.now_ms() if ts else None)
        return OutMessage(str(self.gateway_topic(MessageKind.STATUS)), msg, Priority.STATE, retain=True)

    # -- checkpoint ---------------------------------------------------------------------------

    def _thresholds(self, key: str) -> Thresholds:
        m = self.machines[key]
        return self.config.machine_type(m.machine_id, m.line)

    def _restore(self) -> None:
        for key, blob in self.spool.checkpoints().items():
            if key == SEQ_KEY:
                self.seqs = {str(k): int(v) for k, v in orjson.loads(blob).items()}
            elif key.startswith("machine/"):
                _, line, machine_id = key.split("/", 2)
                m = _Machine(machine_id, line)
                with self._machines_lock:
                    self.machines.setdefault(m.key, m)
                try:
                    self.derivations[m.key] = MachineDerivation.from_bytes(
                        blob, thresholds=self._thresholds(m.key), period_s=self.config.aggregate_period_s
                    )
                except (ValueError, KeyError, TypeError) as exc:
                    log.error("checkpoint %s unreadable (%s); machine %s starts afresh", key, exc, m.key)
        log.info("restored %d machine checkpoints", len(self.derivations))

    # -- one batch ----------------------------------------------------------------------------

    def run_once(self, *, timeout_s: float = 0.5) -> int:
        """Process one batch; returns the number of local messages it handled."""
        batch = self.inbound.get_batch(max_messages=self.config.batch_max_messages, timeout_s=timeout_s)
        per_machine: dict[str, list[RawSample | Andon]] = {}
        for m in batch:
            self._accept(m, per_machine)
        outs: list[OutMessage] = []
        checkpoint: dict[str, bytes] = {}
        for key, items in per_machine.items():
            d = self._derivation(key)
            outs += [self._out(key, o) for o in d.process(items)]
            checkpoint[f"machine/{key}"] = d.to_bytes()
        outs += self._drain_sources()
        if self._birth_due:
            self._birth_due = False
            topic = str(self.gateway_topic(MessageKind.BIRTH))
            outs.append(OutMessage(topic, self._birth(), Priority.STATE))
        if self.telemetry_clock.due(self.now_ms()):
            outs.append(self._telemetry())
        if (outs or checkpoint) and self.seqs:
            checkpoint[SEQ_KEY] = orjson.dumps(self.seqs)
        if outs or checkpoint:
            self.spool.commit(outs, checkpoint=checkpoint)
            self.counters.committed += len(outs)
        self.inbound.ack(batch)
        if outs and self.uplink is not None:
            self.uplink.wake()
        return len(batch)

    def _accept(self, m: Inbound, per_machine: dict[str, list[RawSample | Andon]]) -> None:
        try:
            topic = Topic.parse(m.topic)
            if (topic.enterprise, topic.site) != (self.config.gateway.enterprise, self.config.gateway.site):
                raise ValueError(f"enterprise/site {topic.enterprise}/{topic.site} is not this gateway's")
            if topic.is_gateway:
                raise ValueError("gateway topics are not read from the local broker")
            items = self._parse(topic, m.payload)
            machine = self._machine(topic)
        except (TopicError, ValueError) as exc:  # wire.WireError is a ValueError
            self.counters.rejected_in += 1
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            log.warning("rejected local message on %r: %s", m.topic[:200], reason)
            return
        self.counters.samples_in += sum(isinstance(i, RawSample) for i in items)
        per_machine.setdefault(machine.key, []).extend(items)

    def _parse(self, topic: Topic, payload: bytes) -> list[RawSample | Andon]:
        if topic.kind == MessageKind.DATA:
            data = wire.decode_data(payload)
            if data.asset_kind is not AssetKind.SEWING_MACHINE:
                raise ValueError(f"asset kind {data.asset_kind} is not a sewing machine")
            out: list[RawSample | Andon] = []
            for s in data.samples:
                m = s.metrics
                out.append(RawSample(s.ts_ms, m.get("current_a"), m.get("speed_spm"),
                                     _int_or_none(m.get("stitches_total")), _int_or_none(m.get("pieces_total"))))
            return out
        if topic.kind == MessageKind.STATE:
            ev = wire.decode_state(payload)
            return [Andon(ev.ts_ms, ev.state, ev.reason)]
        raise ValueError(f"message kind {topic.kind.value!r} is not read from the local broker")

    def _machine(self, topic: Topic) -> _Machine:
        m = _Machine(topic.asset, topic.area)
        known = self.machines.get(m.key)
        if known is not None:
            return known
        if not self.config.auto_discover:
            raise ValueError(f"machine {m.key!r} is not configured and auto_discover is off")
        with self._machines_lock:
            self.machines[m.key] = m
        log.info("discovered machine %s on line %s", m.machine_id, m.line)
        self._birth_due = True  # one new birth per batch, however many machines appeared
        return m

    def _birth(self) -> bytes:
        g = self.config.gateway
        return wire.encode_birth(gateway_id=g.id, ts_ms=self.now_ms(), agent_version=AGENT_VERSION,
                                 boot_id=self.boot_id, assets=self.assets())

    def _derivation(self, key: str) -> MachineDerivation:
        d = self.derivations.get(key)
        if d is None:
            d = self.derivations[key] = MachineDerivation(
                thresholds=self._thresholds(key), period_s=self.config.aggregate_period_s
            )
        return d

    def _out(self, key: str, o: Output) -> OutMessage:
        m = self.machines[key]
        if isinstance(o, StatePayload):
            topic = self._topic(m.line, m.machine_id, MessageKind.STATE)
            return OutMessage(str(topic), wire.encode_state(o), Priority.STATE)
        topic = self._topic(m.line, m.machine_id, MessageKind.DATA)
        return OutMessage(str(topic), wire.encode_data(o), Priority.AGGREGATE)

    def _next_seq(self, key: str) -> int:
        seq = self.seqs.get(key, 0)
        self.seqs[key] = seq + 1
        return seq

    def _renumber(self, topic: Topic, message: Payload) -> Payload:
        key = f"{topic.area}/{topic.asset}"
        if isinstance(message, DataPayload):
            fresh = tuple(dataclasses.replace(s, seq=self._next_seq(key)) for s in message.samples)
            return dataclasses.replace(message, samples=fresh)
        return dataclasses.replace(message, seq=self._next_seq(key))

    def _drain_sources(self) -> list[OutMessage]:
        out = []
        for topic, message, priority in self.source_queue.drain():
            retain = topic.kind == MessageKind.STATUS
            out.append(OutMessage(str(topic), wire.encode(self._renumber(topic, message)), priority, retain=retain))
        return out

    def _telemetry(self) -> OutMessage:
        topic = self.gateway_topic(MessageKind.DATA)
        msg = telemetry_message(
            ts_ms=self.now_ms(), seq=self._next_seq(f"{topic.area}/{topic.asset}"),
            spool=self.spool.stats(), uplink=self.uplink.stats if self.uplink else None, counters=self.counters,
        )
        return OutMessage(str(topic), wire.encode_data(msg), Priority.TELEMETRY)

    # -- loop ---------------------------------------------------------------------------------

    def run(self, stop: threading.Event, *, max_batches: int | None = None) -> None:
        """Process batches until ``stop`` is set (or ``max_batches``); then one last drain."""
        for src in self.sources:
            src.start(self.source_queue)
        n = 0
        try:
            while not stop.is_set() and (max_batches is None or n < max_batches):
                self.run_once()
                n += 1
        finally:
            for src in self.sources:
                src.stop()
            for _ in range(FINAL_DRAIN_BATCHES):  # what already arrived (broker window bounds it)
                if not self.run_once(timeout_s=0.05):
                    break
            if self.config.flush_on_stop:
                self.flush_all()

    def flush_all(self) -> int:
        """Emit every machine's open period as a partial aggregate (graceful stop); returns how many
        messages were committed. What arrives after a restart starts windows of its own."""
        outs: list[OutMessage] = []
        checkpoint: dict[str, bytes] = {}
        for key, d in self.derivations.items():
            outs += [self._out(key, o) for o in d.flush()]
            checkpoint[f"machine/{key}"] = d.to_bytes()
        if outs:
            self.spool.commit(outs, checkpoint=checkpoint)
            self.counters.committed += len(outs)
            if self.uplink is not None:
                self.uplink.wake()
        return len(outs)
