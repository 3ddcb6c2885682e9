"""Sustained run of a fraction of the cluster: Mosquitto, 1 and 2 ingest workers, InfluxDB 1.x.

    .venv/bin/python -m bench.cluster_sustained --duration 1800                  # 30 min per phase, fraction 0.075
    .venv/bin/python -m bench.cluster_sustained --fraction 0.05 --duration 300   # a short check, a smaller fraction

Phases, each on a fresh broker (and database): ``baseline`` — the same traffic into a count-only
paho subscriber on the shared subscription (the floor a subscriber costs, measured in this run);
then ``ingest x1`` and ``ingest x2`` — ``seamline ingest --config FILE`` child processes on one
``$share`` group writing to InfluxDB, whose layout ``seamline db init`` made (retention policies and
the rollups' continuous queries, which run). The traffic is ``bench.cluster_load`` (a child
process) at the load model's rates; a probe publishes a meter sample every 0.5 s beside it and
its publish → queryable latency is sampled by polling InfluxDB every 0.2 s.

Reported per phase: msg/s and points/s, p50/p99 latency, CPU (% of one core) and RSS (mean, peak)
of broker, each ingest worker, influxd and the generator, InfluxDB series cardinality, and lost:
every asset's published seq values (0..n-1, from the generator's summary) against the stored ones.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cluster_probe import LatencyProbe, ProcSampler, count_only_subscriber, stored_seq_counts
from bench.cluster_sizing import Measured, Target, size
from bench.load_model import ClusterAssumptions, cluster_load, draw_factories, measure_machine_rates
from tests.support.ingest_harness import REPO, IngestProcess, influx_query, ingest_config

DB = "bench"


@dataclass
class PhaseResult:
    name: str
    wall_s: float
    sent: int
    stored_points: int
    latency_s: list[float]
    procs: dict[str, tuple[float, float, float, float]]  # name -> (CPU s, RSS MB mean, peak, first sample)
    cardinality: tuple[int, int]
    lost: int
    holes: int
    gen: dict[str, Any] = field(default_factory=dict)
    anon: dict[str, tuple[float, float]] = field(default_factory=dict)  # name -> anonymous RSS MB (peak, first)


def _generators(port: int, args: argparse.Namespace, duration_s: float, d: Path) -> list[subprocess.Popen[bytes]]:
    """``--generators`` load processes, each sending its share of the gateways (``--shard k/n``)."""
    n = args.generators
    out = []
    for k in range(n):
        cmd = [sys.executable, "-m", "bench.cluster_load", "--port", str(port), "--fraction", str(args.fraction),
               "--duration", str(duration_s), "--clients", str(max(1, args.clients // n)), "--shard", f"{k}/{n}",
               "--summary", str(d / f"load-{k}.json")]
        out.append(subprocess.Popen(cmd, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO))))
    return out


def _merged_summary(d: Path, n: int) -> dict[str, Any]:
    parts = [json.loads((d / f"load-{k}.json").read_text()) for k in range(n)]
    out: dict[str, Any] = {key: sum(p[key] for p in parts) for key in (
        "gateways", "machines", "energy_assets", "clients", "sent_total", "acked", "ticks", "late_ticks", "births",
        "full_waits")}
    out["wall_s"] = max(p["wall_s"] for p in parts)
    out["max_lag_s"] = max(p["max_lag_s"] for p in parts)
    out["assets"] = [a for p in parts for a in p["assets"]]
    out["sent"] = {k: sum(p["sent"].get(k, 0) for p in parts) for k in parts[0]["sent"]}
    return out


def _db_init(url: str, raw_duration: str) -> None:
    """As an operator does it: ``seamline db init`` (retention policies + rollup continuous queries)."""
    cmd = [sys.executable, "-m", "seamline.cli", "db", "init", "--url", url, "--database", DB,
           "--raw-duration", raw_duration]
    subprocess.run(cmd, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), check=True, capture_output=True)


def _start_ingest(d: Path, workers: int, mqtt_port: int, influx_url: str) -> list[IngestProcess]:
    """``workers`` ingest processes on one ``$share`` group (per-worker gap detection only alone)."""
    procs = []
    for k in range(workers):
        cfg = ingest_config(d / f"ingest-{k + 1}.yaml", mqtt_port=mqtt_port, influx_url=influx_url, database=DB,
                            client_id=f"ingest-{k + 1}", mqtt={"share_group": "ingest"},
                            gaps={"enabled": workers == 1}, metrics={"interval_s": 5.0})
        proc = IngestProcess(cfg, log_path=d / f"ingest-{k + 1}.log")
        proc.start()
        procs.append(proc)
    try:
        for proc in procs:
            proc.wait_subscribed()
    except (RuntimeError, TimeoutError):
        for proc in procs:
            proc.kill()
        raise
    return procs


def run_phase(name: str, workers: int, args: argparse.Namespace, work: Path) -> PhaseResult:
    from seamline.localstack import InfluxdProcess, MosquittoProcess

    d = work / name.replace(" ", "")
    broker = MosquittoProcess(workdir=d / "mqtt")
    broker.start()
    influx = InfluxdProcess(workdir=d / "influx", continuous_queries=True) if workers else None
    procs: list[IngestProcess] = []
    counter: subprocess.Popen[bytes] | None = None
    try:
        watched = {"broker": broker.pid}
        if influx is not None:
            influx.start()
            _db_init(influx.url, "7d")
            watched["influxd"] = influx.pid
            procs += _start_ingest(d, workers, broker.port, influx.url)
            watched.update({f"ingest-{k + 1}": proc.pid for k, proc in enumerate(procs)})
        else:
            counter = count_only_subscriber(broker.port, d / "count.txt")
            watched["count-only sub"] = counter.pid
        gens = _generators(broker.port, args, args.duration if workers else args.baseline_s, d)
        watched.update({f"generator-{k + 1}": gen.pid for k, gen in enumerate(gens)})
        probe = LatencyProbe(broker.port, influx.url if influx else None, DB)
        sampler = ProcSampler({k: v for k, v in watched.items() if v is not None})
        for gen in gens:
            gen.wait()
        probe.stop_publishing()
        g = _merged_summary(d, len(gens))
        wall = float(g["wall_s"])  # from the generator's first message to its last tick
        stored, lost, holes, card = 0, 0, 0, (0, 0)
        if influx is not None:
            stored, lost, holes = _drain_and_count(influx.url, g, timeout_s=args.drain_timeout_s)
            card = _cardinality(influx.url)
        else:
            time.sleep(2)
        figures = sampler.stop()
        latency = probe.stop()
        return PhaseResult(name=name, wall_s=wall, sent=int(g["sent_total"]), stored_points=stored,
                           latency_s=latency, procs=figures, cardinality=card, lost=lost, holes=holes, gen=g,
                           anon=sampler.anon())
    finally:
        if counter is not None:
            counter.terminate()
            counter.wait(10)
        for proc in procs:
            if proc.running:
                proc.terminate()
        if influx is not None:
            influx.stop()
        broker.stop()


def _drain_and_count(url: str, g: dict[str, Any], *, timeout_s: float) -> tuple[int, int, int]:
    """Wait until every published seq is stored (or ``timeout_s`` without progress); return
    (points stored, seq values lost, assets with a hole)."""
    expected = {(e, s, a, x): n for e, s, a, x, _m, n in g["assets"]}
    want = sum(expected.values())
    last, since = -1, time.monotonic()
    while True:
        got = stored_seq_counts(url, DB)
        total = sum(min(got.get(k, 0), n) for k, n in expected.items())
        if total >= want or time.monotonic() - since > timeout_s:
            break
        if total > last:
            last, since = total, time.monotonic()
        time.sleep(2)
    lost = sum(max(0, n - got.get(k, 0)) for k, n in expected.items())
    holes = sum(1 for k, n in expected.items() if got.get(k, 0) != n)
    return sum(got.values()), lost, holes


def _cardinality(url: str) -> tuple[int, int]:
    """(exact series count summed over measurements, InfluxDB's own estimate)."""
    exact = influx_query(url, f'SHOW SERIES EXACT CARDINALITY ON "{DB}"')["results"][0].get("series", [])
    est = influx_query(url, f'SHOW SERIES CARDINALITY ON "{DB}"')["results"][0].get("series", [])
    return sum(int(s["values"][0][0]) for s in exact), sum(int(s["values"][0][0]) for s in est)


def _pct(xs: Sequence[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(len(s) * q))] if s else float("nan")


def _us_per_msg(r: PhaseResult, name: str) -> float:
    """CPU µs per message sent, draining included."""
    return r.procs[name][0] / max(1, r.sent) * 1e6


def report(results: Sequence[PhaseResult], args: argparse.Namespace) -> None:
    base = results[0]
    g = base.gen
    print(f"fraction {args.fraction} of 7 600 factories: {g['gateways']} gateways, {g['machines']} machines, "
          f"{g['energy_assets']} energy assets over {g['clients']} connections; load average "
          f"{os.getloadavg()[0]:.1f} / {os.getloadavg()[2]:.1f} (1 / 15 min) at the end, {os.cpu_count()} cores")
    print(f"{'phase':<11} {'s':>5} {'msg/s':>7} {'points/s':>8} {'p50 s':>6} {'p90 s':>6} {'p99 s':>6} {'max s':>6} "
          f"{'lost':>5} {'holes':>5} {'series':>8} {'late ticks':>10} {'unacked':>7} {'id waits':>8}")
    for r in results:
        rate, pts = r.sent / r.wall_s, r.stored_points / r.wall_s
        lat = [f"{_pct(r.latency_s, q):>6.2f}" for q in (0.5, 0.9, 0.99)] + [f"{max(r.latency_s, default=0):>6.2f}"]
        lost, holes = ("-", "-") if r.name == "baseline" else (str(r.lost), str(r.holes))
        print(f"{r.name:<11} {r.wall_s:>5.0f} {rate:>7,.0f} {pts:>8,.0f} {' '.join(lat)} {lost:>5} {holes:>5} "
              f"{r.cardinality[0]:>8,} {r.gen['late_ticks']:>10} {r.gen['sent_total'] - r.gen['acked']:>7} "
              f"{r.gen['full_waits']:>8}")
    base_sub = _us_per_msg(base, "count-only sub")
    base_broker = _us_per_msg(base, "broker")
    print(f"{'phase':<11} {'component':<15} {'CPU %':>6} {'µs/msg':>7} {'x base':>7} {'RSS MB':>7} {'peak':>6}")
    for r in results:
        for name, (cpu_s, rss, peak, _first) in r.procs.items():
            cpu, us = 100 * cpu_s / r.wall_s, _us_per_msg(r, name)
            ref = base_broker if name == "broker" else base_sub if name.startswith(("ingest", "count")) else 0
            ratio = f"{us / ref:>7.2f}" if ref else f"{'':>7}"
            print(f"{r.name:<11} {name:<15} {cpu:>6.1f} {us:>7.1f} {ratio} {rss:>7.0f} {peak:>6.0f}")
    print("x base: CPU per message against the baseline's count-only subscriber (ingest) or broker (broker), "
          "same traffic, same run")
    print_sizing(results[-1])


def print_sizing(r: PhaseResult) -> None:
    """The whole cluster sized from phase ``r``'s CPU per message and influxd's memory per series."""
    a = ClusterAssumptions()
    whole = cluster_load(a, draw_factories(a), measure_machine_rates(seeds=2))
    run_assets = r.gen["machines"] + r.gen["energy_assets"]
    all_assets = whole.machines + whole.energy_assets
    # raw series scale with the assets; the rollups add one series per asset per rollup RP (2 by default)
    series = round(r.cardinality[0] * all_assets / run_assets) + 2 * all_assets
    influx_cpu, _mean, influx_peak, influx_first = r.procs["influxd"]
    anon_peak, anon_first = r.anon.get("influxd", (influx_peak, influx_first))
    m = Measured(
        broker_us_per_msg=_us_per_msg(r, "broker"),
        ingest_us_per_msg=sum(v[0] for k, v in r.procs.items() if k.startswith("ingest")) / r.sent * 1e6,
        influxd_us_per_point=influx_cpu / max(1, r.stored_points) * 1e6,
        # the anonymous memory (index, cache, heap), not the RSS with the mapped TSM files' pages
        influxd_mb_per_series=max(0.0, anon_peak - anon_first) / max(1, r.cardinality[0]),
    )
    t = Target(msgs_per_s=whole.msgs_per_s, points_per_s=whole.points_per_s, series=series,
               connections=whole.gateways)
    print(f"influxd in '{r.name}': RSS {influx_first:,.0f} -> peak {influx_peak:,.0f} MB "
          f"({max(0.0, influx_peak - influx_first) / max(1, r.cardinality[0]) * 1024:.1f} kB per series); anonymous "
          f"{anon_first:,.0f} -> peak {anon_peak:,.0f} MB ({m.influxd_mb_per_series * 1024:.1f} kB per series, "
          "what the memory sizing uses)")
    print(f"sizing the whole cluster ({whole.factories:,} factories, {whole.machines:,} machines, "
          f"{whole.energy_assets:,} energy assets; ~{series:,} series with the rollups) from '{r.name}':")
    for row in size(m, t):
        print(f"  {row.component:<34} {row.count:>4}   {row.arithmetic}")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fraction", type=float, default=0.075,
                   help="share of the 7 600 factories (default 0.075: the most this 2-core machine held)")
    p.add_argument("--duration", type=float, default=1800.0, help="seconds per ingest phase (default 1800)")
    p.add_argument("--baseline-s", type=float, default=120.0,
                   help="seconds of the count-only baseline (whole minutes: each has one aggregate burst)")
    p.add_argument("--workers", default="1,2", help="ingest phases: worker counts (default 1,2)")
    p.add_argument("--clients", type=int, default=16, help="MQTT connections of the generators (together)")
    p.add_argument("--generators", type=int, default=2, help="load processes (one Python process tops out near "
                                                              "6 000 msg/s on this machine)")
    p.add_argument("--workdir", type=Path, help="keep configs, logs and data here (default: a temporary folder)")
    p.add_argument("--drain-timeout-s", type=float, default=120.0,
                   help="give up when nothing new is stored for this long (s)")
    args = p.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="seamline-sustained-") as tmp:
        work = args.workdir or Path(tmp)
        results.append(run_phase("baseline", 0, args, work))
        for w in (int(x) for x in args.workers.split(",")):
            results.append(run_phase(f"ingest x{w}", w, args, work))
    report(results, args)
    return 0 if all(r.lost == 0 and r.gen["acked"] == r.gen["sent_total"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
