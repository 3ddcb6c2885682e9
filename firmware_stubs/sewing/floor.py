"""A simulated factory floor: factories × lines × machines, each a node, published in time order.

``build_floor`` (pure) derives every node's profile and fault plan from the run seed and the
node's address, so the same seed gives the same floor. ``run_floor`` streams the nodes' planned
messages, merged by simulated send time, through a ``Publisher`` paced by a ``SimClock``.
"""

from __future__ import annotations

import dataclasses
import heapq
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from seamline.firmware_stubs.clock import SimClock
from seamline.firmware_stubs.faults import NO_FAULTS, FaultLog, FaultPlan, schedule_faults
from seamline.firmware_stubs.seeding import stable_seed
from seamline.firmware_stubs.sewing.machine import MachineProfile, MachineSimulation, prepare_machine
from seamline.firmware_stubs.sewing.node import NodeAddress, Outgoing, batch_for_speed, plan_node
from seamline.firmware_stubs.sewing.publisher import Publisher
from seamline.firmware_stubs.sewing.shift import ShiftPattern

FAULT_PRESETS = ("none", "light", "heavy")
SITE = "s1"


@dataclass(frozen=True, slots=True)
class IdleLine:
    """Line ``line`` of ``enterprise`` has no work during ``[start_ms, end_ms)`` (UTC ms): its
    machines stay powered and idle (waiting for cut parts)."""

    enterprise: str
    line: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FloorSpec:
    factories: int
    lines: int
    machines: int
    start_ms: int
    end_ms: int
    seed: int = 0
    speed: float = 0.0  # 0 = as fast as possible
    shift: ShiftPattern | None = field(default_factory=ShiftPattern)
    faults: str = "none"  # one of FAULT_PRESETS
    batch_max: int | None = None  # default: from speed
    # (enterprise, the enterprise it copies): a twin has the same styles, machines, operators and
    # seeds, so the two differ only by what is injected (e.g. an idle line).
    twins: tuple[tuple[str, str], ...] = ()
    idle_lines: tuple[IdleLine, ...] = ()

    def __post_init__(self) -> None:
        for name in ("factories", "lines", "machines"):
            if not 1 <= getattr(self, name) <= 999:
                raise ValueError(f"{name} must be 1..999, got {getattr(self, name)}")
        if self.end_ms <= self.start_ms:
            raise ValueError("end_ms must be after start_ms")
        if self.faults not in FAULT_PRESETS:
            raise ValueError(f"faults must be one of {FAULT_PRESETS}, got {self.faults!r}")
        known = set(self.enterprises)
        for twin, source in self.twins:
            if twin not in known or source not in known or twin == source:
                raise ValueError(f"twin {twin!r} of {source!r}: both must be distinct factories of {sorted(known)}")
        for idle in self.idle_lines:
            if idle.enterprise not in known or idle.end_ms <= idle.start_ms:
                raise ValueError(f"idle line {idle}: unknown factory or empty span")

    @property
    def enterprises(self) -> list[str]:
        return [f"f{f:03d}" for f in range(1, self.factories + 1)]


@dataclass(frozen=True, slots=True)
class FloorNode:
    addr: NodeAddress
    profile: MachineProfile
    seed: int
    faults: FaultPlan


def _fault_plan(preset: str, rng: random.Random) -> FaultPlan:
    if preset == "none":
        return NO_FAULTS
    heavy = preset == "heavy"
    skewed = rng.random() < (0.3 if heavy else 0.1)
    return FaultPlan(
        disconnect_rate_per_h=1.0 if heavy else 0.2,
        disconnect_min_s=30.0,
        disconnect_max_s=600.0 if heavy else 180.0,
        buffer_samples=120 if heavy else 0,
        garbage_rate_per_h=1.0 if heavy else 0.2,
        garbage_burst=5 if heavy else 3,
        clock_skew_s=round(rng.uniform(-120, 120) if heavy else rng.uniform(-30, 30), 3) if skewed else 0.0,
        duplicate_prob=0.02 if heavy else 0.002,
    )


def build_floor(spec: FloorSpec) -> list[FloorNode]:
    """Every node of the floor with its profile, seed and fault plan (deterministic from the seed)."""
    nodes: list[FloorNode] = []
    copies = dict(spec.twins)
    for enterprise in spec.enterprises:
        source = copies.get(enterprise, enterprise)  # a twin draws everything from its original
        for ln in range(1, spec.lines + 1):
            line = f"line{ln:02d}"
            style = random.Random(stable_seed(spec.seed, source, line, "style"))
            sam_min = round(style.uniform(8.0, 25.0), 2)  # one style per line: T-shirts .. shirts
            for m in range(1, spec.machines + 1):
                addr = NodeAddress(enterprise=enterprise, site=SITE, line=line, machine=f"m{m:03d}")
                seeded = NodeAddress(enterprise=source, site=SITE, line=line, machine=addr.machine)
                rng = random.Random(stable_seed(spec.seed, seeded.key, "profile"))
                profile = MachineProfile(
                    machine_id=addr.machine,
                    idle_current_a=round(rng.uniform(0.3, 0.6), 3),
                    run_current_a=round(rng.uniform(2.6, 4.0), 3),
                    sam_min=sam_min,
                    efficiency=round(rng.uniform(0.4, 0.6), 3),
                )
                faults = _fault_plan(spec.faults, rng)
                nodes.append(FloorNode(addr, profile, stable_seed(spec.seed, seeded.key), faults))
    return nodes


