"""Master data of the simulated cluster, written as the YAML an operator would maintain: the
factories' lines (operators, style SAM from the simulated floor), the shift calendar the nodes
follow, and the energy assets with their nameplates, line sub-meters and the turbine status
mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seamline.demo.energy import KIND_OF, PARK, EnergyPlant, area_of
from seamline.firmware_stubs.sewing.floor import FloorReport

CATEGORY_BY_SAM = ((12.0, "t_shirt"), (18.0, "polo"), (99.0, "shirt"))

# The stub turbine's vendor status codes (firmware_stubs/energy/wind_turbine_map.yaml) mapped to
# IEC 61400-26 information categories; which of them count as available is contract-specific.
TURBINE_CONTRACT = {
    "id": "park-contract",
    "status_map": {1: "full_performance", 2: "out_of_environmental_spec", 3: "scheduled_maintenance",
                   4: "forced_outage", 5: "out_of_environmental_spec"},
    "unmapped": "information_unavailable",
    "available": ["full_performance", "partial_performance", "technical_standby", "out_of_environmental_spec"],
    "excluded": ["information_unavailable", "force_majeure"],
}


# Green attribution of the park to the factories (master data ``green``), cycling over them: VPPA shares of
# the park's hourly delivery (the demo's factories are small next to two 800 kW turbines: a share of a
# few per mille covers part of their load, so hour-by-hour matching shows), and every fourth factory
# buys monthly certificates instead.
VPPA_SHARES = (0.006, 0.003, 0.015)
CERTIFICATES_EVERY = 4
CERTIFICATES_KWH = 40.0
# Land per factory (mu), cycling: some under 3 mu, graded with the small-plot indicators.
LAND_MU = (4.0, 2.5, 3.5, 5.0)


def green_attribution(enterprises: list[str], month: str) -> dict[str, Any]:
    """The park's generation attributed to the factories: VPPA shares, or certificates for ``month``."""
    consumers: list[dict[str, Any]] = []
    for i, ent in enumerate(enterprises):
        if (i + 1) % CERTIFICATES_EVERY == 0:
            consumers.append({"enterprise": ent, "site": "s1", "certificates_kwh": {month: CERTIFICATES_KWH}})
        else:
            consumers.append({"enterprise": ent, "site": "s1", "vppa_share": VPPA_SHARES[i % len(VPPA_SHARES)]})
    return {"sources": [{"enterprise": PARK, "site": "s1"}], "consumers": consumers}


def category_of(sam_min: float) -> str:
    return next(cat for limit, cat in CATEGORY_BY_SAM if sam_min <= limit)


def _asset_id(device_name: str) -> str:
    """The asset id of a stub named ``<enterprise>-<asset>`` on the shared stub host."""
    return device_name.split("-", 1)[1]


def _energy_assets(plant: EnergyPlant | None, enterprise: str) -> list[dict[str, Any]]:
    if plant is None or enterprise not in plant.sites:
        return []
    out: list[dict[str, Any]] = []
    site = plant.sites[enterprise]
    for dev in site.devices:
        kind = KIND_OF[type(dev).__name__]
        asset: dict[str, Any] = {"id": _asset_id(dev.name), "kind": kind, "area": area_of(site, dev)}
        if kind == "pv_inverter":
            asset |= {"rated_power_kw": dev.ac_rated_w / 1000.0, "kwp": dev.dc_kwp}  # type: ignore[attr-defined]
        elif kind == "battery":
            asset |= {"capacity_kwh": dev.nameplate_wh * dev.soh_pct / 100.0 / 1000.0}  # type: ignore[attr-defined]
            feeder = site.feeder_meter_of(dev)  # type: ignore[arg-type]
            if feeder is not None:
                asset["feeder_meter"] = _asset_id(feeder.name)
        elif kind == "wind_turbine":  # the wind farm has its own grid connection, not the park meter
            asset |= {"rated_power_kw": 800.0, "turbine_type": dev.turbine_type,  # type: ignore[attr-defined]
                      "hub_height_m": 76.0, "availability_contract": TURBINE_CONTRACT["id"], "behind_meter": False}
        elif kind == "meter" and (line := site.line_of(dev)) is not None:
            asset["line"] = line  # the line's sub-meter: kWh per piece per line
        out.append(asset)
    return out


def master_data(floor: FloorReport, plant: EnergyPlant | None, enterprises: list[str],
                month: str | None = None) -> dict[str, Any]:
    """The cluster's master data; with the energy park, its generation attributed to the factories
    (certificates bought for ``month``, YYYY-MM)."""
    lines: dict[tuple[str, str], dict[str, Any]] = {}
    styles: dict[str, dict[str, Any]] = {}
    for r in floor.nodes:
        a, sam = r.node.addr, r.node.profile.sam_min
        style = f"style-{sam:g}"
        styles[style] = {"id": style, "category": category_of(sam), "sam_min": sam}
        line = lines.setdefault((a.enterprise, a.line), {
            "id": a.line, "operators": 0, "absenteeism": 0.05, "categories": [category_of(sam)],
            "machines": [], "machine_type": "lockstitch", "style": style, "default_efficiency": 0.5})
        line["operators"] += 1  # make-through: one operator per machine
        line["machines"].append(a.machine)
    enterprise_docs = []
    for i, ent in enumerate([*enterprises, *([PARK] if plant is not None else [])]):
        site: dict[str, Any] = {"id": "s1", "lines": [v for (e, _), v in lines.items() if e == ent],
                                "energy_assets": _energy_assets(plant, ent)}
        enterprise_docs.append({"id": ent, "name": f"Simulated {ent}", "timezone": "Asia/Shanghai",
                                "land_area_mu": LAND_MU[i % len(LAND_MU)] if ent != PARK else 120.0,
                                "calendar": "sim-day", "sites": [site]})
    green = {"green": green_attribution(enterprises, month)} if plant is not None and month else {}
    return {
        "version": 1,
        "kpi": {"coverage_threshold": 0.8, "windows": ["1h", "shift", "1d"], "recompute_windows": 3,
                "efficiency_days": 14, "capacity_days": 14},
        "calendars": [{"id": "sim-day", "shifts": [{
            "name": "day", "start": "08:00", "end": "17:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat"],
            "breaks": [{"start": "10:00", "end": "10:15"}, {"start": "12:00", "end": "13:00"},
                       {"start": "15:00", "end": "15:15"}]}]}],
        "machine_types": [{"id": "lockstitch", "description": "single-needle lockstitch", "rated_speed_spm": 5000}],
        "styles": list(styles.values()),
        "availability_contracts": [TURBINE_CONTRACT],
        "enterprises": enterprise_docs,
        **green,
    }


def write(path: Path, doc: dict[str, Any]) -> Path:
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# master data of the simulated cluster, written by seamline demo\n"
                    + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return path
