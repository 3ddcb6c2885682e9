"""Benchmark: one agent polling N Modbus devices at 1 s - the seamline poller against a bare
pymodbus baseline, both against the same stub servers in the same run.

The device stubs run in ``--stub-procs`` separate processes (``python -m seamline.firmware_stubs.energy.cli``,
each serving a slice of the devices, registers refreshed on a 1 s simulated grid), so the CPU
figure is the poller's alone and a stub loop does not serve 100 devices on its own.

Phases, one after the other, each ``--seconds`` long after ``--warmup-s`` of connects/discovery:

* baseline: one asyncio task per device with a bare ``AsyncModbusTcpClient`` issuing exactly the
  read requests the poller issues per poll (same discovery plan), nothing else: the floor.
* seamline: ``ModbusSource`` (discovery, decoding, scale factors, counters, contract messages into
  a sink that serialises them as the agent would).

CPU % = process CPU time / wall time of this process during the phase (only the phase's loop
thread works; the main thread sleeps). Latency = one poll cycle of one device (all its reads, and
for seamline decode + publish).

    .venv/bin/python -m bench.modbus_poll --pv 20 --meter 60 --wind 19 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pymodbus.client import AsyncModbusTcpClient

from seamline.contracts.topic import Topic
from seamline.edge_agent import wire
from seamline.edge_agent.modbus import metrics_map, sunspec
from seamline.edge_agent.modbus.config import load_devices
from seamline.edge_agent.modbus.profile import ModbusDevice, Protocol
from seamline.edge_agent.modbus.source import ModbusSource
from seamline.edge_agent.wire import DataPayload
from seamline.firmware_stubs.energy.vendor_map import DEFAULT_MAP_PATH
from seamline.localstack.ports import wait_for_port

KIND = {"PvInverter": "pv_inverter", "MetStation": "met_station", "Battery": "battery", "Meter": "meter",
        "WindTurbine": "wind_turbine"}  # fmt: skip
STUB_START_TIMEOUT_S = 60.0
PORT_ATTEMPTS = 5  # a random base port may collide with another engineer's listener: retry elsewhere
PORT_RANGE = (20_000, 32_000)  # below the kernel's ephemeral range (32768+), where free_port() lands
PHASE_STOP_TIMEOUT_S = 15.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class RateMeter:
    """Samples per device while ``recording``: count and first/last time (monotonic s). The rate
    is taken per device between its first and last sample, so a window edge that falls among the
    devices' (nearly aligned) ticks cannot add or drop a whole round of 100 samples."""

    recording: bool = False
    _seen: dict[str, tuple[int, float, float]] = field(default_factory=dict)

    def record(self, device: str) -> None:
        if not self.recording:
            return
        now = time.monotonic()
        n, first, _ = self._seen.get(device, (0, now, now))
        self._seen[device] = (n + 1, first, now)

    @property
    def samples(self) -> int:
        return sum(n for n, _, _ in self._seen.values())

    def per_s(self) -> float:
        return sum((n - 1) / (last - first) for n, first, last in self._seen.values() if n > 1 and last > first)


@dataclass
class CountingSink:
    rate: RateMeter = field(default_factory=RateMeter)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def emit(self, topic: Topic, message: DataPayload) -> None:
        wire.encode_data(message)  # what the agent does before spooling
        with self._lock:
            self.rate.record(topic.asset)


@dataclass(frozen=True)
class PhaseResult:
    name: str
    devices: int
    wall_s: float
    samples: int
    samples_per_s: float
    cpu_s: float
    stub_cpu_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    skipped_ticks: int
    errors: int


def _pct(values: list[float], q: float) -> float:
    """The same rank rule as edge_agent.modbus.poll_stats, so both columns compare like for like."""
    lat = sorted(values)
    return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")


# --- stub processes ----------------------------------------------------------------------------


def _slices(args: argparse.Namespace) -> list[dict[str, int]]:
    """Per stub process: device counts. All PV (and so the one met station) in the first, the rest
    dealt out so every process serves about as many devices."""
    n = max(1, args.stub_procs)
    out = [{"pv": 0, "battery": 0, "meter": 0, "wind": 0} for _ in range(n)]
    out[0]["pv"] = args.pv
    load = [0] * n
    load[0] = args.pv + (1 if args.pv else 0)
    for kind in ("battery", "meter", "wind"):
        for _ in range(getattr(args, kind)):
            i = load.index(min(load))
            out[i][kind] += 1
            load[i] += 1
    return out


