"""Peak RSS of the edge agent with N sewing machines at real-time rates, and the upstream traffic saved.

    .venv/bin/python -m bench.edge_rss --machines 200 --seconds 45
    .venv/bin/python -m bench.edge_rss --traffic          # simulated 8-hour shift, no servers

The RSS run starts a local and a central Mosquitto (loopback, free ports, temp dirs), runs
``seamline edge run`` as a subprocess, publishes one 1-sample message per machine per second
(what a real node sends) and samples the agent's VmRSS / VmHWM from /proc every few seconds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from seamline.edge_agent.aggregate import Andon, MachineDerivation, RawSample
from seamline.edge_agent.state import Thresholds
from seamline.firmware_stubs.sewing.machine import MachineProfile, MachineRun, simulate_machine
from seamline.firmware_stubs.sewing.payload import SampleRow, encode_andon, encode_samples
from seamline.localstack import MosquittoProcess

ENT, SITE, LINE = "bench", "plant1", "line1"
SHIFT_MS = 8 * 3600 * 1000
REPORT_EVERY_S = 5


def _proc_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _config(tmp: Path, local: MosquittoProcess, central: MosquittoProcess) -> Path:
    cfg = {
        "gateway": {"id": "gw-bench", "enterprise": ENT, "site": SITE},
        "local": {"host": "127.0.0.1", "port": local.port, "client_id": "edge-bench"},
        "uplink": {"host": "127.0.0.1", "port": central.port},
        "spool": {"path": str(tmp / "spool.sqlite")},
        "telemetry_interval_s": 10,
    }
    path = tmp / "edge.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def rss_run(machines: int, seconds: int) -> None:
    start_ms = (time.time_ns() // 1_000_000) // 1000 * 1000
    runs = [simulate_machine(profile=MachineProfile(machine_id=f"m{i:03d}"), start_ms=start_ms,
                             end_ms=start_ms + (seconds + 5) * 1000, seed=i) for i in range(machines)]
    with tempfile.TemporaryDirectory(prefix="edge-rss-") as d:
        tmp = Path(d)
        local = MosquittoProcess(workdir=tmp / "local")
        central = MosquittoProcess(workdir=tmp / "central")
        local.start()
        central.start()
        log = open(tmp / "agent.log", "wb")  # noqa: SIM115 - handed to the child
        agent = subprocess.Popen([sys.executable, "-m", "seamline.cli", "edge", "run", "--config",
                                  str(_config(tmp, local, central))], stdout=log, stderr=subprocess.STDOUT)
        pub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="bench-nodes")
        pub.connect("127.0.0.1", local.port)
        pub.loop_start()
        print(f"{'t_s':>5} {'rss_MB':>8} {'peak_MB':>8} {'published':>10}")
        sent = 0
        try:
            time.sleep(1.0)  # agent up and subscribed
            t_start = time.monotonic()
            for k in range(seconds):
                for i, run in enumerate(runs):
                    s = run.samples[k]
                    row = SampleRow(s.ts_ms, s.seq, s.current_a, s.speed_spm, s.stitches_total, s.pieces_total)
                    pub.publish(f"seamline/v1/{ENT}/{SITE}/{LINE}/m{i:03d}/data", encode_samples([row]), qos=1)
                    sent += 1
                if (k + 1) % REPORT_EVERY_S == 0:
                    rss, hwm = _proc_kb(agent.pid, "VmRSS"), _proc_kb(agent.pid, "VmHWM")
                    print(f"{k + 1:>5} {rss / 1024:>8.1f} {hwm / 1024:>8.1f} {sent:>10}", flush=True)
                time.sleep(max(0.0, t_start + k + 1 - time.monotonic()))
            peak = _proc_kb(agent.pid, "VmHWM")
            print(f"peak RSS of the agent with {machines} machines over {seconds} s: {peak / 1024:.1f} MB")
        finally:
            pub.loop_stop()
            pub.disconnect()
            agent.terminate()
            agent.wait(timeout=30)
            log.close()
            local.stop()
            central.stop()


def _raw_bytes(run: MachineRun, topic: str, batch: int) -> tuple[int, int]:
    msgs = bytes_ = 0
    rows = [SampleRow(s.ts_ms, s.seq, s.current_a, s.speed_spm, s.stitches_total, s.pieces_total)
            for s in run.samples]
    for i in range(0, len(rows), batch):
        msgs += 1
        bytes_ += len(topic) + 5 + len(encode_samples(rows[i:i + batch]))
    for a in run.andon:
        msgs += 1
        bytes_ += len(topic) + 6 + len(encode_andon(a))
    return msgs, bytes_


def traffic(seeds: int) -> None:
    """Raw local stream vs upstream for simulated 8-hour shifts (MQTT topic + payload bytes)."""
    base = 1_767_225_600_000
    topic = f"seamline/v1/{ENT}/{SITE}/{LINE}/m001/"
    print(f"{'seed':>4} {'raw_msgs':>9} {'raw_kB':>9} {'raw60_msgs':>10} {'raw60_kB':>9} "
          f"{'up_msgs':>8} {'up_kB':>7} {'bytes_saved':>11}")
    for seed in range(seeds):
        run = simulate_machine(profile=MachineProfile(), start_ms=base, end_ms=base + SHIFT_MS, seed=seed)
        d = MachineDerivation(thresholds=Thresholds(), period_s=60)
        items: list[RawSample | Andon] = [
            RawSample(s.ts_ms, s.current_a, s.speed_spm, s.stitches_total, s.pieces_total) for s in run.samples
        ]
        items += [Andon(a.ts_ms, a.state, a.reason) for a in run.andon]
        outs = d.process(items)
        up_bytes = sum(len(topic) + 5 + len(o.model_dump_json(exclude_none=True)) for o in outs)
        raw_msgs, raw_bytes = _raw_bytes(run, topic, 1)
        raw60_msgs, raw60_bytes = _raw_bytes(run, topic, 60)
        print(f"{seed:>4} {raw_msgs:>9} {raw_bytes / 1000:>9.0f} {raw60_msgs:>10} {raw60_bytes / 1000:>9.0f} "
              f"{len(outs):>8} {up_bytes / 1000:>7.0f} {1 - up_bytes / raw_bytes:>10.1%}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--machines", type=int, default=200)
    p.add_argument("--seconds", type=int, default=45)
    p.add_argument("--traffic", action="store_true", help="only the upstream-traffic comparison")
    p.add_argument("--seeds", type=int, default=3)
    args = p.parse_args()
    if args.traffic:
        traffic(args.seeds)
    else:
        os.nice(0)
        rss_run(args.machines, args.seconds)


if __name__ == "__main__":
    main()
