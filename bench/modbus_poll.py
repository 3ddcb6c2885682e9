"""Benchmark: one ModbusSource polling N simulated devices at 1 s over Modbus TCP on loopback.

The device stubs run in a separate process (``seamline sim energy``) so that the CPU figure is
the poller's alone. Prints CPU share (of one core), poll-latency percentiles and samples/s.

    .venv/bin/python -m bench.modbus_poll --pv 20 --meter 60 --wind 19 --seconds 20
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from pydantic import BaseModel

from contracts.topic import Topic
from edge_agent.modbus.config import load_devices
from edge_agent.modbus.source import ModbusSource
from firmware_stubs.energy.vendor_map import DEFAULT_MAP_PATH
from seamline.localstack import free_port
from seamline.localstack.ports import wait_for_port

KIND = {"PvInverter": "pv_inverter", "MetStation": "met_station", "Battery": "battery", "Meter": "meter",
        "WindTurbine": "wind_turbine"}  # fmt: skip
STUB_START_TIMEOUT_S = 60.0


@dataclass
class CountingSink:
    samples: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def emit(self, topic: Topic, message: BaseModel) -> None:
        message.model_dump_json()  # what the agent would do before spooling
        with self._lock:
            self.samples += 1


def _start_stubs(args: argparse.Namespace, base_port: int) -> tuple[subprocess.Popen[str], list[dict[str, object]]]:
    cmd = [sys.executable, "-m", "firmware_stubs.energy.cli", "--pv", str(args.pv), "--battery", str(args.battery),
           "--meter", str(args.meter), "--wind", str(args.wind), "--base-port", str(base_port),
           "--duration-s", str(args.seconds + 30)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    n = args.pv + (1 if args.pv else 0) + args.battery + args.meter + args.wind
    entries: list[dict[str, object]] = []
    deadline = time.monotonic() + STUB_START_TIMEOUT_S
    assert proc.stdout is not None
    while len(entries) < n and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        name, cls, addr, *_ = line.split()
        port = int(addr.rsplit(":", 1)[1])
        entry: dict[str, object] = {"asset": name, "area": "energy", "asset_kind": KIND[cls], "host": "127.0.0.1",
                                    "port": port, "poll_interval_s": 1.0, "timeout_s": 1.0}  # fmt: skip
        if cls == "WindTurbine":
            entry.update(protocol="register_map", map_file=str(DEFAULT_MAP_PATH))
        entries.append(entry)
    if len(entries) < n:
        proc.kill()
        raise SystemExit(f"stubs did not start ({len(entries)}/{n} devices)")
    wait_for_port(int(entries[-1]["port"]))  # type: ignore[call-overload]
    return proc, entries


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--pv", type=int, default=20)
    p.add_argument("--battery", type=int, default=0)
    p.add_argument("--meter", type=int, default=60)
    p.add_argument("--wind", type=int, default=19)
    p.add_argument("--seconds", type=float, default=20.0)
    args = p.parse_args(argv)
    proc, entries = _start_stubs(args, free_port())
    try:
        sink = CountingSink()
        src = ModbusSource(devices=load_devices(entries), enterprise="bench", site="bench", sink=sink)
        src.start()
        time.sleep(3.0)  # connects + SunSpec discovery; not part of the steady state
        s0, c0, w0 = sink.samples, time.process_time(), time.monotonic()
        time.sleep(args.seconds)
        s1, c1, w1 = sink.samples, time.process_time(), time.monotonic()
        stats = src.stats()
        src.stop()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    wall = w1 - w0
    rows = [
        ("devices", f"{len(entries)}"),
        ("poll interval", "1.0 s"),
        ("measured for", f"{wall:.1f} s"),
        ("samples/s", f"{(s1 - s0) / wall:.1f}"),
        ("poller CPU (share of one core)", f"{100.0 * (c1 - c0) / wall:.1f} %"),
        ("poll latency p50", f"{stats.poll_latency_p50_ms:.1f} ms"),
        ("poll latency p99", f"{stats.poll_latency_p99_ms:.1f} ms"),
        ("poll latency max", f"{stats.poll_latency_max_ms:.1f} ms"),
        ("errors / overruns", f"{stats.errors} / {stats.overruns}"),
        ("offline devices", f"{len(stats.offline_devices)}"),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v:>12}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
