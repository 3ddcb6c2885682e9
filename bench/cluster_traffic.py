"""Contract-valid traffic of many gateway identities, planned from the load model (pure, no I/O).

Each factory of :func:`bench.load_model.draw_factories` is one gateway (enterprise ``f00042``, site
``s1``, gateway ``gw00042``) with its machines (``line01/m001`` ...), its grid meter and line
sub-meters (area ``energy``), rooftop PV inverters, and its own self-telemetry; the park is one
more gateway (enterprise ``park``). Every asset has its own sequence counter, as on the gateway
(``MachineDerivation.seq``: one counter per asset for its aggregates *and* state changes), so the
stored seq values say exactly what was lost.

Payloads are encoded by the edge agent's own codec (:mod:`seamline.edge_agent.wire`), the metrics of
aggregates and state changes taken from the simulator's measured machine-days
(:class:`bench.load_model.MachineRates`). Timing follows the agent: every machine's 60 s aggregate
goes out right after the minute (each gateway at its own offset inside ``burst_spread_s``), Modbus
devices every ``modbus_poll_s`` at staggered phases, state changes as a Poisson stream at the
measured peak-hour rate, self-telemetry once per ``gateway_telemetry_s``, birth + status on connect.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from bench.load_model import ClusterAssumptions, Factory, MachineRates, Park
from seamline.contracts.kinds import AssetKind, GatewayState
from seamline.contracts.topic import GATEWAY_AREA, MessageKind, Topic
from seamline.edge_agent.wire import (
    AssetEntry,
    DataPayload,
    DataSample,
    encode_birth,
    encode_data,
    encode_state,
    encode_status,
)

TICK_S = 0.1  # scheduler resolution: 600 slots per minute
SLOTS = 600
ENERGY_AREA = "energy"
SITE = "s1"

# Plausible Modbus samples per kind (SunSpec units, as the poller publishes them); counters rise.
_MODBUS_METRICS: dict[AssetKind, dict[str, float]] = {
    AssetKind.METER: {"power_w": 42_000.0, "voltage_v": 229.8, "frequency_hz": 50.01},
    AssetKind.PV_INVERTER: {"ac_power_w": 61_000.0, "dc_power_w": 63_100.0, "dc_voltage_v": 640.0,
                            "ac_voltage_v": 400.0, "ac_current_a": 88.0, "ac_frequency_hz": 50.0,
                            "cabinet_temp_c": 41.5, "rated_power_w": 100_000.0},
    AssetKind.BATTERY: {"soc_pct": 63.0, "soh_pct": 97.0, "power_w": -25_000.0, "capacity_wh": 1.0e6},
    AssetKind.MET_STATION: {"poa_irradiance_w_m2": 640.0, "ghi_w_m2": 580.0, "ambient_temp_c": 24.0,
                            "module_temp_c": 38.0, "wind_speed_m_s": 3.4},
    AssetKind.WIND_TURBINE: {"wind_speed_m_s": 8.1, "power_w": 1.2e6, "rotor_speed_rpm": 14.2},
}
_COUNTERS: dict[AssetKind, tuple[str, ...]] = {
    AssetKind.METER: ("import_energy_wh",), AssetKind.PV_INVERTER: ("ac_energy_wh",),
    AssetKind.BATTERY: ("charge_energy_wh", "discharge_energy_wh"), AssetKind.MET_STATION: (),
    AssetKind.WIND_TURBINE: ("energy_wh",),
}


@dataclass(slots=True)
class Asset:
    """One asset of one gateway: its topics and its own sequence counter."""

    gateway: int  # index into TrafficPlan.gateways
    area: str
    asset: str
    kind: AssetKind
    data_topic: str
    state_topic: str = ""
    seq: int = 0  # the next seq; after a run, the number of seq values published
    counter_wh: float = 0.0
    last_state_ms: int = 0  # state changes of one machine keep strictly increasing times (one point each)

    def next_seq(self) -> int:
        s, self.seq = self.seq, self.seq + 1
        return s


@dataclass(slots=True)
class Gateway:
    enterprise: str
    gateway_id: str
    offset_slot: int  # when its aggregates go out after each minute
    telemetry: Asset
    machines: list[Asset] = field(default_factory=list)
    energy: list[Asset] = field(default_factory=list)
    births: int = 0


@dataclass(slots=True)
class TrafficPlan:
    gateways: list[Gateway]
    # slot (0..599 within the minute) -> assets due: aggregates, Modbus polls, self-telemetry
    wheel: list[list[Asset]]
    machines: list[Asset]
    state_per_machine_s: float  # Poisson rate of state changes per machine (1/s)
    modbus_poll_s: float

    @property
    def assets(self) -> Iterator[Asset]:
        for g in self.gateways:
            yield g.telemetry
            yield from g.machines
            yield from g.energy


def _topic(enterprise: str, area: str, asset: str, kind: MessageKind) -> str:
    return str(Topic(enterprise=enterprise, site=SITE, area=area, asset=asset, kind=kind))


def _gateway(index: int, enterprise: str, gateway_id: str, offset_slot: int) -> Gateway:
    tel = Asset(index, GATEWAY_AREA, gateway_id, AssetKind.GATEWAY,
                str(Topic.gateway(enterprise=enterprise, site=SITE, gateway_id=gateway_id, kind=MessageKind.DATA)))
    return Gateway(enterprise=enterprise, gateway_id=gateway_id, offset_slot=offset_slot, telemetry=tel)


def _energy(g: Gateway, index: int, kind: AssetKind, name: str) -> Asset:
    return Asset(index, ENERGY_AREA, name, kind, _topic(g.enterprise, ENERGY_AREA, name, MessageKind.DATA))


def plan_traffic(a: ClusterAssumptions, factories: Sequence[Factory], park: Park, rates: MachineRates, *,
                 burst_spread_s: float = 2.0, seed: int = 1, shard: tuple[int, int] = (0, 1)) -> TrafficPlan:
    """Gateways, assets and the minute's schedule for ``factories`` plus the ``park``; with
    ``shard=(k, n)`` only every n-th factory from the k-th (the park in shard 0), for n processes."""
    k, n = shard
    if not 0 <= k < n:
        raise ValueError(f"shard {k}/{n}: expected 0 <= k < n")
    factories = [f for i, f in enumerate(factories) if i % n == k]
    rng = random.Random(seed * 1000 + k)
    spread = max(1, round(burst_spread_s / TICK_S))
    gateways: list[Gateway] = []
    for f in factories:
        gi = len(gateways)
        g = _gateway(gi, f"f{f.index:05d}", f"gw{f.index:05d}", rng.randrange(spread))
        for m in range(f.machines):
            line = f"line{m // a.machines_per_line + 1:02d}"
            asset = f"m{m % a.machines_per_line + 1:03d}"
            g.machines.append(Asset(gi, line, asset, AssetKind.SEWING_MACHINE,
                                    _topic(g.enterprise, line, asset, MessageKind.DATA),
                                    _topic(g.enterprise, line, asset, MessageKind.STATE)))
        g.energy += [_energy(g, gi, AssetKind.METER, "grid")]
        g.energy += [_energy(g, gi, AssetKind.METER, f"sub{k + 1:02d}") for k in range(f.meters - 1)]
        g.energy += [_energy(g, gi, AssetKind.PV_INVERTER, f"pv{k + 1:02d}") for k in range(f.pv_inverters)]
        gateways.append(g)
    if k == 0:
        pg = _gateway(len(gateways), "park", "gwpark", rng.randrange(spread))
        for kind, count in park.by_kind().items():
            pg.energy += [_energy(pg, pg.telemetry.gateway, kind, f"{kind.value.replace('_', '')}{j + 1:02d}")
                          for j in range(count)]
        gateways.append(pg)
    wheel = _wheel(gateways, a, rng)
    machines = [m for g in gateways for m in g.machines]
    return TrafficPlan(gateways=gateways, wheel=wheel, machines=machines,
                       state_per_machine_s=rates.state_changes_per_h_peak / 3600, modbus_poll_s=a.modbus_poll_s)


def _wheel(gateways: Sequence[Gateway], a: ClusterAssumptions, rng: random.Random) -> list[list[Asset]]:
    wheel: list[list[Asset]] = [[] for _ in range(SLOTS)]
    poll_slots = max(1, round(a.modbus_poll_s / TICK_S))
    tel_slots = max(1, round(a.gateway_telemetry_s / TICK_S))
    if SLOTS % poll_slots or (tel_slots % SLOTS and SLOTS % tel_slots):
        raise ValueError("modbus_poll_s and gateway_telemetry_s must divide (or be multiples of) 60 s in 0.1 s steps")
    for g in gateways:
        wheel[g.offset_slot] += g.machines
        n = len(g.energy)
        for i, e in enumerate(g.energy):  # the agent staggers its devices over one poll interval
            for s in range(round(poll_slots * i / max(1, n)), SLOTS, poll_slots):
                wheel[(s + g.offset_slot) % SLOTS].append(e)
        phase = rng.randrange(min(tel_slots, SLOTS))
        for s in range(phase, SLOTS, min(tel_slots, SLOTS)):
            wheel[s].append(g.telemetry)
    return wheel


# -- payloads (the edge agent's codec) --------------------------------------------------------------


def aggregate_payload(m: Asset, rates: MachineRates, *, period_start_ms: int) -> bytes:
    metrics = rates.aggregate_metrics[(m.seq * 7 + m.gateway) % len(rates.aggregate_metrics)]
    sample = DataSample(ts_ms=period_start_ms, seq=m.next_seq(), metrics=metrics)
    return encode_data(DataPayload(AssetKind.SEWING_MACHINE, (sample,)))


def state_payload(m: Asset, rates: MachineRates, *, ts_ms: int) -> bytes:
    template = rates.state_changes[(m.seq * 7 + m.gateway) % len(rates.state_changes)]
    m.last_state_ms = max(ts_ms, m.last_state_ms + 1)
    return encode_state(replace(template, ts_ms=m.last_state_ms, seq=m.next_seq()))


def modbus_payload(e: Asset, *, ts_ms: int, poll_s: float) -> bytes:
    values: dict[str, int | float] = dict(_MODBUS_METRICS[e.kind])
    e.counter_wh += 42_000.0 * poll_s / 3600
    for name in _COUNTERS[e.kind]:
        values[name] = round(e.counter_wh, 3)
    sample = DataSample(ts_ms=ts_ms, seq=e.next_seq(), metrics=values)
    return encode_data(DataPayload(e.kind, (sample,)))


def telemetry_payload(t: Asset, *, ts_ms: int, published: int) -> bytes:
    values: dict[str, int | float] = {"spool_messages": 0, "spool_bytes": 0, "published": published, "dropped": 0,
                                      "reconnects": 0, "samples_in": published * 60, "rejected_in": 0}
    return encode_data(DataPayload(AssetKind.GATEWAY, (DataSample(ts_ms=ts_ms, seq=t.next_seq(), metrics=values),)))


def birth_messages(g: Gateway, *, ts_ms: int) -> list[tuple[str, bytes]]:
    """Birth (every asset the gateway serves) and the retained ``online`` status, as on connect."""
    g.births += 1
    boot = f"{g.gateway_id}-{g.births}"
    entries = [AssetEntry(asset=m.asset, area=m.area, asset_kind=m.kind) for m in (*g.machines, *g.energy)]
    birth = encode_birth(gateway_id=g.gateway_id, ts_ms=ts_ms, agent_version="bench", boot_id=boot, assets=entries)
    status = encode_status(gateway_id=g.gateway_id, state=GatewayState.ONLINE, ts_ms=ts_ms, boot_id=boot)
    topic = Topic.gateway(enterprise=g.enterprise, site=SITE, gateway_id=g.gateway_id, kind=MessageKind.BIRTH)
    status_topic = replace(topic, kind=MessageKind.STATUS)
    return [(str(topic), birth), (str(status_topic), status)]


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth for small means, normal approximation above 30)."""
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
