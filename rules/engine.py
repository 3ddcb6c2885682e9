"""Compute every KPI of one window for all assets of the master data: the composition root of
the rules engine that the service, the CLI, the demo and the tests call.

``compute_window(source, master, window)`` reads the window in batches of enterprises (a bounded
number of machines per batch keeps memory bounded on daily windows), runs the pure KPIs and
returns the KPI points to write (see :mod:`rules.kpi_points`) plus counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from seamline.rules.aggregate_kpi import machine_window
from seamline.rules.aggregate_source import read_batch
from seamline.rules.coverage import Coverage
from seamline.rules.energy_kpi import (
    EnergySettings,
    FeederMeter,
    SiteEnergyParts,
    SubMeter,
    battery_kpis,
    counter,
    energy_kpi_total,
    energy_observed,
    line_energy,
    pv_kpis,
    weakest,
    wind_kpis,
)
from seamline.rules.green_kpi import CertificateLedger, GreenCollector
from seamline.rules.kpi.factory_energy import SiteEnergy, factory_energy_kpi
from seamline.rules.kpi.result import KpiResult
from seamline.rules.kpi.sewing import MachineTotals
from seamline.rules.kpi_points import KpiPoint, make_point
from seamline.rules.machine_kpi import LineInputs, MachineWindow, line_kpis, machine_kpi
from seamline.rules.master_data import EnergyAsset, Enterprise, Line, MasterData, Site
from seamline.rules.shift_calendar import ShiftCalendar, planned_spans
from seamline.rules.source import (
    METER_EXPORT_WH,
    METER_IMPORT_WH,
    AssetKey,
    EnergySeries,
    InfluxSource,
    WindowData,
    WindowSource,
    offline_for,
)
from seamline.rules.spans import SpanSet
from seamline.rules.windows import Window
from seamline.storage.schema import (
    KPI_BATTERY,
    KPI_DOWNTIME,
    KPI_FACTORY_ENERGY,
    KPI_LINE,
    KPI_LINE_ENERGY,
    KPI_MACHINE,
    KPI_PV,
    KPI_WIND,
    Field,
    Measurement,
    Tag,
)

# Machines read per batch: a daily window is ~1 500 aggregates (~420 B each decoded) and, for 8 h
# of sewing, ~2 800 state events (~280 B; stops need every debounced change) per machine, ~1.4 MB;
# 150 machines keep a batch near 210 MB of Python objects.
DEFAULT_BATCH_MACHINES = 150


@dataclass(frozen=True, slots=True)
class WindowReport:
    window: Window
    label: str
    points: tuple[KpiPoint, ...]
    statements: int
    machines: int
    energy_assets: int
    low_coverage: int = 0
    warnings: tuple[str, ...] = field(default=())
    from_sums: int = 0  # machines computed from sums of their aggregates (rules.aggregate_kpi)
    from_events: tuple[tuple[str, int], ...] = ()  # why the others were computed from their events

    def find(self, measurement: Measurement | str, **tags: str) -> list[KpiPoint]:
        """Points of ``measurement`` whose tags include ``tags``."""
        name = str(measurement)
        return [p for p in self.points if p.measurement == name
                and all(dict(p.tags).get(k) == v for k, v in tags.items())]

    def one(self, measurement: Measurement | str, **tags: str) -> KpiPoint:
        found = self.find(measurement, **tags)
        if len(found) != 1:
            raise KeyError(f"{len(found)} {measurement} points match {tags}")
        return found[0]


@dataclass(slots=True)
class _Ctx:
    master: MasterData
    window: Window
    data: WindowData
    base_tags: dict[str, str]
    energy: EnergySettings
    green: GreenCollector | None = None  # the window's green attribution, across batches
    points: list[KpiPoint] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seen: set[AssetKey] = field(default_factory=set)
    totals: dict[AssetKey, MachineTotals] = field(default_factory=dict)  # machines from sums

    def add(self, measurement: Measurement, tags: dict[str, str], results: Sequence[KpiResult]) -> None:
        self.points.append(make_point(measurement, {**self.base_tags, **tags}, self.window, results))


def batches(master: MasterData, limit: int) -> Iterator[list[Enterprise]]:
    """Enterprises in groups of at most ``limit`` machines (an enterprise is never split)."""
    group: list[Enterprise] = []
    count = 0
    for ent in master.enterprises:
        n = sum(line.machine_total for site in ent.sites for line in site.lines)
        if group and count + n > limit:
            yield group
            group, count = [], 0
        group.append(ent)
        count += n
    if group:
        yield group


def _line_machines(ctx: _Ctx, ent: Enterprise, site: Site, line: Line) -> list[AssetKey]:
    where = (ent.id, site.id, line.id)
    found = {k for k in (*ctx.data.machines, *ctx.totals) if (k.enterprise, k.site, k.area) == where}
    found |= {AssetKey(ent.id, site.id, line.id, m) for m in line.machines}
    ctx.seen |= found
    return sorted(found)


def _line(ctx: _Ctx, ent: Enterprise, site: Site, line: Line, planned: SpanSet) -> int:
    """KPI points of one line and its machines; returns its good pieces (output machines)."""
    thr = ctx.master.kpi.coverage_threshold
    per: dict[str, MachineWindow] = {}
    for key in _line_machines(ctx, ent, site, line):
        series = ctx.data.machines.get(key)
        totals = ctx.totals.get(key)
        if totals is not None:
            mw = machine_window(totals, ctx.window, coverage_threshold=thr)
        else:  # the reference path: from the machine's events
            offline = offline_for(ctx.data, key, until_s=ctx.window.end_s)
            mw = machine_kpi(series.aggregates if series else (), series.state_events if series else (), ctx.window,
                             planned=planned, offline=offline, coverage_threshold=thr,
                             stop_threshold_s=ctx.master.kpi.stop_threshold_s)
        per[key.asset] = mw
        tags: dict[str, str] = {Tag.ENTERPRISE: ent.id, Tag.SITE: site.id, Tag.LINE: line.id, Tag.ASSET: key.asset}
        ctx.add(KPI_MACHINE, tags, [mw.result])
        cov = mw.result.coverage
        for reason, seconds in mw.downtime_s.items():
            ctx.points.append(make_point(KPI_DOWNTIME, {**ctx.base_tags, **tags, Tag.REASON: reason}, ctx.window,
                                         [_single(mw.result, cov)], extra={Field.DOWN_MIN: seconds / 60}))
    outputs = [per[m] for m in line.output_machines if m in per] if line.output_machines else list(per.values())
    sam = ctx.master.style(line.style).sam_min if line.style else None
    inputs = LineInputs(operators=line.operators, sam_min=sam, machine_total=line.machine_total)
    results = line_kpis(list(per.values()), outputs, inputs, ctx.window, planned=planned, coverage_threshold=thr)
    ctx.add(KPI_LINE, {Tag.ENTERPRISE: ent.id, Tag.SITE: site.id, Tag.LINE: line.id}, results)
    return sum(m.good_pieces for m in outputs)


def _single(result: KpiResult, coverage: Coverage) -> KpiResult:
    """A value-less copy of ``result`` carrying its coverage and flags (for the downtime points)."""
    return KpiResult(result.kpi, result.window, coverage, (), result.flags)


def _observed(ctx: _Ctx, series: EnergySeries) -> SpanSet:
    return energy_observed(series, offline_for(ctx.data, series.key, until_s=ctx.window.end_s), ctx.energy)


def _feeder(ctx: _Ctx, ent: Enterprise, site: Site, battery: EnergyAsset) -> FeederMeter | None:
    """The battery's feeder meter and its data in the window (validated master data: it exists)."""
    if battery.feeder_meter is None:
        return None
    meter = next(a for a in site.energy_assets if a.id == battery.feeder_meter)
    series = ctx.data.energy.get(AssetKey(ent.id, site.id, meter.area, meter.id))
    return FeederMeter(meter, series, _observed(ctx, series) if series is not None else SpanSet())


