"""The cluster's load model: what 7 600 garment factories and the district's energy park send.

    .venv/bin/python -m bench.load_model [--fractions 0.01,0.05,0.1] [--seeds 3]

Two parts. The per-machine rates are *measured*: the sewing simulator (``firmware_stubs``) runs a
factory day (``ShiftPattern``: 07:30-17:30 Asia/Shanghai with breaks) through the edge agent's own
derivation (``edge_agent.aggregate.MachineDerivation``, 60 s periods), and we count what it would
send upstream — aggregates, state changes — and their encoded sizes (``edge_agent.wire``). The
cluster's shape is *assumed* (:class:`ClusterAssumptions`, every figure with its reason) and drawn
with a seed, factory by factory, so a fraction of the cluster is a prefix of the same draw.

Everything here is pure apart from :func:`measure_machine_rates` (CPU only, ~1 s per seed).
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from seamline.contracts.kinds import AssetKind
from seamline.edge_agent.aggregate import Andon, MachineDerivation, RawSample
from seamline.edge_agent.state import Thresholds
from seamline.edge_agent.wire import DataPayload, StatePayload, encode

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
# Thursday 2026-01-01, local midnight in Asia/Shanghai (UTC+8): a workday of the default ShiftPattern.
DAY0_MS = 1_767_225_600_000 - 8 * HOUR_MS


@dataclass(frozen=True, slots=True)
class MachineRates:
    """Measured per sewing machine, from the simulator through the edge's derivation."""

    aggregates_per_h: float  # 60 s aggregates per machine-hour (nodes report all day, so 60)
    state_changes_per_h_peak: float  # in the busiest clock hour of the day (mean over seeds)
    state_changes_per_h_shift: float  # mean over the working hours
    aggregate_bytes: float  # mean encoded payload size
    state_bytes: float
    # examples the load generator re-stamps: aggregates of working and of idle time, state changes
    aggregate_metrics: tuple[dict[str, int | float], ...] = field(repr=False, default=())
    state_changes: tuple[StatePayload, ...] = field(repr=False, default=())


