"""Print the demo summary as tables for people (the JSON form is for machines)."""

from __future__ import annotations

from typing import Any


def _rows(rows: list[tuple[str, object]]) -> list[str]:
    width = max(len(r[0]) for r in rows) + 2
    return [f"{label:<{width}}{value!s:>18}" for label, value in rows]


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:5.1f} %"


def _data_path(s: dict[str, Any]) -> list[str]:
    sew = s["sewing"]
    rows: list[tuple[str, object]] = [
        ("samples produced (nodes + energy pollers)", s["produced"]),
        ("  sewing samples produced by nodes", sew["produced"]),
        ("  lost at nodes by injected Wi-Fi faults", sew["lost_at_node_by_injected_faults"]),
        ("  reached the gateways", sew["reached_gateways"]),
        ("  stored (inside 60 s edge aggregates)", sew["stored_in_aggregates"]),
        ("  energy samples published", s["energy_samples_published"]),
        ("stored", s["stored"]),
        ("quarantined (rogue client upstream)", f'{s["quarantined"]} of {s["quarantine"]["rogue_sent"]} sent'),
        ("lost in the pipeline", s["lost"]),
        ("duplicates", s["duplicates"]),
        ("upstream messages stored / assets", f'{s["upstream"]["messages_stored"]} / {s["upstream"]["assets"]}'),
    ]
    for kind, v in s["by_kind"].items():
        rows.append((f"  {kind}: devices polled / samples stored", f'{v["devices"]} / {v["samples_stored"]}'))
    return _rows(rows)


def _lines(kpis: dict[str, Any]) -> list[str]:
    out = [f"{'line':<14}{'utilization':>20}{'line efficiency':>20}{'OEE':>20}{'coverage':>10}",
           f"{'':<14}{'measured / truth':>20}{'measured / truth':>20}{'measured / truth':>20}"]
    for ln in kpis["lines"]:
        t = ln["truth"]
        cells = [f"{_pct(ln[k])} / {_pct(t[k])}" for k in ("utilization", "line_efficiency", "oee")]
        out.append(f"{ln['enterprise'] + '/' + ln['line']:<14}" + "".join(f"{c:>20}" for c in cells)
                   + f"{_pct(ln['coverage']):>10}")
    return out


def _energy(kpis: dict[str, Any]) -> list[str]:
    out = []
    for r in kpis["energy"]:
        name = f"{r['enterprise']}/{r['asset']}"
        truth = r.get("truth", {})
        if r["kpi"] in ("kpi_pv", "kpi_wind"):
            extra = f"PR {r['performance_ratio']:.3f}" if r["kpi"] == "kpi_pv" else f"CF {r['capacity_factor']:.3f}"
            kwh = f"{r['energy_kwh']:>10.1f} kWh (truth {truth.get('energy_kwh', 0):.1f})"
            out.append(f"{name:<14}{r['kpi'][4:]:<8}{kwh}  {extra}  availability {_pct(r['availability'])}")
        elif r["kpi"] == "kpi_battery":
            kwh = f"charged {r['charge_kwh']:.1f} / discharged {r['discharge_kwh']:.1f} kWh"
            out.append(f"{name:<14}{'battery':<8}{kwh} (truth {truth.get('charge_kwh', 0):.1f} / "
                       f"{truth.get('discharge_kwh', 0):.1f}), {r['equivalent_full_cycles']:.3f} cycles")
        else:
            per_piece = "" if r.get("kwh_per_piece") is None else f", {r['kwh_per_piece']:.2f} kWh/piece"
            out.append(f"{name:<14}{'site':<8}{r['consumption_kwh']:>10.1f} kWh consumed, green share "
                       f"{_pct(r['green_share'])}{per_piece}")
    return out


def _platform(s: dict[str, Any]) -> list[str]:
    cap = s["capacity"]
    out = [f"{'line':<14}{'free std-min, next 14 days':>28}{'after booking':>16}"]
    for line, free in cap["free_std_min_before"].items():
        out.append(f"{line:<14}{free:>28,.0f}{cap['free_std_min_after_booking'].get(line, 0):>16,.0f}")
    plan = s["allocations"]
    orders = sorted({a["order_id"] for a in plan["allocations"]})
    stats = plan["stats"]
    gap = stats.get("bound_gap")
    gap_text = "" if gap is None else f", {100 * gap:.2f} % below the upper bound"
    out += ["", f"allocated: {', '.join(orders) or 'none'}  ({stats.get('method')}{gap_text})"]
    out += [f"unmet {u['order_id']}: {u['pieces']} pieces — {u['reason']} ({u['detail']})" for u in plan["unallocated"]]
    return out


def table(summary: dict[str, Any]) -> str:
    s = summary
    lines = ["", "seamline demo — simulated cluster end to end", "=" * 66, *_data_path(s)]
    if "kpis" in s:
        lines += ["", "shift KPIs per line (rules engine vs simulator truth)", "-" * 66, *_lines(s["kpis"]),
                  "", "energy (rules engine vs stub physics)", "-" * 66, *_energy(s["kpis"])]
    if "capacity" in s and "allocations" in s:
        lines += ["", "capacity feed and order matching", "-" * 66, *_platform(s)]
    if "report" in s:
        lines += ["", "daily report pages (open offline in a browser)", "-" * 66,
                  *(f"{p['path']}  ({p['bytes'] / 1024:.0f} kB)" for p in s["report"]["pages"])]
    lines += ["", "timings (s): " + ", ".join(f"{k} {v}" for k, v in s["timings_s"].items())]
    return "\n".join(lines)
