"""Benchmark: the rules engine's KPI job for one hour of data in a real InfluxDB 1.x.

Writes one simulated working hour (60 s edge aggregates and every state change, from
``firmware_stubs`` truth timelines) for up to 1 000 sewing machines in enterprises of 50, plus
50 energy assets (PV, meter, battery) polled every 30 s, into a private ``influxd``; then times
``compute_window`` + writing the KPI points for the hour, for growing subsets of the fleet.

    .venv/bin/python -m bench.rules_kpi [--machines 250,500,1000] [--repeat 2]

Prints a table: machines, energy assets, InfluxQL statements, HTTP requests, KPI points, rows
read, wall seconds (best of ``--repeat``). Target: one window for all assets under 10 s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from seamline.firmware_stubs.sewing.shift import ShiftPattern
from seamline.localstack import InfluxdProcess
from seamline.rules.engine import compute_window
from seamline.rules.kpi_points import KpiPointWriter
from seamline.rules.master_data import MasterData, parse_master_data
from seamline.rules.source import InfluxSource, SourceSettings
from seamline.rules.windows import Window
from seamline.storage.db_init import DbLayout, RetentionSpec, init_v1
from seamline.storage.query_client import InfluxQLClient
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
DB = "seamline"


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


def load(url: str, master: MasterData) -> int:
    start, end = int(HOUR.start_s * 1000) - 600_000, int(HOUR.end_s * 1000) + 600_000
    writer = InfluxV1Writer(url=url, database=DB, retention_policy="raw", gzip=True)
    buf: list[str] = []
    total = 0
    for e_i, ent in enumerate(master.enterprises):
        site = ent.sites[0]
        for line in site.lines:
            for m in line.machines:
                truth = simulate_truth(m, start, end, seed=e_i, shift=ShiftPattern())
                tags = machine_tags(ent.id, site.id, line.id, m)
                buf += aggregate_lines(truth, tags, start, end) + state_lines(truth, tags)
        for a in site.energy_assets:
            tags = {"enterprise": ent.id, "site": site.id, "area": a.area, "asset": a.id}
            if a.kind == "pv_inverter":
                buf += pv_lines(tags, start, end, power_kw=60)
            elif a.kind == "meter":
                buf += meter_lines(tags, start, end, import_kw=80)
            else:
                buf += battery_lines(tags, start, end, capacity_kwh=200)
        while len(buf) >= 20_000:
            writer.write(buf[:20_000])
            total += 20_000
            del buf[:20_000]
    writer.write(buf)
    writer.close()
    return total + len(buf)


def run_once(url: str, master: MasterData) -> tuple[float, Any, int]:
    source = InfluxSource(InfluxQLClient(url=url, timeout_s=120), SourceSettings(database=DB))
    kpi = KpiPointWriter(InfluxV1Writer(url=url, database=DB, retention_policy="kpi"))
    t0 = time.perf_counter()
    report = compute_window(source, master, HOUR, label="1h")
    kpi.write(report.points)
    return time.perf_counter() - t0, report, source.statements


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--machines", default="250,500,1000")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    sizes = sorted(int(x) for x in args.machines.split(","))
    with tempfile.TemporaryDirectory(prefix="bench-rules-") as tmp:
        server = InfluxdProcess(workdir=Path(tmp))
        server.start()
        try:
            policies = (RetentionSpec(name="raw", duration="INF", default=True),
                        RetentionSpec(name="kpi", duration="INF"))
            init_v1(InfluxQLClient(url=server.url), DbLayout(database=DB, policies=policies))
            t0 = time.perf_counter()
            lines = load(server.url, fleet(sizes[-1]))
            print(f"loaded {lines} lines for {sizes[-1]} machines in {time.perf_counter() - t0:.1f} s")
            print(f"{'machines':>8} {'energy':>6} {'stmts':>5} {'points':>6} {'wall_s':>7}  (best of {args.repeat})")
            for n in sizes:
                master = fleet(n)
                runs = [run_once(server.url, master) for _ in range(max(1, args.repeat))]
                wall, report, stmts = min(runs, key=lambda r: r[0])
                print(f"{report.machines:>8} {report.energy_assets:>6} {stmts:>5} {len(report.points):>6} {wall:>7.2f}")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

