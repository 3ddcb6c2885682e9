"""``seamline sim energy``: serve simulated energy devices over Modbus TCP on loopback ports."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from seamline.errors import UsageError

MAX_DEVICES_PER_KIND = 500  # one loop thread; beyond this a single host is the wrong tool
DEFAULT_START = "2025-06-21T08:00:00+08:00"


def add_energy_command(sim_sub: Any) -> None:
    """Add ``energy`` to the ``seamline sim`` subparsers."""
    p: argparse.ArgumentParser = sim_sub.add_parser("energy", help="PV/battery/meter/wind devices over Modbus TCP")
    for kind in ("pv", "battery", "meter", "wind"):
        p.add_argument(f"--{kind}", type=int, default=1, metavar="N", help=f"number of {kind} devices (default 1)")
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per wall second")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--step-s", type=float, default=1.0, help="physics step, simulated s (default 1)")
    p.add_argument(
        "--refresh-s", type=float, default=0.0,
        help="refresh the registers every this many simulated s, like a real device (0 = on every read)",
    )  # fmt: skip
    p.add_argument("--base-port", type=int, default=15020, help="first TCP port; devices take consecutive ports")
    p.add_argument("--start", default=DEFAULT_START, help="simulated start time, ISO 8601 with offset")
    p.add_argument("--duration-s", type=float, default=0.0, help="stop after this many wall seconds (0 = until ^C)")
    p.add_argument("--config", type=Path, default=None,
                   help="energy simulation config (loads, tariff, battery dispatch); default: the packaged one")
    p.add_argument("--factories", type=int, default=0, metavar="N",
                   help="factory sites f001.. whose meters draw a simulated sewing floor (default 0); give the "
                        "floor as to `seamline sim sewing`: --lines, --machines, --floor-seed, same --start")
    p.add_argument("--lines", type=int, default=1, help="lines per factory (with --factories)")
    p.add_argument("--machines", type=int, default=5, help="machines per line (with --factories)")
    p.add_argument("--floor-seed", type=int, default=0, help="the sewing floor's seed (`sim sewing --seed`)")
    p.add_argument("--sim-hours", type=float, default=10.0,
                   help="simulated span of the floor and the loads from --start, h (held after it)")
    p.set_defaults(handler=run_energy)


def run_energy(args: argparse.Namespace) -> int:
    from datetime import datetime

    from seamline.firmware_stubs.clock import SimClock
    from seamline.firmware_stubs.energy.server import EnergyStubHost

    for kind in ("pv", "battery", "meter", "wind", "factories"):
        n = getattr(args, kind)
        if not 0 <= n <= MAX_DEVICES_PER_KIND:
            raise UsageError(f"--{kind} must be 0..{MAX_DEVICES_PER_KIND}, got {n}")
    if not 0.1 <= args.sim_hours <= 24 * 31:
        raise UsageError(f"--sim-hours must be 0.1..744, got {args.sim_hours}")
    if args.speed <= 0:
        raise UsageError(f"--speed must be > 0, got {args.speed}")
    if not 0.001 <= args.step_s <= 3600:
        raise UsageError(f"--step-s must be 0.001..3600 s, got {args.step_s}")
    if not (args.refresh_s == 0 or 0.001 <= args.refresh_s <= 3600):
        raise UsageError(f"--refresh-s must be 0 or 0.001..3600 s, got {args.refresh_s}")
    try:
        start_ms = int(datetime.fromisoformat(args.start).timestamp() * 1000)
    except ValueError as exc:
        raise UsageError(f"--start: expected ISO 8601 like {DEFAULT_START}, got {args.start!r}") from exc
    devices = _devices(args, start_ms)
    if not 1 <= args.base_port <= 65535 - len(devices):
        raise UsageError(f"--base-port {args.base_port} leaves no room for {len(devices)} ports")
    host = EnergyStubHost(clock=SimClock(start_ms, args.speed))
    for i, dev in enumerate(devices):
        dev.step_s, dev.refresh_s = args.step_s, args.refresh_s or None
        host.add(dev, port=args.base_port + i)
    try:
        host.start()
    except OSError as exc:
        raise UsageError(f"cannot listen from port {args.base_port}: {exc}") from exc
    for ep in host.endpoints:
        d = ep.device
        where = f"{ep.host}:{ep.port} unit {d.unit_id} base {d.base_address}"
        print(f"{d.name:<10} {type(d).__name__:<11} {where}", flush=True)
    done = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        deadline = time.monotonic() + args.duration_s if args.duration_s > 0 else None
        while not done.is_set() and (deadline is None or time.monotonic() < deadline):
            done.wait(0.5)
    finally:
        host.stop()
    return 0


def _devices(args: argparse.Namespace, start_ms: int) -> list[Any]:
    """The park's devices (pv1.., bat1.., meter1.., wt1..), then each factory's meters named
    ``f001-meter1``, ``f001-line01m``, ...: driven by the sewing floor ``sim sewing`` runs with
    the same size, seed and start (recomputed here, identically: both are deterministic)."""
    from seamline.firmware_stubs.energy.cluster_sites import factory_loads, factory_site, park_load, park_site
    from seamline.firmware_stubs.energy.load_config import load_energy_sim_config
    from seamline.firmware_stubs.sewing.floor import FloorSpec, prepare_floor
    from seamline.firmware_stubs.sewing.shift import ShiftPattern

    cfg = load_energy_sim_config(args.config)
    end_ms = start_ms + round(args.sim_hours * 3_600_000)
    park = park_site(cfg, park_load(cfg, ShiftPattern(), start_ms, end_ms), pv=args.pv, battery=args.battery,
                     meter=args.meter, wind=args.wind, seed=args.seed, battery_meters=False)
    devices = list(park.devices)
    if args.factories:
        try:
            spec = FloorSpec(factories=args.factories, lines=args.lines, machines=args.machines, start_ms=start_ms,
                             end_ms=end_ms, seed=args.floor_seed)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        for i, (ent, load) in enumerate(factory_loads(cfg, spec, prepare_floor(spec)).items()):
            for dev in factory_site(cfg, ent, load, seed=args.seed + 1 + i).devices:
                dev.name = f"{ent}-{dev.name}"
                devices.append(dev)
    return devices


def main(argv: list[str] | None = None) -> int:
    """Standalone entry (``python -m seamline.firmware_stubs.energy.cli ...``), same flags as ``sim energy``."""
    parser = argparse.ArgumentParser(prog="energy-sim")
    add_energy_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["energy", *(argv if argv is not None else sys.argv[1:])])
    try:
        return int(args.handler(args))
    except UsageError as exc:
        print(f"energy-sim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
