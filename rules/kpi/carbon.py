"""Carbon per piece (pure): a line's share of its site's grid kWh and CO2e over a window, per good
piece; and an order's CO2e from the pieces a plan puts on each line and day.

The site's CO2e is its grid kWh (after hour-by-hour green attribution) × the grid emission factor
(kg CO2e/kWh). A line carries the share of it that its own consumption has of the lines' —
from the sub-meters when **every** line of the site has one (the building's loads, lighting, air,
compressor, base, follow the lines' consumption), else by good pieces (flag ``split_by_pieces``).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from seamline.rules.coverage import Coverage
from seamline.rules.kpi.result import Flag, KpiResult, KpiValue, build
from seamline.rules.windows import Window


def line_shares(line_kwh: Mapping[str, float | None], pieces: Mapping[str, int]) -> tuple[dict[str, float], bool]:
    """Each line's share of the site (fractions summing to 1 when any basis exists) and whether
    the split is by pieces. ``line_kwh[line]`` is None for a line without a sub-meter."""
    lines = sorted(set(line_kwh) | set(pieces))
    metered = [line_kwh.get(ln) for ln in lines]
    total_kwh = sum(v for v in metered if v is not None)
    if lines and all(v is not None for v in metered) and total_kwh > 0:
        return {ln: (line_kwh[ln] or 0.0) / total_kwh for ln in lines}, False
    total_pieces = sum(pieces.get(ln, 0) for ln in lines)
    if total_pieces > 0:
        return {ln: pieces.get(ln, 0) / total_pieces for ln in lines}, True
    return {ln: 0.0 for ln in lines}, True


def line_carbon_kpi(*, share: float, split_by_pieces: bool, site_grid_kwh: float, site_co2e_kg: float,
                    site_green_share: float | None, pieces: int, window: Window, coverage: Coverage,
                    coverage_threshold: float) -> KpiResult:
    """The line's share of the site's grid kWh and CO2e (kg) and its kg CO2e per good piece."""
    co2e = share * site_co2e_kg
    values = (
        KpiValue("energy_share", "fraction", share),
        KpiValue("grid_kwh", "kWh", share * site_grid_kwh),
        KpiValue("co2e_kg", "kg", co2e),
        KpiValue("pieces", "pieces", float(pieces)),
        KpiValue("co2e_kg_per_piece", "kg/piece", co2e / pieces if pieces > 0 else None),
        KpiValue("green_share", "fraction", site_green_share),
    )
    flags = [Flag.SPLIT_BY_PIECES] if split_by_pieces else []
    return build("line_carbon", window, coverage, values, flags, coverage_threshold=coverage_threshold)


@dataclass(frozen=True, slots=True)
class PlannedPieces:
    """Pieces of one order a plan puts on one line on one local day."""

    line: tuple[str, str, str]  # (enterprise, site, line)
    day: date
    pieces: int


@dataclass(frozen=True, slots=True)
class OrderCarbon:
    pieces: int
    co2e_kg: float
    pieces_without_figure: int  # on lines with no measured carbon per piece: not in co2e_kg
    estimated_pieces: int  # on days after the last measured one: that day's figure was used


def order_carbon(planned: Sequence[PlannedPieces],
                 per_piece: Mapping[tuple[str, str, str], Sequence[tuple[date, float]]]) -> OrderCarbon:
    """kg CO2e of an order: each day's pieces × the line's kg CO2e per piece measured that day,
    or on the last measured day before it (a plan books days ahead: the latest figure is the
    estimate, counted in ``estimated_pieces``); lines never measured are counted apart."""
    total = 0.0
    missing = estimated = pieces = 0
    for p in planned:
        pieces += p.pieces
        series = sorted(per_piece.get(p.line, ()))
        days = [d for d, _ in series]
        i = bisect.bisect_right(days, p.day)
        if i == 0:
            if not series:
                missing += p.pieces
                continue
            i = 1  # only later days measured: the earliest is the best estimate
        day, kg = series[i - 1]
        if day != p.day:
            estimated += p.pieces
        total += p.pieces * kg
    return OrderCarbon(pieces, total, missing, estimated)