@dataclass(frozen=True, slots=True)
class PreparedNode:
    """A node of the floor and its simulated machine (truth timeline, pieces, sampler)."""

    node: FloorNode
    sim: MachineSimulation


def prepare_floor(spec: FloorSpec) -> list[PreparedNode]:
    """Every node's machine simulation (deterministic from the spec): what ``run_floor`` publishes
    and what the factory's energy meter draws, from one computation or two identical ones."""
    out = []
    for node in build_floor(spec):
        a = node.addr
        idle = [(i.start_ms, i.end_ms) for i in spec.idle_lines if (i.enterprise, i.line) == (a.enterprise, a.line)]
        sim = prepare_machine(profile=node.profile, start_ms=spec.start_ms, end_ms=spec.end_ms, seed=node.seed,
                              shift=spec.shift, no_work=idle)
        out.append(PreparedNode(node, sim))
    return out


@dataclass(slots=True)
class NodeReport:
    node: FloorNode
    sim: MachineSimulation
    log: FaultLog
    samples_sent: int = 0
    data_messages: int = 0
    state_messages: int = 0
    garbage_messages: int = 0

    def truth_json(self) -> dict[str, Any]:
        a, log = self.node.addr, self.log
        return {
            "enterprise": a.enterprise, "site": a.site, "line": a.line, "machine": a.machine,
            "seed": self.node.seed,
            "profile": {
                k: v for k, v in dataclasses.asdict(self.node.profile).items() if isinstance(v, int | float | str)
            },
            "samples": self.sim.sampler.count,
            "pieces_good": sum(1 for t in self.sim.timeline.pieces_ms if t < self.sim.truth[-1].end_ms),
            "stitches": self.sim.sampler.final_stitches(),
            "truth": [[s.start_ms, s.end_ms, s.state.value, s.reason] for s in self.sim.truth],
            "andon": [[e.ts_ms, e.seq, e.state.value, e.reason] for e in self.sim.andon],
            "faults": {
                "skew_ms": log.skew_ms,
                "offline": [list(w) for w in log.offline],
                "lost_seq_ranges": [list(r) for r in log.lost_seq_ranges()],
                "lost": len(log.lost),
                "buffered": log.buffered,
                "buffer_dropped": log.buffer_dropped,
                "duplicated_seqs": log.duplicated_seqs,
                "garbage": log.garbage,
            },
        }


@dataclass(slots=True)
class FloorReport:
    spec: FloorSpec
    nodes: list[NodeReport]
    messages: int = 0

    def totals(self) -> dict[str, int]:
        n = self.nodes
        return {
            "nodes": len(n),
            "samples_produced": sum(r.sim.sampler.count for r in n),
            "samples_sent": sum(r.samples_sent for r in n),  # distinct; duplicates counted apart
            "messages": self.messages,
            "data_messages": sum(r.data_messages for r in n),
            "state_messages": sum(r.state_messages for r in n),
            "garbage_messages": sum(r.garbage_messages for r in n),
            "duplicated_messages": sum(len(r.log.duplicated_seqs) for r in n),
            "lost_events": sum(len(r.log.lost) for r in n),
            "disconnects": sum(len(r.log.offline) for r in n),
            "skewed_nodes": sum(1 for r in n if r.log.skew_ms),
        }

    def truth_json(self) -> dict[str, Any]:
        s = self.spec
        return {
            "seed": s.seed, "start_ms": s.start_ms, "end_ms": s.end_ms, "speed": s.speed, "faults": s.faults,
            "totals": self.totals(),
            "nodes": [r.truth_json() for r in self.nodes],
        }


def _tagged(i: int, stream: Iterator[Outgoing]) -> Iterator[tuple[int, int, int, Outgoing]]:
    """Merge key: send time, then node order, then the node's own order (never the payload)."""
    for n, out in enumerate(stream):
        yield out.send_ms, i, n, out


def run_floor(spec: FloorSpec, *, publisher: Publisher, clock: SimClock | None = None,
              prepared: Sequence[PreparedNode] | None = None) -> FloorReport:
    """Simulate and publish the whole floor; returns what was sent. Bounded by the finite plan.
    ``prepared``: the floor's simulations from :func:`prepare_floor` of the same spec, when the
    caller already has them (the demo shares them with the factories' energy meters)."""
    clock = clock or SimClock(spec.start_ms, spec.speed)
    batch = spec.batch_max or batch_for_speed(spec.speed)
    reports: list[NodeReport] = []
    streams: list[Iterator[tuple[int, int, int, Outgoing]]] = []
    for i, p in enumerate(prepared if prepared is not None else prepare_floor(spec)):
        node, sim = p.node, p.sim
        fault_rng = random.Random(stable_seed(node.seed, "faults"))
        schedule = schedule_faults(node.faults, start_ms=spec.start_ms, end_ms=spec.end_ms, rng=fault_rng)
        report = NodeReport(node, sim, FaultLog())
        reports.append(report)
        plan = plan_node(sim, addr=node.addr, batch_max=batch, faults=schedule, log=report.log, rng=fault_rng)
        streams.append(_tagged(i, plan))
    floor = FloorReport(spec, reports)
    for send_ms, i, _, out in heapq.merge(*streams):
        clock.sleep_until(send_ms)
        publisher.publish(out.topic, out.payload)
        _count(reports[i], out)
        floor.messages += 1
    return floor


def _count(r: NodeReport, out: Outgoing) -> None:
    if out.kind == "data":
        r.data_messages += 1
        r.samples_sent += 0 if out.duplicate else len(out.seqs)
    elif out.kind == "state":
        r.state_messages += 1
    else:
        r.garbage_messages += 1
