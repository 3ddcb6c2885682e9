"""The platform side of the demo, through the same commands an operator runs: daily KPIs
(`seamline rules once --window 1d --write`), the capacity feed (`seamline rules capacity`),
order matching on it (`seamline match --publish`, which leaves the plan's bookings retained on
the central broker), and the capacity feed again, lowered by the bookings it reads from there."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from seamline.demo import configs, county
from seamline.demo.cluster import DemoRun
from seamline.demo.energy import poll_hold_s
from seamline.demo.plan import TZ
from seamline.demo.stack import DATABASE
from seamline.rules.kpi.carbon import PlannedPieces, order_carbon
from seamline.storage.schema import Retention

CLI_TIMEOUT_S = 120.0


def seamline(*args: str, log: Path | None = None) -> Any:
    """Run ``seamline ARGS --json`` as a subprocess; return its decoded JSON output. Its stderr is
    appended to ``log`` when given (the run's logs keep every command's messages)."""
    proc = subprocess.run([sys.executable, "-m", "seamline.cli", *args], capture_output=True, text=True,
                          timeout=CLI_TIMEOUT_S, check=False)
    if log is not None:
        with log.open("a") as fh:
            fh.write(f"$ seamline {args[0]} {args[1] if len(args) > 1 else ''} (exit {proc.returncode})\n{proc.stderr}")
    if proc.returncode != 0:
        raise RuntimeError(f"seamline {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def platform_log(run: DemoRun) -> Path:
    """Where the platform commands' messages (stderr) are kept."""
    return run.stack.workdir / "logs" / "platform.log"


def rules_config_path(run: DemoRun) -> Path:
    return run.stack.workdir / "config" / "rules.yaml"


def plan_summary_path(run: DemoRun) -> Path:
    """Where ``seamline match --summary-out`` leaves the plan's unmet orders (``seamline report`` reads it)."""
    return run.stack.workdir / "plan-summary.json"


def rules_config(run: DemoRun, master_path: Path) -> Path:
    hold_s = poll_hold_s(run.options.speed, run.options.energy_poll_s)
    sec = run.stack.security
    doc = {
        "master_data": str(master_path),
        "influx": {"url": run.stack.influx.url, "database": DATABASE, "raw_rp": Retention.RAW.value,
                   "kpi_rp": Retention.KPI.value, **(sec.influx_user("rules") if sec else {})},
        "mqtt": sec.service_mqtt("rules") if sec else {"host": "127.0.0.1", "port": run.stack.central.port},
        "capacity": {"enabled": True},
        "energy": {"max_hold_s": hold_s, "max_gap_s": 2 * hold_s},
    }
    return configs.write_yaml(rules_config_path(run), doc)


def order_book(path: Path, lines: list[dict[str, Any]], first_day: date) -> Path:
    """A sample order book for the cluster's own categories, plus orders no one can take, so the
    plan shows every kind of outcome with its reason."""
    cats = sorted({c for ln in lines for c in ln["categories"]})
    rows = []
    for i, cat in enumerate(cats):
        rows.append([f"PO-{100 + i}", "buyer-a", cat, 12.0, 400, first_day + timedelta(days=6), "", "true"])
        rows.append([f"PO-{200 + i}", "buyer-b", cat, 15.0, 150, first_day + timedelta(days=2), 100, "false"])
    rows.append(["PO-900", "buyer-c", "down_jacket", 45.0, 300, first_day + timedelta(days=9), "", "true"])
    rows.append(["PO-901", "buyer-c", cats[0], 12.0, 200_000, first_day + timedelta(days=1), "", "true"])
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["order_id", "buyer", "category", "sam_min", "quantity", "due", "min_qty_per_factory", "splittable"])
        w.writerows(rows)
    return path


def free_by_line(capacity: list[dict[str, Any]]) -> dict[str, float]:
    return {f'{m["enterprise"]}/{m["line"]}': round(sum(d["free_std_min"] for d in m["days"]), 1) for m in capacity}


