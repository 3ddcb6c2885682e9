"""Which SunSpec point feeds which contract metric (contracts/assets.py), per asset kind (pure).

A source lists candidates in order of preference (e.g. three-phase 103 before single-phase 101);
the first model present on the device wins. Counters carry their register width so the poller
can unwrap them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from seamline.contracts.kinds import AssetKind


@dataclass(frozen=True, slots=True)
class PointSource:
    model_ids: tuple[int, ...]
    point: str
    counter_bits: int | None = None  # acc32 -> 32
    sf_point: str | None = None  # scale-factor point of a counter (to recover the raw integer)


_INV = (103, 102, 101)
_METER = (203, 204, 202, 201)

SUNSPEC_METRICS: dict[AssetKind, dict[str, PointSource]] = {
    AssetKind.PV_INVERTER: {
        "ac_power_w": PointSource(_INV, "W"),
        "ac_energy_wh": PointSource(_INV, "WH", counter_bits=32, sf_point="WH_SF"),
        "dc_power_w": PointSource(_INV, "DCW"),
        "dc_voltage_v": PointSource(_INV, "DCV"),
        "ac_voltage_v": PointSource(_INV, "PPVphAB"),
        "ac_current_a": PointSource(_INV, "A"),
        "ac_frequency_hz": PointSource(_INV, "Hz"),
        "cabinet_temp_c": PointSource(_INV, "TmpCab"),
        "operating_state": PointSource(_INV, "St"),
        "rated_power_w": PointSource((120,), "WRtg"),
    },
    AssetKind.BATTERY: {
        "soc_pct": PointSource((802, 124), "SoC"),
        "soh_pct": PointSource((802,), "SoH"),
        "power_w": PointSource((802,), "W"),
        "operating_state": PointSource((802, 124), "ChaSt"),
    },
    AssetKind.METER: {
        "power_w": PointSource(_METER, "W"),
        "import_energy_wh": PointSource(_METER, "TotWhImp", counter_bits=32, sf_point="TotWh_SF"),
        "export_energy_wh": PointSource(_METER, "TotWhExp", counter_bits=32, sf_point="TotWh_SF"),
        "voltage_v": PointSource(_METER, "PhV"),
        "frequency_hz": PointSource(_METER, "Hz"),
    },
    AssetKind.MET_STATION: {
        "poa_irradiance_w_m2": PointSource((302,), "repeating[0].POAI"),
        "ghi_w_m2": PointSource((302,), "repeating[0].GHI"),
        "ambient_temp_c": PointSource((307,), "TmpAmb"),
        "module_temp_c": PointSource((303,), "temp[0].TmpBOM"),
        "wind_speed_m_s": PointSource((307,), "WndSpd"),
    },
}

ModelValues = Mapping[int, Mapping[str, float | int | str | None]]


def models_needed(kind: AssetKind, present: set[int]) -> set[int]:
    """The model ids of ``present`` that any metric of ``kind`` reads from."""
    wanted = {m for src in SUNSPEC_METRICS.get(kind, {}).values() for m in src.model_ids}
    return wanted & present


@cache
def points_needed(kind: AssetKind, model_id: int) -> frozenset[str]:
    """The points of ``model_id`` that any metric of ``kind`` reads (scale factors of counters
    included); the poller decodes only these."""
    names = {n for src in SUNSPEC_METRICS.get(kind, {}).values() if model_id in src.model_ids
             for n in (src.point, src.sf_point) if n is not None}  # fmt: skip
    if kind is AssetKind.BATTERY and model_id == 802:
        names |= {"WHRtg", "SoH"}  # derived_battery_capacity_wh
    return frozenset(names)


def pick(src: PointSource, models: ModelValues) -> tuple[float | int | None, float]:
    """(value, 10**sf of the counter) from the first candidate model present; (None, 1) if none."""
    for mid in src.model_ids:
        if mid in models:
            vals = models[mid]
            v = vals.get(src.point)
            scale = 1.0
            if src.sf_point is not None:
                sf = vals.get(src.sf_point)
                scale = 10.0 ** int(sf) if isinstance(sf, int) else 1.0
            return (v if isinstance(v, int | float) else None), scale
    return None, 1.0


def derived_battery_capacity_wh(models: ModelValues) -> float | None:
    """Usable capacity (Wh) = nameplate WHRtg x SoH (SunSpec 802)."""
    m = models.get(802)
    if not m:
        return None
    wh, soh = m.get("WHRtg"), m.get("SoH")
    if isinstance(wh, int | float) and isinstance(soh, int | float):
        return float(wh) * float(soh) / 100.0
    return None
