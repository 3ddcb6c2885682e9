"""Benchmark: one alert evaluation (every built-in rule) on a real InfluxDB 1.x.

Writes, for E enterprises of 50 sewing machines (5 lines of 10) behind one gateway each: the
gateways' birth (asset_info) and status, each machine's last state (1 in 10 down for 20 min)
and 60 s edge aggregates for the last 2 hours, and each line's shift-so-far KPI point; then times
``AlertEvaluator.evaluate`` (one InfluxDB request with every rule's statements) from a fresh
state store (everything new) and again (steady state: alerts already firing).

    .venv/bin/python -m bench.alerts_eval [--enterprises 10,40] [--repeat 2]

Prints: enterprises, machines, statements, readings, alerts fired, wall seconds of the first and
of the steady evaluation (best of --repeat). Target: well under the 30 s interval.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from seamline.localstack import InfluxdProcess
from seamline.notify.alert_ledger import AlertLedger
from seamline.rules.alerts.config import AlertsConfig, resolve_rules
from seamline.rules.alerts.evaluator import AlertEvaluator
from seamline.rules.alerts.facts import InfluxFacts
from seamline.rules.alerts.store import AlertStore
from seamline.rules.lease import NoLease
from seamline.rules.master_data import MasterData, parse_master_data
from seamline.rules.ownership import WholeLease
from seamline.storage.db_init import DbLayout, RetentionSpec, init_v1
from seamline.storage.line_protocol import encode_line
from seamline.storage.query_client import InfluxQLClient
from seamline.storage.writer_v1 import InfluxV1Writer

NOW = datetime(2026, 5, 4, 3, 0, tzinfo=UTC)  # Monday 11:00 in Shanghai: the day shift runs
LINES, PER_LINE = 5, 10


def master(n: int) -> dict[str, Any]:
    shift = {"name": "day", "start": "08:00", "end": "17:30", "days": ["mon", "tue", "wed", "thu", "fri"]}
    ents = [{"id": f"f{i:03d}", "name": f"Factory {i}", "calendar": "cal", "sites": [{"id": "s1", "lines": [
        {"id": f"line{j:02d}", "operators": 10, "categories": ["shirt"], "style": "shirt",
         "machines": [f"m{j:02d}{k:02d}" for k in range(PER_LINE)]} for j in range(LINES)]}]} for i in range(n)]
    return {"calendars": [{"id": "cal", "shifts": [shift]}], "styles": [{"id": "shirt", "category": "shirt",
            "sam_min": 12.0}], "enterprises": ents}


def ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def load(url: str, db: str, md: MasterData) -> int:
    policies = (RetentionSpec(name="raw", duration="INF", default=True), RetentionSpec(name="kpi", duration="INF"))
    init_v1(InfluxQLClient(url=url), DbLayout(database=db, policies=policies))
    raw: list[str] = []
    kpi: list[str] = []
    shift_start = NOW.replace(hour=0)
    for e in md.enterprises:
        gw = {"enterprise": e.id, "site": "s1", "gateway": f"gw-{e.id}"}
        raw.append(encode_line("gateway_status", gw, {"state": "online"}, ms(NOW - timedelta(days=1))))
        for line in e.sites[0].lines:
            kpi.append(encode_line("kpi_line", {"enterprise": e.id, "site": "s1", "line": line.id, "window": "shift",
                                                "shift": "day"}, {"line_efficiency": 0.6, "oee": 0.4,
                                                                  "coverage": 0.95}, ms(shift_start)))
            for k, m in enumerate(line.machines):
                tags = {"enterprise": e.id, "site": "s1", "area": line.id, "asset": m}
                raw.append(encode_line("asset_info", {**tags, "asset_kind": "sewing_machine"},
                                       {"gateway": gw["gateway"]}, ms(NOW - timedelta(days=1))))
                down = k == 0
                raw.append(encode_line("machine_state", tags, {"state": "down" if down else "running",
                                                               "reason": "breakdown.motor" if down else "none",
                                                               "seq": 1}, ms(NOW - timedelta(minutes=20))))
                for s in range(120):
                    raw.append(encode_line("sewing_machine", tags, {"seq": s, "run_s": 40.0, "period_s": 60.0},
                                           ms(NOW - timedelta(minutes=120 - s))))
    for rp, lines in (("raw", raw), ("kpi", kpi)):
        w = InfluxV1Writer(url=url, database=db, retention_policy=rp)
        for i in range(0, len(lines), 5000):
            w.write(lines[i:i + 5000])
        w.close()
    return len(raw) + len(kpi)


def run(url: str, db: str, md: MasterData, tmp: Path, repeat: int) -> tuple[int, int, int, float, float]:
    firsts, steadies = [], []
    stmts = readings = fired = 0
    for r in range(repeat):
        facts = InfluxFacts(InfluxQLClient(url=url, timeout_s=120), database=db, raw_rp="raw", kpi_rp="kpi")
        ev = AlertEvaluator(rules=resolve_rules(AlertsConfig()), source=facts, owner=WholeLease(NoLease()),
                            master=md, ledger=AlertLedger(), store=AlertStore(tmp / f"s{len(md.enterprises)}-{r}.db"),
                            evaluation_delay_s=0)
        t0 = time.perf_counter()
        rep = ev.evaluate(NOW)
        firsts.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ev.evaluate(NOW + timedelta(seconds=30))
        steadies.append(time.perf_counter() - t0)
        stmts, readings, fired = facts.statements // 2, rep.readings, len(rep.fired)
    return stmts, readings, fired, min(firsts), min(steadies)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enterprises", default="10,40")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        server = InfluxdProcess(workdir=Path(tmp) / "influxd")
        server.start()
        try:
            print("enterprises machines statements readings fired first_s steady_s")
            for n in (int(x) for x in args.enterprises.split(",")):
                db = f"alerts{n}"
                md = parse_master_data(master(n))
                load(server.url, db, md)
                s, r, f, first, steady = run(server.url, db, md, Path(tmp), args.repeat)
                print(f"{n:11d} {n * LINES * PER_LINE:8d} {s:10d} {r:8d} {f:5d} {first:7.2f} {steady:8.2f}")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