def _green_and_grades(run: DemoRun, cfg: Path, master_doc: dict[str, Any], day: date) -> dict[str, Any]:
    """Each line's green share and carbon per piece (`seamline rules carbon`, retained on the broker)
    and the per-mu grades of the running quarter (`seamline grade` on a synthetic county file)."""
    if "green" not in master_doc:
        return {}
    carbon = seamline("rules", "carbon", "--config", str(cfg), "--json", log=platform_log(run))
    factories = [e for e in master_doc["enterprises"] if e["id"] in run.options.enterprises]
    operators = {e["id"]: sum(ln["operators"] for s in e["sites"] for ln in s["lines"]) for e in factories}
    land = {e["id"]: float(e["land_area_mu"]) for e in factories}
    inputs = county.write_inputs(run.stack.workdir / "county" / "inputs.csv", run.options.enterprises,
                                 operators=operators, land_mu=land, day=day)
    grades = seamline("grade", "--period", county.quarter(day), "--inputs", str(inputs), "--method",
                      str(county.SAMPLE_METHOD), "--config", str(cfg), "--json", log=platform_log(run))
    return {"carbon": carbon, "grades": grades}


def orders_co2e(allocations: list[dict[str, Any]], carbon: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """kg CO2e per allocated order: its pieces on each line and day × that line's kg CO2e per piece
    (the carbon messages' days; a planned day after them takes the last measured one)."""
    per_piece: dict[tuple[str, str, str], list[tuple[date, float]]] = {}
    for m in carbon:
        key = (m["enterprise"], m["site"], m["line"])
        per_piece[key] = [(date.fromisoformat(d["day"]), d["co2e_kg_per_piece"]) for d in m["days"]
                          if d["co2e_kg_per_piece"] is not None]
    by_order: dict[str, list[PlannedPieces]] = {}
    for a in allocations:
        by_order.setdefault(a["order_id"], []).append(
            PlannedPieces((a["enterprise"], a["site"], a["line"]), date.fromisoformat(a["day"]), int(a["pieces"])))
    out = {}
    for order, planned in sorted(by_order.items()):
        c = order_carbon(planned, per_piece)
        out[order] = {"pieces": c.pieces, "co2e_kg": round(c.co2e_kg, 3), "pieces_without_figure":
                      c.pieces_without_figure, "estimated_pieces": c.estimated_pieces}
    return out


def run_platform(run: DemoRun, master_path: Path, master_doc: dict[str, Any]) -> dict[str, Any]:
    cfg = rules_config(run, master_path)
    day = datetime.fromtimestamp(run.start_ms / 1000, TZ).date()
    noon = datetime.combine(day, time(12, 0), tzinfo=TZ).isoformat()
    daily = seamline("rules", "once", "--config", str(cfg), "--window", "1d", "--at", noon, "--write", "--json",
                     log=platform_log(run))
    before = seamline("rules", "capacity", "--config", str(cfg), "--json", log=platform_log(run))
    today = datetime.now(TZ).date()
    lines = [ln for e in master_doc["enterprises"] for s in e["sites"] for ln in s["lines"]]
    orders = order_book(run.stack.workdir / "orders.csv", lines, today + timedelta(days=1))
    sec = run.stack.security
    broker = (["--broker", f"mqtts://localhost:{run.stack.central.port}", *sec.service_args("matching")] if sec
              else ["--broker", f"mqtt://127.0.0.1:{run.stack.central.port}"])
    plan = seamline("match", "--orders", str(orders), *broker,
                    "--publish", "--summary-out", str(plan_summary_path(run)), "--today", today.isoformat(),
                    "--influx-config", str(cfg), "--json", log=platform_log(run))
    after = seamline("rules", "capacity", "--config", str(cfg), "--json", log=platform_log(run))
    green = _green_and_grades(run, cfg, master_doc, day)
    if green:
        green["orders_co2e"] = orders_co2e(plan.get("allocations", []), green["carbon"])
    return {**green,
        "daily_kpi_points": daily.get("points") if isinstance(daily, dict) else None,
        "capacity": {"lines": len(before), "free_std_min_before": free_by_line(before),
                     "free_std_min_after_booking": free_by_line(after), "messages": before},
        "allocations": plan,
    }