Entry = dict[str, object]


def start_stub(
    counts: dict[str, int], *, life_s: float, step_s: float, refresh_s: float
) -> tuple[subprocess.Popen[str], list[Entry]]:
    """One ``seamline.firmware_stubs.energy.cli`` process serving ``counts`` devices (pv, battery,
    meter, wind; a met station comes with PV) for ``life_s`` wall seconds at most, and the edge
    config entries of its devices (1 s poll interval)."""
    n = counts["pv"] + (1 if counts["pv"] else 0) + counts["battery"] + counts["meter"] + counts["wind"]
    for _ in range(PORT_ATTEMPTS):
        base = random.randrange(PORT_RANGE[0], PORT_RANGE[1] - n)
        cmd = [sys.executable, "-m", "seamline.firmware_stubs.energy.cli", "--base-port", str(base),
               "--duration-s", str(life_s),
               "--step-s", str(step_s), "--refresh-s", str(refresh_s),
               *(a for k, v in counts.items() for a in (f"--{k}", str(v)))]  # fmt: skip
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        entries = _read_endpoints(proc, n)
        if len(entries) == n:
            wait_for_port(int(entries[-1]["port"]))  # type: ignore[call-overload]
            return proc, entries
        proc.kill()
        proc.wait(timeout=10)
    raise SystemExit(f"stub process did not start after {PORT_ATTEMPTS} port ranges")


def _read_endpoints(proc: subprocess.Popen[str], n: int) -> list[Entry]:
    entries: list[Entry] = []
    deadline = time.monotonic() + STUB_START_TIMEOUT_S
    assert proc.stdout is not None
    while len(entries) < n and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break  # exited: most likely a port of the range was taken
        name, cls, addr, *_ = line.split()
        port = int(addr.rsplit(":", 1)[1])
        entry: Entry = {"asset": name, "area": "energy", "asset_kind": KIND[cls], "host": "127.0.0.1", "port": port,
                        "poll_interval_s": 1.0, "timeout_s": 1.0}  # fmt: skip
        if cls == "WindTurbine":
            entry.update(protocol="register_map", map_file=str(DEFAULT_MAP_PATH))
        entries.append(entry)
    return entries


