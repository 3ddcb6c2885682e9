"""Benchmark: the rules engine's KPI job for one hour of data in a real InfluxDB 1.x, on the
reference path (every state event read) and the aggregate path (InfluxQL sums of the edge
aggregates' split, rules.aggregate_kpi), side by side on the same data in the same run.

Writes one simulated working hour (60 s edge aggregates with the edge's stop split, and every
state change, from ``firmware_stubs`` truth timelines) for up to N sewing machines in enterprises
of 50, plus energy assets (PV, meter, battery) polled every 30 s, into a private ``influxd``; then
times ``compute_window`` + writing the KPI points for the hour, for each fleet size and path,
checks that both paths give the same KPI points, and extrapolates to the whole cluster.

    .venv/bin/python -m bench.rules_kpi [--machines 1000,4000] [--repeat 2] [--procs 2]
    .venv/bin/python -m bench.rules_kpi --machines 16000,380000 --repeat 1 --templates 40 --settle-s 600

The second loads the whole cluster (380 000 machines, 7 600 enterprises, ~206 M lines in ~24 min:
40 enterprises simulated, the others sending their lines under their own identity) and times one
hour of it directly, the reference path only up to ``--reference-max`` machines. With
``--data-dir DIR`` influxd's directory is kept, and a later run with the same fleet reuses the load
(reopening the whole cluster's database takes a minute or two instead of the load's ~24).

Prints a table: machines, path, InfluxQL statements, machines from sums, KPI points, wall seconds
(best of ``--repeat``), ms per machine-hour, ratio to the reference of the same size; then the
aggregate path split over ``--procs`` processes (enterprises sharded as ``shard: i/n``), and the
cluster extrapolation with its arithmetic.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.gateway_load import proc_cpu_s
from seamline.firmware_stubs.sewing.shift import ShiftPattern
from seamline.localstack import InfluxdProcess
from seamline.rules.engine import WindowReport, compute_window
from seamline.rules.kpi_points import KpiPoint, KpiPointWriter
from seamline.rules.master_data import Enterprise, MasterData, parse_master_data
from seamline.rules.source import InfluxSource, SourceSettings
from seamline.rules.windows import Window
from seamline.storage.db_init import DbLayout, RetentionSpec, init_v1
from seamline.storage.query_client import InfluxQLClient
from seamline.storage.write_errors import RetryableWriteError, ServerLimitError
from seamline.storage.writer_v1 import InfluxV1Writer
from tests.support.synthetic import (
    aggregate_lines,
    battery_lines,
    machine_tags,
    meter_lines,
    pv_lines,
    simulate_truth,
    state_lines,
)

TZ = ZoneInfo("Asia/Shanghai")
HOUR = Window(datetime(2026, 5, 6, 9, tzinfo=TZ), datetime(2026, 5, 6, 10, tzinfo=TZ))
PER_ENTERPRISE = 50  # machines: 2 lines of 25
STOP_S = 300.0  # master data kpi.stop_threshold_s (default) = the edge's split
CLUSTER_MACHINES = 380_000  # 7 600 factories x ~50 machines (README, "load model")
DB = "seamline"
# After loading, influxd compacts what it was sent (16 000 machines: 8.6 M lines); ``--settle-s``
# waits up to that long for it to fall below this share of one core over 5 s before measuring.
SETTLED_CPU = 0.05


def fleet(machines: int) -> MasterData:
    shift = {"name": "day", "start": "08:00", "end": "17:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat"],
             "breaks": [{"start": "12:00", "end": "13:00"}]}
    ents: list[dict[str, Any]] = []
    for e in range(max(1, machines // PER_ENTERPRISE)):
        lines = [{"id": f"l{k}", "operators": 25, "categories": ["shirt"], "style": "shirt",
                  "machines": [f"m{k}{j:02d}" for j in range(PER_ENTERPRISE // 2)]} for k in range(2)]
        assets: list[dict[str, Any]] = [
            {"id": "pv1", "kind": "pv_inverter", "area": "roof", "rated_power_kw": 100, "kwp": 120},
            {"id": "meter1", "kind": "meter", "area": "main"}]
        if e % 2 == 0:
            assets.append({"id": "bat1", "kind": "battery", "area": "roof", "capacity_kwh": 200})
        ents.append({"id": f"e{e:03d}", "name": f"E{e}", "calendar": "c", "sites": [
            {"id": "s1", "lines": lines, "energy_assets": assets}]})
    return parse_master_data({"calendars": [{"id": "c", "shifts": [shift]}], "enterprises": ents,
                              "styles": [{"id": "shirt", "category": "shirt", "sam_min": 12}]})


def enterprise_lines(ent_index: int, ent: Enterprise, *, idle_reasons: bool) -> list[str]:
    """Everything one enterprise's edges send for the hour (± 10 min): each machine's aggregates
    with the stop split and its state changes (truth seeded by ``ent_index``), and its energy assets."""
    start, end = int(HOUR.start_s * 1000) - 600_000, int(HOUR.end_s * 1000) + 600_000
    site = ent.sites[0]
    out: list[str] = []
    for line in site.lines:
        for m in line.machines:
            truth = simulate_truth(m, start, end, seed=ent_index, shift=ShiftPattern())
            tags = machine_tags(ent.id, site.id, line.id, m)
            out += aggregate_lines(truth, tags, start, end, stop_split_s=STOP_S, idle_reasons=idle_reasons)
            out += state_lines(truth, tags, idle_reasons=idle_reasons)
    for a in site.energy_assets:
        tags = {"enterprise": ent.id, "site": site.id, "area": a.area, "asset": a.id}
        if a.kind == "pv_inverter":
            out += pv_lines(tags, start, end, power_kw=60)
        elif a.kind == "meter":
            out += meter_lines(tags, start, end, import_kw=80)
        else:
            out += battery_lines(tags, start, end, capacity_kwh=200)
    return out


def retagged(body: str, template: str, ent_id: str) -> str:
    """``body`` (lines of enterprise ``template``) as enterprise ``ent_id`` sends them (tags are
    sorted, so ``enterprise`` sits between ``asset`` and ``site`` on every line)."""
    return body if template == ent_id else body.replace(f",enterprise={template},", f",enterprise={ent_id},")


def _write_retrying(writer: InfluxV1Writer, body: str) -> None:
    """One body (many lines); influxd refuses writes while its cache is over its limit during a
    bulk load: wait and send again (a write is idempotent)."""
    for attempt in range(60):
        try:
            writer.write([body])
            return
        except (RetryableWriteError, ServerLimitError):
            time.sleep(min(10.0, 0.5 * 2 ** attempt))
    raise RuntimeError("influxd kept refusing the bulk load")


def load(url: str, master: MasterData, *, idle_reasons: bool, templates: int = 0) -> int:
    """Write the hour for every enterprise of ``master``; the number of lines. ``templates`` > 0:
    only that many enterprises are simulated and the others send a template's lines under their
    own identity (enterprise ``k`` the lines of ``k % templates``): the same series and points
    per machine, generated ~50× faster, for loading the whole cluster."""
    ents = master.enterprises
    bodies: dict[int, tuple[str, str, int]] = {}  # template index -> its id, its lines, how many
    total = 0
    t0 = time.perf_counter()
    writers = [InfluxV1Writer(url=url, database=DB, retention_policy="raw") for _ in range(2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending: list[Future[None]] = []
        for e_i, ent in enumerate(ents):
            k = e_i % templates if templates else e_i
            if k not in bodies:
                lines = enterprise_lines(k, ents[k], idle_reasons=idle_reasons)
                bodies[k] = (ents[k].id, "\n".join(lines), len(lines))
            template, body, n = bodies[k] if templates else bodies.pop(k)
            pending.append(pool.submit(_write_retrying, writers[e_i % 2], retagged(body, template, ent.id)))
            total += n
            if len(pending) >= 4:  # bounded: two in flight, two ready
                pending.pop(0).result()
            if (e_i + 1) % max(1, len(ents) // 20) == 0:
                print(f"  loaded {e_i + 1}/{len(ents)} enterprises, {total} lines, "
                      f"{total / (time.perf_counter() - t0):,.0f} lines/s", flush=True)
        for f in pending:
            f.result()
    for w in writers:
        w.close()
    return total


@dataclass(frozen=True, slots=True)
class Run:
    wall_s: float
    report: WindowReport
    statements: int


def run_once(url: str, master: MasterData, *, fast: bool) -> Run:
    settings = SourceSettings(database=DB, aggregate_path=fast)
    source = InfluxSource(InfluxQLClient(url=url, timeout_s=600), settings)
    kpi = KpiPointWriter(InfluxV1Writer(url=url, database=DB, retention_policy="kpi"))
    t0 = time.perf_counter()
    report = compute_window(source, master, HOUR, label="1h")
    kpi.write(report.points)
    return Run(time.perf_counter() - t0, report, source.statements)


_PARTS: dict[tuple[int, int, int], MasterData] = {}


def _shard_worker(args: tuple[str, int, int, int, bool]) -> float:
    """One replica's share (enterprises ``k % n == i``, as ``shard: i/n``): its wall seconds; with
    ``warm`` only its first two enterprises (imports, connections: what a long-lived replica has)."""
    url, machines, i, n, warm = args
    part = _PARTS.get((machines, i, n))
    if part is None:
        full = fleet(machines)
        part = _PARTS[(machines, i, n)] = full.model_copy(
            update={"enterprises": [e for k, e in enumerate(full.enterprises) if k % n == i]})
    if warm:
        return run_once(url, part.model_copy(update={"enterprises": part.enterprises[:2]}), fast=True).wall_s
    return run_once(url, part, fast=True).wall_s


def sharded(url: str, machines: int, procs: int, repeat: int) -> float:
    """Wall seconds of the aggregate path with the enterprises split over ``procs`` running
    processes (replicas are long-lived: the pool is started and each worker's imports, master data
    and a first window of two enterprises are left out of the timing), best of ``repeat``."""
    with multiprocessing.get_context("spawn").Pool(procs) as pool:
        pool.map(_shard_worker, [(url, machines, i, procs, True) for i in range(procs)], chunksize=1)
        jobs = [(url, machines, i, procs, False) for i in range(procs)]
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            pool.map(_shard_worker, jobs, chunksize=1)
            best = min(best, time.perf_counter() - t0)
    return best


def differences(a: WindowReport, b: WindowReport, *, tol: float = 1e-6) -> int:
    """KPI points of ``a`` and ``b`` that differ (identity, or a field by more than ``tol`` in its
    unit: the reference's epoch-second floats carry ~1e-7 s of rounding, the sums are of ms)."""
    def key(p: KpiPoint) -> tuple[str, tuple[tuple[str, str], ...]]:
        return p.measurement, tuple(sorted(p.tags))

    pa, pb = {key(p): dict(p.fields) for p in a.points}, {key(p): dict(p.fields) for p in b.points}
    bad = len(set(pa) ^ set(pb))
    for k in set(pa) & set(pb):
        fa, fb = pa[k], pb[k]
        if set(fa) != set(fb) or any(not _close(fa[f], fb[f], tol) for f in fa):
            bad += 1
    return bad


def _close(x: object, y: object, tol: float) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        return abs(x - y) <= tol
    return x == y


def compare(url: str, n: int, *, repeat: int, procs: int, reference: bool = True, single: bool = True) -> float:
    """Print the rows for ``n`` machines: the reference path (unless ``reference`` is off: the
    whole cluster's events take ~40 min), the aggregate path in one process (unless ``single`` is
    off) with the number of KPI points that differ from the reference, and the sharded one; the
    aggregate path's best wall seconds."""
    master = fleet(n)
    ref = min((run_once(url, master, fast=False) for _ in range(repeat)), key=lambda r: r.wall_s) \
        if reference else None
    agg = min((run_once(url, master, fast=True) for _ in range(repeat)), key=lambda r: r.wall_s) \
        if single else None
    diff = differences(ref.report, agg.report) if ref and agg else None
    for name, r in (("events", ref), ("aggregate", agg)):
        if r is None:
            continue
        m = r.report.machines
        ratio = f"{ref.wall_s / r.wall_s:>5.1f}x" if ref else f"{'':>6}"
        print(f"{m:>8} {name:>10} {r.statements:>5} {r.report.from_sums:>5} {len(r.report.points):>6} "
              f"{r.wall_s:>7.2f} {r.wall_s / m * 1000:>6.2f} {ratio} "
              f"{diff if name == 'aggregate' and diff is not None else '':>4}")
    if agg and agg.report.from_events:
        print(f"{'':>8} computed from events: {dict(agg.report.from_events)}")
    if procs < 2:
        if agg is None:
            raise SystemExit("nothing timed: --procs below 2 and the one-process run skipped")
        return agg.wall_s
    wall = sharded(url, n, procs, repeat)
    ratio = f"{ref.wall_s / wall:>5.1f}x" if ref else f"{'':>6}"
    print(f"{n:>8} {f'agg x{procs}':>10} {'':>5} {'':>5} {'':>6} {wall:>7.2f} "
          f"{wall / n * 1000:>6.2f} {ratio}   (running replicas, shard i/n)")
    return min(agg.wall_s, wall) if agg else wall


def settle(pid: int | None, limit_s: float) -> float:
    """Wait until influxd uses less than ``SETTLED_CPU`` of a core over 5 s, ``limit_s`` at most;
    the seconds waited."""
    t0 = time.perf_counter()
    if pid is None:
        return 0.0
    while time.perf_counter() - t0 < limit_s:
        c0 = proc_cpu_s(pid)
        time.sleep(5.0)
        if proc_cpu_s(pid) - c0 < SETTLED_CPU * 5.0:
            break
    return time.perf_counter() - t0


def _load_once(server: InfluxdProcess, workdir: Path, machines: int, args: argparse.Namespace) -> None:
    """Create the database and load the hour, unless ``workdir`` holds that load already
    (``loaded.json``: what was loaded, written once it is all in)."""
    marker = workdir / "loaded.json"
    wanted = {"machines": machines, "templates": args.templates, "idle_reasons": args.idle_reasons}
    if marker.exists() and {k: v for k, v in json.loads(marker.read_text()).items() if k in wanted} == wanted:
        print(f"reusing the load in {workdir}: {marker.read_text().strip()}")
        return
    policies = (RetentionSpec(name="raw", duration="INF", default=True), RetentionSpec(name="kpi", duration="INF"))
    client = InfluxQLClient(url=server.url)
    client.query(f"DROP DATABASE {DB}")
    init_v1(client, DbLayout(database=DB, policies=policies))
    t0 = time.perf_counter()
    lines = load(server.url, fleet(machines), idle_reasons=args.idle_reasons, templates=args.templates)
    print(f"loaded {lines} lines for {machines} machines in {time.perf_counter() - t0:.1f} s; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    marker.write_text(json.dumps({**wanted, "lines": lines}) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--machines", default="1000,4000")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--procs", type=int, default=2, help="processes for the sharded aggregate path (0: skip)")
    ap.add_argument("--idle-reasons", action="store_true",
                    help="idle events carry the simulator's reasons (no_work, changeover), which the edge "
                         "agent's debounced idle never has: those machines take the events path")
    ap.add_argument("--settle-s", type=float, default=0.0,
                    help="after loading, wait up to this long for influxd's compactions to finish (0: measure at once)")
    ap.add_argument("--templates", type=int, default=0,
                    help="simulate only this many enterprises; the others send a template's lines under their own "
                         "identity (same series and points, for loading the whole cluster; 0: simulate every one)")
    ap.add_argument("--reference-max", type=int, default=20_000,
                    help="time the reference (events) path only up to this many machines")
    ap.add_argument("--single-max", type=int, default=20_000,
                    help="time the aggregate path in one process only up to this many machines")
    ap.add_argument("--data-dir", type=Path, default=None,
                    help="influxd's directory, kept afterwards; a later run with the same --machines, --templates "
                         "and --idle-reasons reuses what it loaded (default: a temporary one)")
    args = ap.parse_args(argv)
    sizes = sorted(int(x) for x in args.machines.split(","))
    with tempfile.TemporaryDirectory(prefix="bench-rules-") as tmp:
        workdir = args.data_dir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        # the whole cluster's raw and KPI series (~1.2 M) exceed the server's default limit of 1 M
        server = InfluxdProcess(workdir=workdir, max_series_per_database=0)
        server.start(timeout_s=600)  # reopening the whole cluster's database loads its index and WAL: minutes
        try:
            _load_once(server, workdir, sizes[-1], args)
            if args.settle_s > 0:
                print(f"influxd settled after {settle(server.pid, args.settle_s):.0f} s "
                      f"(< {SETTLED_CPU:.0%} of a core over 5 s, {args.settle_s:.0f} s at most)")
            files = list(workdir.glob(f"**/{DB}/raw/*/*.tsm"))
            print(f"raw retention policy: {len(files)} TSM files, {sum(f.stat().st_size for f in files) / 1e9:.2f} GB")
            print(f"{'machines':>8} {'path':>10} {'stmts':>5} {'sums':>5} {'points':>6} {'wall_s':>7} "
                  f"{'ms/mh':>6} {'ratio':>6} {'diff':>4}  (best of {args.repeat})")
            best = {n: compare(server.url, n, repeat=args.repeat, procs=args.procs, reference=n <= args.reference_max,
                               single=n <= args.single_max) for n in sizes}
            largest = sizes[-1]
            per_mh_ms = best[largest] / largest * 1000
            if largest >= CLUSTER_MACHINES:
                print(f"cluster: one hour of {largest} machines measured: {best[largest]:.0f} s = "
                      f"{best[largest] / 60:.1f} min (target 5 min)")
            else:
                print(f"cluster: {CLUSTER_MACHINES} machine-hours x {per_mh_ms:.3f} ms (best at {largest} machines) = "
                      f"{CLUSTER_MACHINES * per_mh_ms / 1000:.0f} s = {CLUSTER_MACHINES * per_mh_ms / 60_000:.1f} min "
                      f"per hour of the cluster (target 5 min)")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