def _site_energy(ctx: _Ctx, ent: Enterprise, site: Site) -> SiteEnergyParts:
    """KPIs of the site's energy assets, and their kWh by role for the site's energy balance. A
    battery's feeder meter is read with its battery and is no grid connection: it is left out of
    grid import / export (its energy is the battery's charge / discharge)."""
    parts = SiteEnergyParts()
    covs: list[Coverage] = []
    mets = [a for a in site.energy_assets if a.kind == "met_station"]
    met_key = AssetKey(ent.id, site.id, mets[0].area, mets[0].id) if mets else None
    met = ctx.data.energy.get(met_key) if met_key else None
    met_obs = _observed(ctx, met) if met else SpanSet()
    feeders = site.sub_meters  # battery feeders and line sub-meters: inside the site, not its connection
    for asset in site.energy_assets:
        key = AssetKey(ent.id, site.id, asset.area, asset.id)
        series = ctx.data.energy.get(key)
        if series is None and asset.kind == "battery" and asset.feeder_meter is not None:
            series = EnergySeries(key, asset.kind, ())  # no SoC, but the meter still has its energy
        if series is None or asset.kind == "met_station" or asset.id in feeders:
            continue
        obs = _observed(ctx, series)
        tags: dict[str, str] = {Tag.ENTERPRISE: ent.id, Tag.SITE: site.id, Tag.AREA: asset.area, Tag.ASSET: asset.id}
        if asset.kind == "pv_inverter":
            res = pv_kpis(series, asset, ctx.window, observed=obs, met=met, met_observed=met_obs, s=ctx.energy)
            ctx.add(KPI_PV, tags, res)
            parts = parts_add(parts, generation_kwh=energy_kpi_total(res[0]) if asset.behind_meter else 0.0)
        elif asset.kind == "wind_turbine":
            res = wind_kpis(series, asset, ctx.master, ctx.window, observed=obs, s=ctx.energy)
            ctx.add(KPI_WIND, tags, res)
            parts = parts_add(parts, generation_kwh=energy_kpi_total(res[0]) if asset.behind_meter else 0.0)
        elif asset.kind == "battery":
            res = battery_kpis(series, asset, ctx.window, observed=obs, s=ctx.energy,
                               feeder=_feeder(ctx, ent, site, asset))
            ctx.add(KPI_BATTERY, tags, res)
            parts = parts_add(parts, battery_charge_kwh=res[0]["charge_kwh"] or 0.0,
                              battery_discharge_kwh=res[0]["discharge_kwh"] or 0.0)
        else:  # grid meter
            win = SpanSet((ctx.window.span,))
            imp = counter(series, METER_IMPORT_WH, asset).amount_in(win) / 1000.0  # counters: all of it
            exp = counter(series, METER_EXPORT_WH, asset).amount_in(win) / 1000.0
            parts = parts_add(parts, grid_import_kwh=imp, grid_export_kwh=exp, meters=1)
            res = []
            covs.append(Coverage(obs.intersect(win).total_s, ctx.window.duration_s))
        covs += [r.coverage for r in res]
    return SiteEnergyParts(parts.grid_import_kwh, parts.grid_export_kwh, parts.generation_kwh,
                           parts.battery_charge_kwh, parts.battery_discharge_kwh, weakest(covs), parts.meters)


