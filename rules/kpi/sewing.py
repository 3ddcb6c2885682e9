"""Sewing-machine and line KPIs from per-machine totals: utilization, availability, MTBF/MTTR,
earned minutes, line efficiency and OEE.

The formulas here never see a state event or an aggregate: they consume :class:`MachineTotals`
(one machine's seconds and pieces in one window, see :mod:`rules.machine_kpi` for how they are
obtained) and :class:`LineTotals` (their sums over a line). Times are seconds in, minutes out
(``*_min``); SAM is standard minutes per piece. Ratios use the planned time that was observed
(``planned ∩ observed``) as denominator, so missing data lowers the coverage, never the ratio.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from seamline.contracts.messages import Quality
from seamline.rules.coverage import Coverage, Observation, coverage_of
from seamline.rules.kpi.result import Flag, KpiResult, KpiValue, build, ratio
from seamline.rules.spans import SpanSet
from seamline.rules.windows import Window


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One edge aggregate (``SewingMachineMetrics`` with ``period_s``): seconds per state, pieces."""

    ts_s: float
    period_s: float
    run_s: float = 0.0
    idle_s: float = 0.0
    off_s: float = 0.0
    down_s: float = 0.0
    pieces: int = 0
    rejects: int = 0
    quality: Quality = Quality.GOOD
    # pieces the counter says were made during a data gap before this aggregate (real output,
    # unobserved time): line efficiency counts them, OEE performance (over observed time) not
    pieces_unobserved: int = 0
    unobserved_s: float = 0.0  # length of the data gap those pieces were made in (ends at ts_s)

    def observation(self) -> Observation:
        return Observation(ts_s=self.ts_s, quality=self.quality, period_s=self.period_s)


@dataclass(frozen=True, slots=True, kw_only=True)
class MachineTotals:
    """One machine's seconds and pieces in one window: everything its KPIs and its line's need.

    ``run_s``/``idle_s``/``off_s``/``down_s`` are the observed time of the window by state;
    ``run_planned_s``, ``operating_s`` and ``stop_s`` lie in planned ∩ observed time (operating
    and stops: :mod:`rules.kpi.operating_time`). ``downtime_s`` is seconds per reason
    (breakdown reasons, ``stop[.<reason>]``) in observed window time, in report order."""

    window_s: float
    observed_s: float  # window ∩ observed
    planned_s: float  # window ∩ planned
    planned_observed_s: float  # window ∩ planned ∩ observed: the denominator of every ratio
    run_s: float = 0.0
    idle_s: float = 0.0
    off_s: float = 0.0
    down_s: float = 0.0
    run_planned_s: float = 0.0
    operating_s: float = 0.0
    stop_s: float = 0.0
    breakdowns: int = 0  # transitions into ``down`` inside the window
    good_pieces: int = 0  # finished in observed periods
    rejects: int = 0
    unobserved_pieces: int = 0  # counted across data gaps inside the window
    downtime_s: tuple[tuple[str, float], ...] = ()

    @property
    def coverage(self) -> Coverage:
        """Observed share of planned time (of the window when nothing was planned)."""
        if self.planned_s > 0:
            return Coverage(observed_s=self.planned_observed_s, basis_s=self.planned_s)
        return Coverage(observed_s=self.observed_s, basis_s=self.window_s)


def machine_time_kpi(t: MachineTotals, window: Window, *, coverage_threshold: float) -> KpiResult:
    """Minutes per state, utilization = needle run / (planned ∩ observed), operating and stop
    minutes, availability = operating / (planned ∩ observed), breakdowns, MTBF = run minutes /
    breakdowns, MTTR = down minutes / breakdowns (``None`` and ``no_events`` without breakdowns),
    pieces. Coverage: :attr:`MachineTotals.coverage`."""
    util, _ = ratio("utilization", t.run_planned_s, t.planned_observed_s)
    avail, _ = ratio("availability", t.operating_s, t.planned_observed_s)
    run_min, down_min, failures = t.run_s / 60, t.down_s / 60, t.breakdowns
    values = [
        KpiValue("run_min", "min", run_min), KpiValue("idle_min", "min", t.idle_s / 60),
        KpiValue("off_min", "min", t.off_s / 60), KpiValue("down_min", "min", down_min),
        KpiValue("unobserved_min", "min", (t.window_s - t.observed_s) / 60),
        KpiValue("planned_min", "min", t.planned_s / 60),
        KpiValue("planned_observed_min", "min", t.planned_observed_s / 60), util,
        KpiValue("operating_min", "min", t.operating_s / 60), KpiValue("stop_min", "min", t.stop_s / 60), avail,
        KpiValue("breakdowns", "count", float(failures)),
        KpiValue("mtbf_min", "min", run_min / failures if failures else None),
        KpiValue("mttr_min", "min", down_min / failures if failures else None),
        KpiValue("pieces", "pieces", float(t.good_pieces)), KpiValue("rejects", "pieces", float(t.rejects)),
        KpiValue("unobserved_pieces", "pieces", float(t.unobserved_pieces)),
    ]
    flags = [] if failures else [Flag.NO_EVENTS]
    if t.planned_s <= 0:
        flags.append(Flag.NO_PLANNED_TIME)
    return build("machine_time", window, t.coverage, values, flags, coverage_threshold=coverage_threshold)


