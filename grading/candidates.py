"""What the scoring sees of each enterprise (pure): its figures for the period — or, between
finance reports, those of its latest earlier period — annualised, with the metered energy.

* flows (``method.flows``) are scaled to a year: × days of the year / days of the row's period;
* ``energy_kwh``: the meters' kWh of the period (nowcast while it runs), annualised; where no
  meter measured, the inputs' ``energy_kwh`` column if given;
* ``energy_tce`` = ``energy_kwh`` × ``electricity_kgce_per_kwh`` / 1000 + ``other_energy_tce``;
* ``land_mu`` missing in the row: the master data's ``land_area_mu``.

Estimated (marked on every indicator that reads them): all flows of a row borrowed from an
earlier period, and the energy of a nowcast.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from seamline.grading.energy import PeriodEnergy, kwh_to_tce
from seamline.grading.inputs import CountyInputs
from seamline.grading.method import ENERGY_KWH, ENERGY_TCE, LAND_MU, OTHER_ENERGY_TCE, Method
from seamline.grading.period import Period
from seamline.grading.scoring import Candidate


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where an enterprise's figures came from, for the report."""

    enterprise: str
    inputs_period: str
    inputs_estimated: bool
    energy_source: str  # "meters", "meters (nowcast d/n days)", "inputs", "none"
    energy_kwh: float | None  # of the period (not annualised)
    energy_tce: float | None  # of the period
    measured_days: int


def _energy(method: Method, values: dict[str, float], period: Period, measured: PeriodEnergy | None,
            estimated: set[str]) -> tuple[str, float | None]:
    """Sets annualised ``energy_kwh``/``energy_tce`` in ``values``; returns (source, period kWh)."""
    if measured is not None and measured.kwh is not None:
        kwh, source = measured.kwh, "meters"
        if measured.estimated:
            source = f"meters (nowcast from {measured.measured_days}/{measured.period_days} days)"
            estimated |= {ENERGY_KWH, ENERGY_TCE}
        values[ENERGY_KWH] = kwh * period.annualise
    elif ENERGY_KWH in values:
        source, kwh = "inputs", values[ENERGY_KWH] / period.annualise
    else:
        values.pop(ENERGY_KWH, None)
        return "none", None
    values[ENERGY_TCE] = kwh_to_tce(values[ENERGY_KWH], method.electricity_kgce_per_kwh) + values.get(
        OTHER_ENERGY_TCE, 0.0)
    return source, kwh


def build_candidates(method: Method, inputs: CountyInputs, period: Period, energy: Mapping[str, PeriodEnergy],
                     land_mu: Mapping[str, float]) -> tuple[list[Candidate], list[Provenance], list[str]]:
    """(candidates, where their figures came from, notes on enterprises left out)."""
    candidates, provenance, notes = [], [], []
    flows = set(method.flows) - {ENERGY_KWH, ENERGY_TCE}
    for ent in inputs.enterprises:
        row, own = inputs.latest(ent, period)
        if row is None:
            notes.append(f"{ent}: no figures for {period} or an earlier period: not graded")
            continue
        factor = row.period.annualise
        values = {k: v * factor if k in flows else v for k, v in row.values.items()}
        if ENERGY_KWH in row.values:  # the file's kWh are of the row's period, like any flow
            values[ENERGY_KWH] = row.values[ENERGY_KWH] * factor
        if LAND_MU not in values and ent in land_mu:
            values[LAND_MU] = land_mu[ent]
        estimated = set() if own else set(flows)
        source, kwh = _energy(method, values, period, energy.get(ent), estimated)
        candidates.append(Candidate(ent, row.name, values, frozenset(estimated)))
        m = energy.get(ent)
        tce = values[ENERGY_TCE] / period.annualise if ENERGY_TCE in values else None
        provenance.append(Provenance(ent, row.period.text, not own, source, kwh, tce, m.measured_days if m else 0))
    return candidates, provenance, notes