def _line_energy(ctx: _Ctx, ent: Enterprise, site: Site, line: Line, pieces: int) -> None:
    """The line's ``kpi_line_energy`` point when it has sub-meters (kWh per piece per line)."""
    subs = []
    for asset in site.line_meters(line.id):
        series = ctx.data.energy.get(AssetKey(ent.id, site.id, asset.area, asset.id))
        subs.append(SubMeter(asset, series, _observed(ctx, series) if series is not None else SpanSet()))
    if subs:
        ctx.add(KPI_LINE_ENERGY, {Tag.ENTERPRISE: ent.id, Tag.SITE: site.id, Tag.LINE: line.id},
                [line_energy(subs, pieces, ctx.window, s=ctx.energy)])


def parts_add(p: SiteEnergyParts, **add: float) -> SiteEnergyParts:
    values = {name: getattr(p, name) + add.get(name, 0) for name in
              ("grid_import_kwh", "grid_export_kwh", "generation_kwh", "battery_charge_kwh",
               "battery_discharge_kwh", "meters")}
    return SiteEnergyParts(coverage=p.coverage, **values)


def _enterprise(ctx: _Ctx, ent: Enterprise) -> None:
    cal = ShiftCalendar.for_enterprise(ctx.master, ent)
    planned = planned_spans(cal, ctx.window)
    thr = ctx.master.kpi.coverage_threshold
    for site in ent.sites:
        by_line: dict[str, int] = {}
        for line in site.lines:
            by_line[line.id] = _line(ctx, ent, site, line, planned)
            _line_energy(ctx, ent, site, line, by_line[line.id])
        pieces = sum(by_line.values())
        parts = _site_energy(ctx, ent, site)
        if ctx.green is not None:
            ctx.green.collect(ent, site, ctx.data, pieces=by_line, coverage=parts.coverage)
        if parts.meters == 0:
            continue
        energy = SiteEnergy(grid_import_kwh=parts.grid_import_kwh, grid_export_kwh=parts.grid_export_kwh,
                            generation_kwh=parts.generation_kwh, battery_charge_kwh=parts.battery_charge_kwh,
                            battery_discharge_kwh=parts.battery_discharge_kwh)
        result = factory_energy_kpi(energy, pieces, ctx.window, coverage=parts.coverage, coverage_threshold=thr)
        ctx.add(KPI_FACTORY_ENERGY, {Tag.ENTERPRISE: ent.id, Tag.SITE: site.id}, [result])