@dataclass(frozen=True, slots=True, kw_only=True)
class LineTotals:
    """A line's sums (seconds): needle run, operating, stop and planned ∩ observed time of all
    its machines; pieces of its output machines."""

    run_planned_s: float
    operating_s: float
    stop_s: float
    planned_observed_s: float
    good_pieces: int
    rejects: int
    unobserved_pieces: int

    @classmethod
    def of(cls, machines: Sequence[MachineTotals], outputs: Sequence[MachineTotals]) -> LineTotals:
        return cls(run_planned_s=sum(m.run_planned_s for m in machines),
                   operating_s=sum(m.operating_s for m in machines), stop_s=sum(m.stop_s for m in machines),
                   planned_observed_s=sum(m.planned_observed_s for m in machines),
                   good_pieces=sum(m.good_pieces for m in outputs), rejects=sum(m.rejects for m in outputs),
                   unobserved_pieces=sum(m.unobserved_pieces for m in outputs))


def line_oee_kpi(t: LineTotals, window: Window, *, sam_min: float, coverage: Coverage,
                 coverage_threshold: float) -> KpiResult:
    """:func:`oee` over the line's totals (pieces of the observed periods only), with line
    utilization = Σ needle run / Σ (planned ∩ observed), operating and stop minutes."""
    o = oee(operating_s=t.operating_s, planned_s=t.planned_observed_s, total_pieces=t.good_pieces + t.rejects,
            good_pieces=t.good_pieces, sam_min=sam_min)
    util, _ = ratio("utilization", t.run_planned_s, t.planned_observed_s)
    values = (o.availability, o.performance, o.quality, o.oee, util,
              KpiValue("operating_min", "min", t.operating_s / 60), KpiValue("stop_min", "min", t.stop_s / 60))
    return build("oee", window, coverage, values, [Flag.CLIPPED] if o.clipped else [],
                 coverage_threshold=coverage_threshold)


def line_output_kpi(t: LineTotals, window: Window, *, coverage: Coverage, coverage_threshold: float) -> KpiResult:
    """Good pieces and utilization of a line without a style (no SAM: no efficiency, no OEE)."""
    util, _ = ratio("utilization", t.run_planned_s, t.planned_observed_s)
    values = (KpiValue("good_pieces", "pieces", float(t.good_pieces)), util)
    return build("line_output", window, coverage, values, coverage_threshold=coverage_threshold)


def earned_minutes(good_pieces: float, sam_min: float) -> float:
    """Earned standard minutes = good pieces × SAM (standard minutes per piece)."""
    return good_pieces * sam_min


def line_efficiency(good_pieces: float, sam_min: float, operators: int, minutes_worked: float) -> float | None:
    """Earned minutes / (operators × minutes worked), a fraction (not clipped: >1 is possible
    when SAMs are loose). ``None`` when nobody worked."""
    available = operators * minutes_worked
    if available <= 0:
        return None
    return earned_minutes(good_pieces, sam_min) / available


def line_efficiency_kpi(
    window: Window,
    *,
    good_pieces: int,
    sam_min: float,
    operators: int,
    planned: SpanSet,
    observed: SpanSet,
    coverage_threshold: float,
    unobserved_pieces: int | None = None,
    bridged: SpanSet | None = None,
) -> KpiResult:
    """Line efficiency = earned minutes / (operators × minutes worked), minutes worked = planned ∩
    (observed ∪ ``bridged``).

    ``bridged``: data gaps across which the machines' counters caught up (``unobserved_pieces``
    were made in them): their pieces and their minutes both count, so a gateway outage lowers the
    coverage, not the efficiency. Time with no data and no counter after it counts neither way —
    missing data shrinks both, never the ratio. ``coverage`` is the observed share only."""
    win = SpanSet((window.span,))
    planned_w = planned.intersect(win)
    worked_min = planned_w.intersect(observed.union(bridged or SpanSet())).total_s / 60
    good_pieces += unobserved_pieces or 0
    eff = line_efficiency(good_pieces, sam_min, operators, worked_min)
    values = (
        KpiValue("good_pieces", "pieces", float(good_pieces)),
        KpiValue("unobserved_pieces", "pieces", None if unobserved_pieces is None else float(unobserved_pieces)),
        KpiValue("earned_min", "std_min", earned_minutes(good_pieces, sam_min)),
        KpiValue("minutes_worked", "min", worked_min),
        KpiValue("line_efficiency", "fraction", eff, eff),
    )
    flags = [] if planned_w else [Flag.NO_PLANNED_TIME]
    return build("line_efficiency", window, coverage_of(observed.intersect(win), planned_w), values, flags,
                 coverage_threshold=coverage_threshold)


@dataclass(frozen=True, slots=True)
class Oee:
    availability: KpiValue
    performance: KpiValue
    quality: KpiValue
    oee: KpiValue
    clipped: bool


def oee(*, operating_s: float, planned_s: float, total_pieces: int, good_pieces: int, sam_min: float) -> Oee:
    """OEE = availability × performance × quality, each clipped to [0, 1] (raw kept, ``clipped``
    says whether any factor was).

    availability = operating time / planned time (both s, see :mod:`rules.kpi.operating_time`);
    performance = total pieces × SAM (std min) / operating time — the operators' pace against the
    standard, typically 0.4–0.8; quality = good / total pieces. A factor whose denominator is 0
    is ``None``, and so is OEE.
    """
    avail, c1 = ratio("availability", operating_s, planned_s)
    perf, c2 = ratio("performance", total_pieces * sam_min * 60.0, operating_s)
    qual, c3 = ratio("quality", good_pieces, total_pieces)
    if avail.value is None or perf.value is None or qual.value is None:
        product = raw = None
    else:
        product = avail.value * perf.value * qual.value
        raw = (avail.raw or 0.0) * (perf.raw or 0.0) * (qual.raw or 0.0)
    return Oee(avail, perf, qual, KpiValue("oee", "fraction", product, raw), c1 or c2 or c3)
