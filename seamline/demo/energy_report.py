"""The energy KPIs of the demo's shift, each next to the stubs' truth for the same window: PV and
wind energy, battery energies with round-trip efficiency and cycles, each factory's consumption
with its load components and base load, and kWh per piece per line from the sub-meters."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from seamline.demo.energy import PARK
from seamline.demo.energy_truth import EnergyTruthRecorder
from seamline.demo.green_truth import GreenTruth, green_truth
from seamline.demo.truth import LineTruth
from seamline.rules.engine import WindowReport
from seamline.rules.green_config import GreenAttribution
from seamline.rules.kpi.battery import equivalent_full_cycles, round_trip_efficiency
from seamline.rules.kpi_points import KpiPoint
from seamline.storage.schema import (
    KPI_BATTERY,
    KPI_FACTORY_ENERGY,
    KPI_GREEN_ENERGY,
    KPI_LINE_CARBON,
    KPI_LINE_ENERGY,
    KPI_PV,
    KPI_WIND,
)

MAIN_KPI = {KPI_PV.name: KPI_PV.fields_of("energy_kwh", "performance_ratio", "availability"),
            KPI_WIND.name: KPI_WIND.fields_of("energy_kwh", "capacity_factor", "availability"),
            KPI_BATTERY.name: KPI_BATTERY.fields_of("charge_kwh", "discharge_kwh", "round_trip_efficiency",
                                                    "equivalent_full_cycles", "soc_start_pct", "soc_end_pct",
                                                    "cycle_round_trip_efficiency", "cycle_h"),
            KPI_FACTORY_ENERGY.name: KPI_FACTORY_ENERGY.fields_of("consumption_kwh", "green_share", "kwh_per_piece"),
            KPI_LINE_ENERGY.name: KPI_LINE_ENERGY.fields_of("consumption_kwh", "kwh_per_piece"),
            KPI_GREEN_ENERGY.name: KPI_GREEN_ENERGY.fields_of(
                "consumption_kwh", "green_kwh", "vppa_kwh", "certificate_kwh", "grid_kwh", "green_share", "co2e_kg",
                "delivered_kwh", "attributed_kwh", "surplus_kwh", "unassigned_kwh"),
            KPI_LINE_CARBON.name: KPI_LINE_CARBON.fields_of("energy_share", "pieces", "co2e_kg", "co2e_kg_per_piece")}


def fields(p: KpiPoint, *names: str) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for n in names:
        v = p.get(n)
        out[n] = round(float(v), 4) if isinstance(v, int | float) and not isinstance(v, bool) else None
    return out


def _kwh(wh: float | None) -> float | None:
    return None if wh is None else round(wh / 1000, 4)


def _per_piece(kwh: float, pieces: int) -> float | None:
    return round(kwh / pieces, 4) if pieces else None


def _battery_truth(rec: EnergyTruthRecorder, device: str, start: int, end: int) -> dict[str, Any]:
    """Energies, RTE (the KPI's SoC-corrected formula on the true values) and cycles of the
    battery's physics in the window, and the round trip its losses allow (eta², SoC unchanged)."""
    ch, dis = rec.between(device, "charge_wh", start, end), rec.between(device, "discharge_wh", start, end)
    s0, s1, cap = (rec.at(device, "stored_wh", start), rec.at(device, "stored_wh", end),
                   rec.at(device, "capacity_wh", start))
    out: dict[str, Any] = {"charge_kwh": _kwh(ch), "discharge_kwh": _kwh(dis)}
    if None in (ch, dis, s0, s1, cap):
        return out
    assert ch is not None and dis is not None and s0 is not None and s1 is not None and cap is not None
    rte = round_trip_efficiency(ch / 1000, dis / 1000, soc_start_pct=100 * s0 / cap, soc_end_pct=100 * s1 / cap,
                                capacity_kwh=cap / 1000)
    battery = next(b for b in rec.plant.sites[PARK].batteries if b.name == device)
    return out | {"round_trip_efficiency": None if rte is None else round(rte, 4),
                  "equivalent_full_cycles": round(equivalent_full_cycles(ch / 1000, dis / 1000, cap / 1000), 4),
                  "soc_start_pct": round(100 * s0 / cap, 2), "soc_end_pct": round(100 * s1 / cap, 2),
                  "physical_round_trip": round(battery.one_way_efficiency ** 2, 4)}


def _factory_truth(rec: EnergyTruthRecorder, ent: str, pieces: int, start: int, end: int) -> dict[str, Any]:
    parts = rec.load_kwh(ent, start, end)
    total = sum(parts.values())
    load = rec.plant.loads[ent]
    return {"consumption_kwh": round(total, 4), "components_kwh": {k: round(v, 4) for k, v in parts.items()},
            "base_kw": round(load.site.parts["base"].power_w_at(start) / 1000, 3), "pieces": pieces,
            "kwh_per_piece": _per_piece(total, pieces),
            "meter_kwh": _kwh(rec.between(f"{ent}-meter1", "import_wh", start, end))}


def _green_row_truth(truth: GreenTruth, measurement: str, ent: str, tags: dict[str, str]) -> dict[str, Any]:
    if measurement == KPI_LINE_CARBON.name:
        per = truth.line_co2e_kg_per_piece.get((ent, tags["line"]))
        return {"co2e_kg_per_piece": None if per is None else round(per, 5)}
    if ent == PARK:
        s = truth.source
        return {"delivered_kwh": round(s.delivered_kwh, 4), "attributed_kwh": round(s.attributed_kwh, 4)}
    m = truth.matched.get((ent, tags.get("site", "s1")))
    if m is None:
        return {}
    share = m.green_share
    return {"consumption_kwh": round(sum(m.consumption_kwh), 4), "green_kwh": round(m.green_kwh, 4),
            "grid_kwh": round(sum(m.grid_kwh), 4), "green_share": None if share is None else round(share, 5)}


def energy_rows(rec: EnergyTruthRecorder | None, report: WindowReport, lines: list[LineTruth], start: int,
                end: int, *, green: GreenAttribution | None = None, tz: ZoneInfo | None = None) -> list[dict[str, Any]]:
    """Each energy KPI point of the window with the truth of the same window; with ``green``, the
    attribution matched hour by hour on the true energies too."""
    pieces = {(t.enterprise, t.line): t.pieces for t in lines}
    truth_green = (green_truth(rec, green, report.window, tz, pieces)
                   if rec is not None and green is not None and tz is not None else None)
    rows = []
    for p in report.points:
        if p.measurement not in MAIN_KPI:
            continue
        tags = dict(p.tags)
        ent = tags["enterprise"]
        row: dict[str, Any] = {"kpi": p.measurement, "enterprise": ent, "asset": tags.get("asset", "(site)"),
                               **fields(p, *MAIN_KPI[p.measurement], "coverage")}
        device = f"{ent}-{tags.get('asset')}"
        if p.measurement in (KPI_LINE_ENERGY.name, KPI_LINE_CARBON.name):
            row["line"] = row["asset"] = tags["line"]
        if rec is None:
            pass
        elif p.measurement in (KPI_GREEN_ENERGY.name, KPI_LINE_CARBON.name):
            if truth_green is not None:
                row["truth"] = _green_row_truth(truth_green, p.measurement, ent, tags)
        elif p.measurement in (KPI_PV.name, KPI_WIND.name):
            row["truth"] = {"energy_kwh": _kwh(rec.between(device, "energy_wh", start, end))}
        elif p.measurement == KPI_BATTERY.name:
            row["truth"] = _battery_truth(rec, device, start, end)
        elif p.measurement == KPI_FACTORY_ENERGY.name and ent in rec.plant.loads:
            n = sum(v for (e, _), v in pieces.items() if e == ent)
            row["truth"] = _factory_truth(rec, ent, n, start, end)
        elif p.measurement == KPI_LINE_ENERGY.name:
            kwh = rec.line_kwh(ent, tags["line"], start, end)
            n = pieces.get((ent, tags["line"]), 0)
            row["truth"] = {"consumption_kwh": round(kwh, 4), "pieces": n, "kwh_per_piece": _per_piece(kwh, n)}
        rows.append(row)
    return rows
