"""Benchmark: a gateway install and the real ``seamline edge run`` process on it, against a bare paho
publisher from the same venv in the same run.

    .venv/bin/python -m bench.gateway_footprint                       # 200 machines, 10 Modbus, 60 s
    .venv/bin/python -m bench.gateway_footprint --machines 0 --modbus 0 --seconds 20   # idle agent
    .venv/bin/python -m bench.gateway_footprint --agent-env MALLOC_ARENA_MAX=2        # an env variant

1. Builds the wheel from this checkout and installs it with only ``[edge]`` into a venv made by
   ``python -m venv`` (cached in ``.build/gateway-venv/`` by a hash of pyproject.toml + the wheel's
   contents; ``--fresh`` rebuilds); reports its site-packages on disk, with and without pip/setuptools.
2. Starts a local and a central Mosquitto and ``--modbus`` Modbus TCP energy stubs (one
   ``seamline.firmware_stubs.energy.cli`` process from the main venv).
3. Start-up, ``--starts`` times each, alternating: ``<venv>/bin/seamline edge run`` with the bench
   config, and ``bench/bare_paho_publisher.py`` run by that venv's Python. **Start-up = exec -> the
   process's first message arrives on the central broker** (the agent's birth; the bare publisher's
   birth), wall time and the CPU time the process used until then (which the other tenants of a
   shared machine cannot inflate). Exec -> the agent's "started" log line is shown too.
4. Load: the agent and the bare publisher run side by side; the simulator (main venv) publishes one
   1-sample message per machine per second to the local broker (what real nodes send), the agent
   polls the Modbus stubs at 1 s. After ``--warmup-s`` the bench samples both processes every second
   for ``--seconds``: steady RSS = mean VmRSS over that window, CPU = utime+stime over it; peak RSS =
   the larger of VmHWM at its end (the high-water mark since the runtime's exec) and the peak of the
   image that validated the config before it (``seamline edge run`` validates with pydantic, then
   execs the agent's runtime in the same PID; the runtime logs that first image's VmHWM). The bare publisher sends
   what the agent sends upstream: ``--modbus`` messages a second plus the state changes the agent's
   own derivation makes of the simulated samples, and one message per machine every aggregate period.
5. Floor: the venv's Python importing only the running agent's third-party dependencies (paho, ssl,
   sqlite3, orjson, argparse, pickle; pymodbus, pysunspec2 and asyncio when Modbus devices are
   configured): what no agent built on them can go below. The config check's dependencies (PyYAML,
   pydantic) are not in it: the runtime never loads them.

``--smaps N`` prints the agent's N largest resident mappings; ``--repo PATH`` builds the wheel from
another checkout (e.g. an older commit) to compare.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

import yaml

from bench.gateway_load import (
    CentralWatch,
    ProcFigures,
    SewingFloor,
    Traffic,
    proc_cpu_s,
    proc_figures,
    proc_kb,
    sample_processes,
    smaps_by_mapping,
)
from bench.modbus_poll import start_stub
from seamline.localstack import MosquittoProcess
from tests.support.gateway_install import REPO, GatewayVenv, InstallSize, gateway_venv, install_size

ENT, SITE = "bench", "plant1"
BARE_SCRIPT = Path(__file__).with_name("bare_paho_publisher.py")
AGGREGATE_PERIOD_S = 60  # the agent's default; the bare publisher bursts at the same period
# Mean upstream payload of the agent in this bench (mostly state changes, then Modbus samples and
# aggregates; the table's "bytes/msg" row shows it); the bare publisher sends payloads of this size.
BARE_PAYLOAD_BYTES = 200
BIRTH_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
# The running agent's third-party imports and nothing of seamline: the RSS no agent built on them can
# go below (the config is validated with PyYAML and pydantic by the image the runtime replaces).
FLOOR_CODE = "import argparse, json, logging, pickle, sqlite3, ssl, orjson, paho.mqtt.client\n"
# Logged by the runtime stage: the peak RSS of the image that validated the config before the exec.
VALIDATED_PEAK = re.compile(rb"validated by an image that peaked at ([0-9.]+) MB RSS")
FLOOR_MODBUS_CODE = "import asyncio, sunspec2, pymodbus.client\n"
TARGETS = {"peak_mb": 40.0, "start_s": 0.5, "site_mb": 30.0}
MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Upstream:
    """What the bare publisher sends to match the agent: ``per_s`` messages a second (Modbus samples
    and state changes), ``burst`` every aggregate period (one aggregate per machine)."""

    per_s: float
    burst: int


@dataclass(frozen=True, slots=True)
class StartTimes:
    first_message_s: list[float]  # exec -> first message on the central broker (wall)
    cpu_s: list[float]  # CPU the process used until then: what other tenants' load cannot inflate
    ready_line_s: list[float]  # exec -> "started" log line (agent only)


def modbus_mix(n: int) -> dict[str, int]:
    """``n`` energy devices as the stub counts them (a met station comes with PV): 10 -> 2 PV + met
    station, 1 battery, 4 meters, 2 wind turbines."""
    pv = n // 5
    counts = {"pv": pv, "battery": n // 10, "wind": n // 5}
    counts["meter"] = n - pv - (1 if pv else 0) - counts["battery"] - counts["wind"]
    return counts


def agent_config(tmp: Path, gw: str, local: int, central: int, modbus: list[dict[str, object]]) -> Path:
    (tmp / gw).mkdir(parents=True, exist_ok=True)  # the spool's folder exists before the agent starts
    cfg = {
        "gateway": {"id": gw, "enterprise": ENT, "site": SITE},
        "local": {"host": "127.0.0.1", "port": local, "client_id": f"edge-{gw}"},
        "uplink": {"host": "127.0.0.1", "port": central},
        "spool": {"path": str(tmp / gw / "spool.sqlite")},
        "aggregate_period_s": AGGREGATE_PERIOD_S,
        "modbus": modbus,
    }
    path = tmp / f"{gw}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def birth_topic(gw: str) -> str:
    return f"seamline/v1/{ENT}/{SITE}/_gateway/{gw}/birth"


def _env(extra: list[str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MALLOC_"))}
    for kv in extra:
        key, _, value = kv.partition("=")
        env[key] = value
    return env


def launch_agent(venv: GatewayVenv, config: Path, stderr: int | IO[bytes], env: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(venv.seamline), "edge", "run", "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=stderr, env=_env(env))


def launch_bare(venv: GatewayVenv, central: int, prefix: str, upstream: Upstream) -> subprocess.Popen[bytes]:
    cmd = [str(venv.python), str(BARE_SCRIPT), "--port", str(central), "--prefix", prefix,
           "--per-s", f"{upstream.per_s:.3f}", "--burst", str(upstream.burst),
           "--burst-every-s", str(AGGREGATE_PERIOD_S), "--payload-bytes", str(BARE_PAYLOAD_BYTES)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=_env([]))


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=STOP_TIMEOUT_S)


def _ready_reader(proc: subprocess.Popen[bytes], t0: float, out: list[float]) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:
        if not out and b" started (boot " in line:
            out.append(time.monotonic() - t0)


def measure_starts(args: argparse.Namespace, venv: GatewayVenv, tmp: Path, watch: CentralWatch,
                   ports: tuple[int, int], modbus: list[dict[str, object]],
                   upstream: Upstream) -> tuple[StartTimes, StartTimes]:
    agent = StartTimes([], [], [])
    bare = StartTimes([], [], [])
    for i in range(args.starts):
        gw = f"gw-start{i}"
        config = agent_config(tmp, gw, ports[0], ports[1], modbus)
        ready: list[float] = []
        t0 = time.monotonic()
        proc = launch_agent(venv, config, subprocess.PIPE, args.agent_env)
        reader = threading.Thread(target=_ready_reader, args=(proc, t0, ready), daemon=True)
        reader.start()
        agent.first_message_s.append(watch.wait_for(birth_topic(gw), BIRTH_TIMEOUT_S) - t0)
        agent.cpu_s.append(proc_cpu_s(proc.pid))
        if stop(proc) != 0:
            raise SystemExit(f"agent start {i} exited with {proc.returncode}")
        reader.join(STOP_TIMEOUT_S)
        agent.ready_line_s.extend(ready[:1])
        t0 = time.monotonic()
        bproc = launch_bare(venv, ports[1], f"bare/start{i}", upstream)
        bare.first_message_s.append(watch.wait_for(f"bare/start{i}/birth", BIRTH_TIMEOUT_S) - t0)
        bare.cpu_s.append(proc_cpu_s(bproc.pid))
        stop(bproc)
    return agent, bare


def load_run(args: argparse.Namespace, venv: GatewayVenv, tmp: Path, watch: CentralWatch, ports: tuple[int, int],
             modbus: list[dict[str, object]], floor: SewingFloor,
             upstream: Upstream) -> tuple[ProcFigures, ProcFigures, Traffic, str]:
    log_path = tmp / "agent.log"
    with open(log_path, "wb") as log:
        agent = launch_agent(venv, agent_config(tmp, "gw-load", *ports, modbus), log, args.agent_env)
        bare = launch_bare(venv, ports[1], "bare/load", upstream)
        try:
            watch.wait_for(birth_topic("gw-load"), BIRTH_TIMEOUT_S)
            watch.wait_for("bare/load/birth", BIRTH_TIMEOUT_S)
            floor.start()
            time.sleep(args.warmup_s)
            watch.start_window()
            sent0 = floor.published
            rss, cpu, wall = sample_processes([agent.pid, bare.pid], seconds=args.seconds)
            traffic = watch.end_window(ENT, SITE, "bare/load/", sent_local=floor.published - sent0)
            figures = [proc_figures(pid, rss[pid], cpu[pid], wall) for pid in (agent.pid, bare.pid)]
            if args.smaps:
                top = smaps_by_mapping(agent.pid)[:args.smaps]
                print("agent resident memory by mapping: " + ", ".join(f"{n} {kb / 1024:.1f}" for n, kb in top) + " MB")
        finally:
            floor.stop()
            code = stop(agent)
            stop(bare)
    text = log_path.read_text(errors="replace")
    problems = sum(1 for line in text.splitlines() if " ERROR " in line or "Traceback" in line)
    status = f"exit {code}, {problems} ERROR/Traceback lines in its log ({log_path.name})"
    found = VALIDATED_PEAK.search(log_path.read_bytes())
    validated_kb = round(float(found.group(1)) * 1024) if found else 0
    return replace(figures[0], validated_peak_kb=validated_kb), figures[1], traffic, status


def import_floor_kb(venv: GatewayVenv, *, modbus: bool) -> int:
    """VmHWM of the edge venv's Python after importing the agent's dependencies (FLOOR_CODE)."""
    wait = "print('ready', flush=True)\nimport sys\nsys.stdin.read()\n"
    code = FLOOR_CODE + (FLOOR_MODBUS_CODE if modbus else "") + wait
    proc = subprocess.Popen([str(venv.python), "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env=_env([]), cwd=venv.path)
    assert proc.stdout is not None and proc.stdin is not None
    if proc.stdout.readline().strip() != b"ready":
        raise SystemExit(f"import floor process failed ({proc.wait()})")
    peak = proc_kb(proc.pid, "VmHWM")
    proc.stdin.close()
    proc.wait(timeout=STOP_TIMEOUT_S)
    return peak


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "-"


def table(size: InstallSize, starts: tuple[StartTimes, StartTimes], agent: ProcFigures, bare: ProcFigures,
          traffic: Traffic, floor_kb: int) -> str:
    a_start, b_start = (statistics.median(s.first_message_s) for s in starts)
    a_cpu, b_cpu = (statistics.median(s.cpu_s) for s in starts)
    ready = statistics.median(starts[0].ready_line_s) if starts[0].ready_line_s else float("nan")
    peak_kb = max(agent.peak_kb, agent.validated_peak_kb)
    ok = {True: "ok", False: "MISSED"}
    site = size.without_installers_bytes / MB
    rows = [
        ("[edge] site-packages, without pip/setuptools", f"{site:.1f} MB", "", "",
         f"<= {TARGETS['site_mb']:.0f} MB {ok[site <= TARGETS['site_mb']]}"),
        ("[edge] site-packages, as python -m venv makes it", f"{size.total_bytes / MB:.1f} MB", "", "", ""),
        ("start-up: exec -> first message on central, median", f"{a_start:.2f} s", f"{b_start:.2f} s",
         _ratio(a_start, b_start), f"<= {TARGETS['start_s']} s {ok[a_start <= TARGETS['start_s']]}"),
        ("start-up: exec -> first message, max", f"{max(starts[0].first_message_s):.2f} s",
         f"{max(starts[1].first_message_s):.2f} s", "", ""),
        ("start-up: CPU time until then, median", f"{a_cpu:.2f} s", f"{b_cpu:.2f} s", _ratio(a_cpu, b_cpu), ""),
        ("start-up: exec -> 'started' log line, median", f"{ready:.2f} s", "", "", ""),
        ("peak RSS: max of the two images below", f"{peak_kb / 1024:.1f} MB", f"{bare.peak_kb / 1024:.1f} MB",
         _ratio(peak_kb, bare.peak_kb), f"<= {TARGETS['peak_mb']:.0f} MB {ok[peak_kb / 1024 <= TARGETS['peak_mb']]}"),
        ("  the running agent (VmHWM since its exec)", f"{agent.peak_kb / 1024:.1f} MB", "", "", ""),
        ("  the config check before it (pydantic, YAML)", f"{agent.validated_peak_kb / 1024:.1f} MB", "", "", ""),
        ("floor: the running agent's dependencies imported, nothing else", f"{floor_kb / 1024:.1f} MB", "",
         _ratio(agent.peak_kb, floor_kb), ""),
        ("steady RSS (mean VmRSS)", f"{agent.steady_kb / 1024:.1f} MB", f"{bare.steady_kb / 1024:.1f} MB",
         _ratio(agent.steady_kb, bare.steady_kb), ""),
        ("CPU, % of one core", f"{agent.cpu_pct:.1f} %", f"{bare.cpu_pct:.1f} %",
         _ratio(agent.cpu_pct, bare.cpu_pct), ""),
        ("threads", f"{agent.threads}", f"{bare.threads}", "", ""),
        ("upstream msgs/s", f"{traffic.agent_msgs / traffic.wall_s:.1f}", f"{traffic.bare_msgs / traffic.wall_s:.1f}",
         "", ""),
        ("upstream bytes/msg", f"{traffic.agent_bytes / max(1, traffic.agent_msgs):.0f}",
         f"{traffic.bare_bytes / max(1, traffic.bare_msgs):.0f}", "", ""),
        ("  of which Modbus samples/s", f"{traffic.modbus_msgs / traffic.wall_s:.1f}", "", "", ""),
        ("  machines with aggregates (whole run) / state changes",
         f"{traffic.machines_aggregated} / {traffic.state_msgs}", "", "", ""),
        ("node samples/s into the local broker", f"{traffic.sent_local / traffic.wall_s:.0f}", "", "", ""),
    ]  # fmt: skip
    w = max(len(r[0]) for r in rows)
    head = f"{'':<{w}}  {'seamline edge':>13}  {'bare paho':>10}  {'ratio':>6}  target"
    return "\n".join([head, *(f"{k:<{w}}  {a:>13}  {b:>10}  {r:>6}  {t}" for k, a, b, r, t in rows)])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--machines", type=int, default=200, help="sewing machines at 1 sample/s each")
    p.add_argument("--modbus", type=int, default=10, help="Modbus TCP energy devices polled at 1 s")
    p.add_argument("--seconds", type=float, default=60.0, help="measured window after warm-up")
    p.add_argument("--warmup-s", type=float, default=15.0, help="discovery, Modbus connects, first inputs")
    p.add_argument("--starts", type=int, default=5, help="start-up measurements per process")
    p.add_argument("--agent-env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment of the agent process (e.g. MALLOC_ARENA_MAX=2)")
    p.add_argument("--smaps", type=int, default=0, metavar="N",
                   help="also print the agent's N largest resident mappings at the end of the window")
    p.add_argument("--fresh", action="store_true", help="rebuild the gateway venv even if cached")
    p.add_argument("--repo", type=Path, default=REPO,
                   help="build the wheel from this git checkout (e.g. an older commit, to compare)")
    args = p.parse_args(argv)
    if not (0 <= args.machines <= 2000 and 0 <= args.modbus <= 100 and args.starts >= 1 and args.seconds >= 5):
        p.error("need 0 <= --machines <= 2000, 0 <= --modbus <= 100, --starts >= 1, --seconds >= 5")
    return args


def measure(args: argparse.Namespace, venv: GatewayVenv) -> tuple[tuple[StartTimes, StartTimes], ProcFigures,
                                                                  ProcFigures, Traffic, str]:
    """Brokers and Modbus stubs up, start-up launches, then the load run; everything stopped after."""
    with tempfile.TemporaryDirectory(prefix="gateway-footprint-") as d:
        tmp = Path(d)
        local, central = MosquittoProcess(workdir=tmp / "local"), MosquittoProcess(workdir=tmp / "central")
        local.start()
        central.start()
        stub = None
        try:
            modbus: list[dict[str, object]] = []
            if args.modbus:
                life_s = 60 * args.starts + args.warmup_s + args.seconds + 120  # ends by itself if we die
                stub, modbus = start_stub(modbus_mix(args.modbus), life_s=life_s, step_s=1.0, refresh_s=1.0)
            floor = SewingFloor(port=local.port, enterprise=ENT, site=SITE, machines=args.machines,
                                seconds=args.warmup_s + args.seconds + 10)
            window = (args.warmup_s, args.warmup_s + args.seconds)
            rate = floor.state_changes_per_s(*window, period_s=AGGREGATE_PERIOD_S)
            upstream = Upstream(per_s=args.modbus + rate, burst=args.machines)
            ports = (local.port, central.port)
            watch = CentralWatch(central.port)
            try:
                starts = measure_starts(args, venv, tmp, watch, ports, modbus, upstream)
                return (starts, *load_run(args, venv, tmp, watch, ports, modbus, floor, upstream))
            finally:
                watch.close()
        finally:
            if stub is not None:
                stub.terminate()
                stub.wait(timeout=10)
            local.stop()
            central.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load0 = os.getloadavg()[0]
    t = time.monotonic()
    repo = args.repo.resolve()
    venv = gateway_venv(fresh=args.fresh, repo=repo, cache_dir=repo / ".build" / "gateway-venv")
    print(f"gateway venv {venv.path} ({'cached' if venv.reused else f'built in {time.monotonic() - t:.0f} s'})")
    size = install_size(venv)
    starts, agent, bare, traffic, status = measure(args, venv)
    print(f"{args.machines} machines at 1 sample/s, {args.modbus} Modbus devices at 1 s, "
          f"{traffic.wall_s:.0f} s measured after {args.warmup_s:.0f} s warm-up, {args.starts} starts each; "
          f"agent env: {' '.join(args.agent_env) or '-'}; agent {status}; "
          f"load average {load0:.1f} at start, {os.getloadavg()[0]:.1f} at end ({os.cpu_count()} CPUs)")
    floor_kb = import_floor_kb(venv, modbus=args.modbus > 0)
    print(table(size, starts, agent, bare, traffic, floor_kb))
    top = sorted(size.by_dist.items(), key=lambda kv: -kv[1])
    print("site-packages by distribution: " + ", ".join(f"{n} {b / MB:.1f}" for n, b in top) + " MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