def measure_machine_rates(*, seeds: int = 3, day_ms: int = DAY0_MS) -> MachineRates:
    """Simulate ``seeds`` machine-days (one machine each) and count the edge's upstream messages."""
    from seamline.firmware_stubs.sewing.machine import MachineProfile, simulate_machine
    from seamline.firmware_stubs.sewing.shift import ShiftPattern

    shift = ShiftPattern()
    work_h = sum((e.hour * 60 + e.minute - s.hour * 60 - s.minute) / 60 for s, e in shift.work)
    aggs: list[DataPayload] = []
    states: list[StatePayload] = []
    peak = 0.0
    for seed in range(seeds):
        run = simulate_machine(profile=MachineProfile(), start_ms=day_ms, end_ms=day_ms + DAY_MS, seed=seed,
                               shift=shift)
        d = MachineDerivation(thresholds=Thresholds(), period_s=60)
        items: list[RawSample | Andon] = [
            RawSample(s.ts_ms, s.current_a, s.speed_spm, s.stitches_total, s.pieces_total) for s in run.samples]
        items += [Andon(a.ts_ms, a.state, a.reason) for a in run.andon]
        outs = d.process(items)
        day_states = [o for o in outs if isinstance(o, StatePayload)]
        aggs += [o for o in outs if isinstance(o, DataPayload)]
        states += day_states
        per_hour = [0] * 24
        for s in day_states:
            per_hour[(s.ts_ms - day_ms) // HOUR_MS] += 1
        peak += max(per_hour) / seeds
    return MachineRates(
        aggregates_per_h=len(aggs) / (24 * seeds), state_changes_per_h_peak=peak,
        state_changes_per_h_shift=len(states) / (work_h * seeds),
        aggregate_bytes=sum(len(encode(a)) for a in aggs) / len(aggs),
        state_bytes=sum(len(encode(s)) for s in states) / len(states),
        aggregate_metrics=tuple(dict(a.samples[0].metrics) for a in aggs),
        state_changes=tuple(states),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterAssumptions:
    """The cluster's shape. Figures marked *edge default* are the agent's configuration defaults;
    the rest are assumptions, stated in the README, to be replaced by the platform's master data."""

    factories: int = 7_600  # the district's virtual group (issue 16)
    # Machines per factory: lognormal around a median of 45, truncated to the 20..100 that small
    # firms have (DOMAIN: 10-200 across the cluster; the issue: small firms 20-100).
    machines_median: float = 45.0
    machines_sigma: float = 0.45
    machines_min: int = 20
    machines_max: int = 100
    machines_per_line: int = 25  # a sewing line of 20-30 operators; lines = ceil(machines / 25)
    # Energy at each factory: the grid meter and one sub-meter per line, as in the demo.
    meters_per_line: int = 1
    # Rooftop PV on a share of the factories, 2 string inverters each (assumed).
    pv_share: float = 0.2
    pv_inverters_per_site: int = 2
    # The district park: wind turbines, PV inverters, battery systems (+ a feeder meter each),
    # met stations, grid-connection meters (assumed, the size of a county park).
    park_wind_turbines: int = 20
    park_pv_inverters: int = 40
    park_batteries: int = 10
    park_met_stations: int = 4
    park_grid_meters: int = 4
    modbus_poll_s: float = 1.0  # edge default (ModbusDeviceConfig.poll_interval_s)
    gateway_telemetry_s: float = 60.0  # edge default (telemetry_interval_s)
    reconnects_per_gateway_day: float = 24.0  # unreliable factory networks: one birth + status each
    seed: int = 16

    def __post_init__(self) -> None:
        if not 0 < self.machines_min <= self.machines_max:
            raise ValueError("machines_min must be in (0, machines_max]")
        if self.modbus_poll_s <= 0 or self.gateway_telemetry_s <= 0:
            raise ValueError("poll and telemetry intervals must be > 0 s")


@dataclass(frozen=True, slots=True)
class Factory:
    index: int
    machines: int
    lines: int
    meters: int
    pv_inverters: int

    @property
    def energy_assets(self) -> int:
        return self.meters + self.pv_inverters


def draw_factories(a: ClusterAssumptions) -> list[Factory]:
    """The whole cluster, factory by factory from one seeded stream (a fraction = a prefix)."""
    rng = random.Random(a.seed)
    mu = math.log(a.machines_median)
    out = []
    for i in range(a.factories):
        while True:  # truncation by rejection keeps the lognormal's shape inside the bounds
            m = round(rng.lognormvariate(mu, a.machines_sigma))
            if a.machines_min <= m <= a.machines_max:
                break
        lines = math.ceil(m / a.machines_per_line)
        pv = a.pv_inverters_per_site if rng.random() < a.pv_share else 0
        out.append(Factory(index=i, machines=m, lines=lines, meters=1 + lines * a.meters_per_line, pv_inverters=pv))
    return out


@dataclass(frozen=True, slots=True)
class Park:
    """The district's energy equipment behind one gateway (a fraction scales it, at least 1 each)."""

    wind_turbines: int
    pv_inverters: int
    batteries: int
    met_stations: int
    meters: int  # grid-connection meters + one per battery feeder

    @property
    def assets(self) -> int:
        return self.wind_turbines + self.pv_inverters + self.batteries + self.met_stations + self.meters

    def by_kind(self) -> dict[AssetKind, int]:
        return {AssetKind.WIND_TURBINE: self.wind_turbines, AssetKind.PV_INVERTER: self.pv_inverters,
                AssetKind.BATTERY: self.batteries, AssetKind.MET_STATION: self.met_stations,
                AssetKind.METER: self.meters}


def park(a: ClusterAssumptions, fraction: float) -> Park:
    def part(n: int) -> int:
        return max(1, round(n * fraction)) if n else 0

    return Park(wind_turbines=part(a.park_wind_turbines), pv_inverters=part(a.park_pv_inverters),
                batteries=part(a.park_batteries), met_stations=part(a.park_met_stations),
                meters=part(a.park_grid_meters) + part(a.park_batteries))


@dataclass(frozen=True, slots=True)
class Stream:
    name: str
    msgs_per_s: float
    points_per_s: float
    bytes_per_s: float


@dataclass(frozen=True, slots=True)
class Load:
    factories: int
    gateways: int
    machines: int
    energy_assets: int
    streams: tuple[Stream, ...]

    @property
    def msgs_per_s(self) -> float:
        return sum(s.msgs_per_s for s in self.streams)

    @property
    def points_per_s(self) -> float:
        return sum(s.points_per_s for s in self.streams)

    @property
    def bytes_per_s(self) -> float:
        return sum(s.bytes_per_s for s in self.streams)


MODBUS_SAMPLE_BYTES = 260.0  # a meter/inverter sample as the edge encodes it (wire.encode_data), ~200-320 B
TELEMETRY_BYTES = 260.0
BIRTH_BYTES_PER_ASSET = 90.0


def factory_count(a: ClusterAssumptions, fraction: float) -> int:
    if not 0 < fraction <= 1:
        raise ValueError("fraction must be in (0, 1]")
    return max(1, round(a.factories * fraction))


def cluster_load(a: ClusterAssumptions, factories: Sequence[Factory], rates: MachineRates, *,
                 fraction: float = 1.0) -> Load:
    """Peak-hour messages, points and payload bytes per second of the first ``fraction`` of the
    cluster (each message carries one sample = one point; a birth one point per asset + 1)."""
    fs = factories[:factory_count(a, fraction)]
    p = park(a, fraction)
    machines = sum(f.machines for f in fs)
    meters = sum(f.meters for f in fs)
    pv = sum(f.pv_inverters for f in fs)
    gateways = len(fs) + 1  # one per factory + the park's
    assets = machines + meters + pv + p.assets
    agg = machines * rates.aggregates_per_h / 3600
    state = machines * rates.state_changes_per_h_peak / 3600
    modbus = (meters + pv + p.assets) / a.modbus_poll_s
    telem = gateways / a.gateway_telemetry_s
    connects = gateways * a.reconnects_per_gateway_day / 86_400
    streams = (
        Stream("sewing aggregates (60 s)", agg, agg, agg * rates.aggregate_bytes),
        Stream("machine state changes (peak hour)", state, state, state * rates.state_bytes),
        Stream(f"Modbus samples (poll {a.modbus_poll_s:g} s)", modbus, modbus, modbus * MODBUS_SAMPLE_BYTES),
        Stream("gateway self-telemetry", telem, telem, telem * TELEMETRY_BYTES),
        Stream("birth + status (reconnects)", 2 * connects, connects * (2 + assets / gateways),
               connects * (assets / gateways * BIRTH_BYTES_PER_ASSET + 120)),
    )
    return Load(factories=len(fs), gateways=gateways, machines=machines, energy_assets=meters + pv + p.assets,
                streams=streams)


def machines_histogram(factories: Sequence[Factory], edges: Sequence[int] = (20, 30, 40, 50, 60, 80, 101)
                       ) -> list[tuple[str, int]]:
    out = []
    for lo, hi in itertools.pairwise(edges):
        out.append((f"{lo}-{hi - 1}", sum(1 for f in factories if lo <= f.machines < hi)))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--fractions", default="0.01,0.02,0.05,0.1,1", help="comma-separated fractions of the cluster")
    p.add_argument("--seeds", type=int, default=3, help="simulated machine-days for the measured rates")
    p.add_argument("--modbus-poll-s", type=float, default=ClusterAssumptions().modbus_poll_s)
    args = p.parse_args(argv)
    a = ClusterAssumptions(modbus_poll_s=args.modbus_poll_s)
    rates = measure_machine_rates(seeds=args.seeds)
    fs = draw_factories(a)
    print(f"measured per machine: {rates.aggregates_per_h:.1f} aggregates/h ({rates.aggregate_bytes:.0f} B), "
          f"state changes {rates.state_changes_per_h_peak:.0f}/h in the peak hour, "
          f"{rates.state_changes_per_h_shift:.0f}/h over the shift ({rates.state_bytes:.0f} B)")
    total_m = sum(f.machines for f in fs)
    print(f"{a.factories} factories, {total_m} machines (mean {total_m / len(fs):.1f}); machines per factory: "
          + ", ".join(f"{k}: {n}" for k, n in machines_histogram(fs)))
    print(f"{'fraction':>8} {'factories':>9} {'machines':>9} {'energy':>7} {'msg/s':>9} {'points/s':>9} {'kB/s':>8}")
    for frac in (float(x) for x in args.fractions.split(",")):
        load = cluster_load(a, fs, rates, fraction=frac)
        print(f"{frac:>8g} {load.factories:>9} {load.machines:>9} {load.energy_assets:>7} {load.msgs_per_s:>9,.0f} "
              f"{load.points_per_s:>9,.0f} {load.bytes_per_s / 1000:>8,.0f}")
    whole = cluster_load(a, fs, rates)
    print("whole cluster by stream:")
    for s in whole.streams:
        print(f"  {s.name:<36} {s.msgs_per_s:>9,.1f} msg/s {s.points_per_s:>9,.1f} points/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