def _green(master: MasterData, window: Window, energy: EnergySettings,
           ledger: CertificateLedger | None) -> GreenCollector | None:
    """The window's green attribution when the master data has one: clock hours in the zone of
    the first source's enterprise."""
    if master.green is None:
        return None
    ents = {e.id: e for e in master.enterprises}
    zone = next((ents[s.enterprise].tz for s in master.green.sources if s.enterprise in ents), None)
    if zone is None:  # no source in this computation: nothing to attribute
        return None
    return GreenCollector(master.green, window, zone, energy, ledger)


def compute_window(
    source: WindowSource,
    master: MasterData,
    window: Window,
    *,
    label: str = "custom",
    shift: str | None = None,
    energy: EnergySettings | None = None,
    batch_machines: int = DEFAULT_BATCH_MACHINES,
    green_ledger: CertificateLedger | None = None,
) -> WindowReport:
    """All KPI points of ``window`` (tag ``window=label``, and ``shift`` when given); with master
    data ``green``, the sites' green energy and the lines' carbon too (see :mod:`rules.green_kpi`)."""
    before = source.statements
    es = energy or EnergySettings(coverage_threshold=master.kpi.coverage_threshold)
    base: dict[str, str] = {Tag.WINDOW: label, **({Tag.SHIFT: shift} if shift else {})}
    points: list[KpiPoint] = []
    warnings: list[str] = []
    machines = assets = 0
    green = _green(master, window, es, green_ledger)
    from_sums, refused = 0, Counter[str]()
    for group in batches(master, batch_machines):
        kinds = {a.kind for e in group for s in e.sites for a in s.energy_assets}
        if isinstance(source, InfluxSource) and source.settings.aggregate_path:
            read = read_batch(source, master, group, window, energy_kinds=kinds)
            data, totals = read.data, read.totals
            refused.update(read.refused)
        else:
            data, totals = source.fetch([e.id for e in group], window, energy_kinds=kinds), {}
        ctx = _Ctx(master, window, data, base, es, green, totals=totals)
        for ent in group:
            _enterprise(ctx, ent)
        from_sums += len(totals)
        unknown = sorted((set(data.machines) | set(totals)) - ctx.seen)
        if unknown:  # telemetry from machines on no line of the master data: counted, not guessed
            ctx.warnings.append(f"{len(unknown)} machines send data but are on no line, e.g. {unknown[0]}")
        points += ctx.points
        warnings += ctx.warnings
        machines += sum(1 for p in ctx.points if p.measurement == KPI_MACHINE.name)
        assets += len(data.energy)
    if green is not None:
        found, notes = green.points(base, coverage_threshold=master.kpi.coverage_threshold)
        points += found
        warnings += notes
    low = sum(1 for p in points if p.get(Field.LOW_COVERAGE) is True)
    return WindowReport(window, label, tuple(points), source.statements - before, machines, assets, low,
                        tuple(warnings), from_sums, tuple(sorted(refused.items())))

