"""Energy park: PV power and performance ratio, wind power against wind speed (the turbine's
measured curve), expected against actual energy and availability, battery state of charge and
cycles, and the site balance with its green share."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row

from seamline.contracts.assets import AssetKind
from seamline.dashboards import kinds
from seamline.dashboards.frame import frame
from seamline.dashboards.influxql import Agg, Column, Fill, Statement, TagIs, VarMatch
from seamline.dashboards.panels import PanelLike, dress, target
from seamline.dashboards.settings import DashboardSettings
from seamline.dashboards.variables import ENTERPRISE, SITE, WINDOW, hierarchy, window_variable
from seamline.storage.schema import KPI_BATTERY, KPI_FACTORY_ENERGY, KPI_PV, KPI_WIND, Measurement, Tag, telemetry

__all__ = ["build"]

PV, WIND, BATTERY, METER, MET = (telemetry(k) for k in (AssetKind.PV_INVERTER, AssetKind.WIND_TURBINE,
                                                       AssetKind.BATTERY, AssetKind.METER, AssetKind.MET_STATION))
_KW = 0.001  # W -> kW
_WHERE = (VarMatch(Tag.ENTERPRISE, ENTERPRISE), VarMatch(Tag.SITE, SITE))
_WIN = TagIs(Tag.WINDOW, f"${WINDOW}")


def _raw(s: DashboardSettings, m: Measurement, *cols: Column, fill: Fill | None = Fill.NULL) -> Statement:
    return Statement(measurement=m, rp=s.raw_rp, where=_WHERE, tags=(Tag.ASSET,), columns=cols, fill=fill)


def _kpi(s: DashboardSettings, m: Measurement, *cols: Column, interval: str | None = "$__interval") -> Statement:
    return Statement(measurement=m, rp=s.kpi_rp, where=(*_WHERE, _WIN), tags=(Tag.ASSET,), columns=cols,
                     interval=interval)


def _pv(s: DashboardSettings) -> list[PanelLike]:
    power = _raw(s, PV, Column(field="ac_power_w", agg=Agg.MEAN, alias="ac_power_kw", scale=_KW))
    poa = _raw(s, MET, Column(field="poa_irradiance_w_m2", agg=Agg.MEAN, alias="poa_w_m2"))
    pr = _kpi(s, KPI_PV, Column(field="performance_ratio", agg=Agg.MEAN, alias="performance_ratio"))
    return [
        dress(kinds.series(), s, title="PV power", w=8, h=8, unit="kwatt",
              targets=[target(power, s, alias="$tag_asset")],
              description="AC power per inverter, kW (SunSpec 103 W)."),
        dress(kinds.series(), s, title="Plane-of-array irradiance", w=8, h=8, unit="short",
              targets=[target(poa, s, alias="$tag_asset")], description="Irradiance at the met station, W/m²."),
        dress(kinds.series(), s, title="Performance ratio", w=8, h=8, unit="percentunit",
              targets=[target(pr, s, alias="$tag_asset")],
              description="IEC 61724-1 PR = final yield / reference yield per KPI window; good plants 0.75-0.85."),
    ]


def _wind(s: DashboardSettings) -> list[PanelLike]:
    curve = _raw(s, WIND, Column(field="wind_speed_m_s", agg=Agg.MEAN, alias="wind_speed_m_s"),
                 Column(field="power_w", agg=Agg.MEAN, alias="power_kw", scale=_KW), fill=Fill.NONE)
    energy = _kpi(s, KPI_WIND, Column(field="expected_energy_kwh", agg=Agg.SUM, alias="expected_kwh"),
                  Column(field="actual_energy_kwh", agg=Agg.SUM, alias="actual_kwh"))
    avail = _kpi(s, KPI_WIND, Column(field="availability", agg=Agg.MEAN, alias="availability"))
    return [
        dress(kinds.scatter("wind_speed_m_s", "power_kw"), s, title="Wind power against wind speed", w=8, h=8,
              targets=[target(curve, s, table=True)],
              description="Each point an interval's mean nacelle wind speed (m/s) and power (kW): the turbine's "
                          "measured power curve. Points well below the others: curtailment, icing or a fault."),
        dress(kinds.series(bars_style=True), s, title="Expected and actual energy", w=8, h=8, unit="kwatth",
              targets=[target(energy, s, alias="$tag_asset $col")],
              description="kWh per KPI window: expected from the turbine type's power curve at the measured wind, "
                          "and actually produced; the difference is lost production."),
        dress(kinds.series(), s, title="Wind availability", w=8, h=8, unit="percentunit",
              targets=[target(avail, s, alias="$tag_asset")],
              description="Time-based availability (IEC 61400-26) per KPI window: available / (available + "
                          "unavailable) time; information-unavailable time is excluded."),
    ]


def _battery(s: DashboardSettings) -> list[PanelLike]:
    soc = _raw(s, BATTERY, Column(field="soc_pct", agg=Agg.MEAN, alias="soc_pct"))
    cycles = _kpi(s, KPI_BATTERY, Column(field="equivalent_full_cycles", agg=Agg.SUM, alias="cycles"), interval=None)
    return [
        dress(kinds.series(), s, title="Battery state of charge", w=16, h=8, unit="percent",
              targets=[target(soc, s, alias="$tag_asset")], description="State of charge, %."),
        dress(kinds.single("sum"), s, title="Battery cycles", w=8, h=8, unit="short",
              targets=[target(cycles, s, alias="$tag_asset")],
              description="Equivalent full cycles over the time range (throughput / usable capacity)."),
    ]


def _balance(s: DashboardSettings) -> list[PanelLike]:
    grid = _raw(s, METER, Column(field="power_w", agg=Agg.MEAN, alias="power_kw", scale=_KW))
    pv = _raw(s, PV, Column(field="ac_power_w", agg=Agg.MEAN, alias="power_kw", scale=_KW))
    wind = _raw(s, WIND, Column(field="power_w", agg=Agg.MEAN, alias="power_kw", scale=_KW))
    bat = _raw(s, BATTERY, Column(field="power_w", agg=Agg.MEAN, alias="power_kw", scale=_KW))
    green = Statement(measurement=KPI_FACTORY_ENERGY, rp=s.kpi_rp, where=(*_WHERE, _WIN), tags=(Tag.ENTERPRISE,),
                      columns=(Column(field="green_share", agg=Agg.MEAN, alias="green_share_pct", scale=100),))
    use = Statement(measurement=KPI_FACTORY_ENERGY, rp=s.kpi_rp, where=(*_WHERE, _WIN), tags=(Tag.ENTERPRISE,),
                    columns=(Column(field="consumption_kwh", agg=Agg.SUM, alias="consumption_kwh"),))
    return [
        dress(kinds.series(), s, title="Site balance", w=12, h=9, unit="kwatt",
              targets=[target(grid, s, alias="meter $tag_asset"), target(pv, s, ref="B", alias="PV $tag_asset"),
                       target(wind, s, ref="C", alias="wind $tag_asset"),
                       target(bat, s, ref="D", alias="battery $tag_asset")],
              description="kW: meters (+ import from the grid / - export), PV and wind generation, battery "
                          "(+ discharge / - charge)."),
        dress(kinds.series(), s, title="Green share and consumption", w=12, h=9, unit="percent",
              targets=[target(green, s, alias="$tag_enterprise green %"),
                       target(use, s, ref="B", alias="$tag_enterprise kWh")],
              description="Per site and KPI window: share of consumption covered by PV, wind and battery (%), "
                          "and the metered consumption (kWh)."),
    ]


def build(s: DashboardSettings) -> Dashboard:
    names = hierarchy([PV, WIND, BATTERY, METER], s.raw_rp, area_as="Area", upto=SITE)
    d = frame("energy", "seamline · Energy park", "PV, wind, battery and the site balance with its green share.", s,
              variables=[*names, window_variable(KPI_PV, s)])
    for title, panels in (("PV", _pv(s)), ("Wind", _wind(s)), ("Battery", _battery(s)), ("Balance", _balance(s))):
        d = d.with_row(Row(title))
        for p in panels:
            d = d.with_panel(p)
    return d