def _cpu_s(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / CLK_TCK


# --- baseline: bare pymodbus client, same requests -----------------------------------------------


@dataclass
class _BareDevice:
    cfg: ModbusDevice
    reads: list[tuple[int, int]] = field(default_factory=list)  # (address, count) per poll
    client: AsyncModbusTcpClient | None = None


class _BareReader:
    def __init__(self, client: AsyncModbusTcpClient) -> None:
        self.client = client

    async def read(self, address: int, count: int) -> list[int]:
        rr = await self.client.read_holding_registers(address, count=count, device_id=1)
        if rr.isError():
            raise OSError(f"exception response at {address}")
        return list(rr.registers)


async def _prepare(dev: _BareDevice) -> None:
    """Connect and derive the poller's read requests (untimed set-up)."""
    dev.client = AsyncModbusTcpClient(dev.cfg.host, port=dev.cfg.port, timeout=dev.cfg.timeout_s, retries=0)
    if not await dev.client.connect():
        raise SystemExit(f"baseline: cannot connect to {dev.cfg.asset}")
    if dev.cfg.protocol is Protocol.REGISTER_MAP:
        rmap = dev.cfg.register_map
        assert rmap is not None  # loaded by load_devices
        spans = [(rmap.first_address, rmap.register_count)]
    else:
        reader = _BareReader(dev.client)
        blocks = await sunspec.walk_models(reader, await sunspec.find_base(reader, dev.cfg.sunspec_bases))
        needed = metrics_map.models_needed(dev.cfg.asset_kind, {b.model_id for b in blocks})
        spans = [(s.address, s.count) for s in sunspec.plan_reads(blocks, needed)]
    for addr, count in spans:
        for off in range(0, count, sunspec.MAX_READ_REGS):
            dev.reads.append((addr + off, min(sunspec.MAX_READ_REGS, count - off)))


@dataclass
class _BareStats:
    rate: RateMeter = field(default_factory=RateMeter)
    skipped: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    recording: bool = False


async def _bare_task(dev: _BareDevice, stats: _BareStats, stop: asyncio.Event, phase_s: float) -> None:
    assert dev.client is not None
    interval = dev.cfg.poll_interval_s
    next_tick = time.monotonic() + phase_s  # spread over the interval, as ModbusSource does
    await asyncio.sleep(phase_s)
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            for addr, count in dev.reads:
                rr = await dev.client.read_holding_registers(addr, count=count, device_id=dev.cfg.unit_id)
                if rr.isError():
                    raise OSError("exception response")
        except Exception:  # counted; the baseline measures, it does not recover
            stats.errors += 1
        if stats.recording:
            stats.rate.record(dev.cfg.asset)
            stats.latencies_ms.append((time.monotonic() - t0) * 1000.0)
        next_tick += interval
        now = time.monotonic()
        if now > next_tick:
            missed = int((now - next_tick) // interval) + 1
            stats.skipped += missed if stats.recording else 0
            next_tick += missed * interval
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(0.0, next_tick - now))


def run_baseline(devices: list[ModbusDevice], args: argparse.Namespace, stub_pids: list[int]) -> PhaseResult:
    stats, ready = _BareStats(), threading.Event()
    box: dict[str, object] = {}

    async def main() -> None:
        devs = [_BareDevice(d) for d in devices]
        await asyncio.gather(*(_prepare(d) for d in devs))
        stop = asyncio.Event()
        box["loop"], box["stop"] = asyncio.get_running_loop(), stop
        ready.set()
        n = len(devs) if args.spread else 0
        phases = [d.cfg.poll_interval_s * i / n if n else 0.0 for i, d in enumerate(devs)]
        await asyncio.gather(*(_bare_task(d, stats, stop, ph) for d, ph in zip(devs, phases, strict=True)))
        for d in devs:
            assert d.client is not None
            d.client.close()

    thread = threading.Thread(target=lambda: asyncio.run(main()), name="bare-modbus", daemon=True)
    thread.start()
    if not ready.wait(STUB_START_TIMEOUT_S):
        raise SystemExit("baseline did not connect")
    time.sleep(args.warmup_s)
    stats.recording = stats.rate.recording = True
    c0, w0, s0 = time.process_time(), time.monotonic(), _cpu_s(stub_pids)
    time.sleep(args.seconds)
    c1, w1, s1 = time.process_time(), time.monotonic(), _cpu_s(stub_pids)
    stats.recording = stats.rate.recording = False
    loop, stop = box["loop"], box["stop"]
    assert isinstance(loop, asyncio.AbstractEventLoop) and isinstance(stop, asyncio.Event)
    loop.call_soon_threadsafe(stop.set)
    thread.join(PHASE_STOP_TIMEOUT_S)
    lat = stats.latencies_ms
    return PhaseResult(
        name="baseline", devices=len(devices), wall_s=w1 - w0, samples=stats.rate.samples,
        samples_per_s=stats.rate.per_s(), cpu_s=c1 - c0, stub_cpu_s=s1 - s0, p50_ms=_pct(lat, 0.5),
        p99_ms=_pct(lat, 0.99), max_ms=max(lat, default=float("nan")), skipped_ticks=stats.skipped,
        errors=stats.errors,
    )  # fmt: skip


def run_seamline(devices: list[ModbusDevice], args: argparse.Namespace, stub_pids: list[int]) -> PhaseResult:
    sink = CountingSink()
    src = ModbusSource(devices=devices, enterprise="bench", site="bench", sink=sink, spread_start=args.spread)
    src.start()
    try:
        time.sleep(args.warmup_s)  # connects + SunSpec discovery; not part of the steady state
        src.reset_latency_window()
        before = src.stats()
        sink.rate.recording = True
        c0, w0, s0 = time.process_time(), time.monotonic(), _cpu_s(stub_pids)
        time.sleep(args.seconds)
        c1, w1, s1 = time.process_time(), time.monotonic(), _cpu_s(stub_pids)
        sink.rate.recording = False
        after = src.stats()
    finally:
        src.stop()
    nan = float("nan")
    return PhaseResult(
        name="seamline", devices=len(devices), wall_s=w1 - w0, samples=sink.rate.samples,
        samples_per_s=sink.rate.per_s(), cpu_s=c1 - c0, stub_cpu_s=s1 - s0, p50_ms=after.poll_latency_p50_ms or nan,
        p99_ms=after.poll_latency_p99_ms or nan, max_ms=after.poll_latency_max_ms or nan,
        skipped_ticks=after.overruns - before.overruns, errors=after.errors - before.errors,
    )  # fmt: skip


def _table(base: PhaseResult, seam: PhaseResult) -> str:
    def ratio(a: float, b: float) -> str:
        return f"{b / a:.2f}x" if a > 0 else "-"

    rows = [
        ("devices", f"{base.devices}", f"{seam.devices}", ""),
        ("poll interval", "1.0 s", "1.0 s", ""),
        ("measured for", f"{base.wall_s:.1f} s", f"{seam.wall_s:.1f} s", ""),
        ("samples/s", f"{base.samples_per_s:.1f}", f"{seam.samples_per_s:.1f}",
         ratio(base.samples_per_s, seam.samples_per_s)),
        ("poller CPU, % of one core", f"{100 * base.cpu_s / base.wall_s:.1f} %",
         f"{100 * seam.cpu_s / seam.wall_s:.1f} %", ratio(base.cpu_s / base.wall_s, seam.cpu_s / seam.wall_s)),
        ("CPU per sample", f"{1e6 * base.cpu_s / max(1, base.samples):.0f} us",
         f"{1e6 * seam.cpu_s / max(1, seam.samples):.0f} us",
         ratio(base.cpu_s / max(1, base.samples), seam.cpu_s / max(1, seam.samples))),
        ("poll-cycle latency p50", f"{base.p50_ms:.1f} ms", f"{seam.p50_ms:.1f} ms", ratio(base.p50_ms, seam.p50_ms)),
        ("poll-cycle latency p99", f"{base.p99_ms:.1f} ms", f"{seam.p99_ms:.1f} ms", ratio(base.p99_ms, seam.p99_ms)),
        ("poll-cycle latency max", f"{base.max_ms:.1f} ms", f"{seam.max_ms:.1f} ms", ratio(base.max_ms, seam.max_ms)),
        ("skipped ticks", f"{base.skipped_ticks}", f"{seam.skipped_ticks}", ""),
        ("errors", f"{base.errors}", f"{seam.errors}", ""),
        ("stub processes' CPU, % of one core", f"{100 * base.stub_cpu_s / base.wall_s:.1f} %",
         f"{100 * seam.stub_cpu_s / seam.wall_s:.1f} %", ""),
    ]  # fmt: skip
    w = max(len(r[0]) for r in rows)
    head = f"{'':<{w}}  {'bare pymodbus':>14}  {'seamline':>14}  {'ratio':>7}"
    return "\n".join([head, *(f"{k:<{w}}  {a:>14}  {b:>14}  {r:>7}" for k, a, b, r in rows)])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pv", type=int, default=20)
    p.add_argument("--battery", type=int, default=0)
    p.add_argument("--meter", type=int, default=60)
    p.add_argument("--wind", type=int, default=19)
    p.add_argument("--stub-procs", type=int, default=3, help="stub processes sharing the devices (default 3)")
    p.add_argument("--step-s", type=float, default=1.0, help="stub physics step, simulated s")
    p.add_argument("--refresh-s", type=float, default=1.0, help="stub register refresh, simulated s (0 = every read)")
    p.add_argument("--spread", action="store_true", help="start the devices spread over the interval (both phases)")
    p.add_argument("--seconds", type=float, default=20.0, help="measured wall seconds per phase")
    p.add_argument("--warmup-s", type=float, default=4.0, help="connect + discovery time before measuring")
    args = p.parse_args(argv)
    if not 1 <= args.stub_procs <= 8:
        p.error("--stub-procs must be 1..8")
    procs: list[subprocess.Popen[str]] = []
    try:
        entries: list[Entry] = []
        for i, counts in enumerate(_slices(args)):
            life_s = args.warmup_s * 2 + args.seconds * 2 + 60  # the stubs end by themselves even if we die
            proc, ents = start_stub(counts, life_s=life_s, step_s=args.step_s, refresh_s=args.refresh_s)
            procs.append(proc)
            entries.extend({**e, "asset": f"s{i}-{e['asset']}"} for e in ents)  # each process names from pv1
        devices = load_devices(entries)
        pids = [pr.pid for pr in procs]
        base = run_baseline(devices, args, pids)
        seam = run_seamline(devices, args, pids)
    finally:
        for pr in procs:
            pr.terminate()
        for pr in procs:
            pr.wait(timeout=10)
    per_proc = ", ".join(str(sum(c.values()) + (1 if c["pv"] else 0)) for c in _slices(args))
    print(f"{len(entries)} devices in {len(procs)} stub processes ({per_proc}), "
          f"register refresh {args.refresh_s} s, physics step {args.step_s} s, "
          f"{'ticks spread over the interval' if args.spread else 'aligned ticks'}")  # fmt: skip
    print(_table(base, seam))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
