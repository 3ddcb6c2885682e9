"""Does a condition name what storage has? (measurement, field, state) - checked at config load."""

from __future__ import annotations

from seamline.contracts.assets import AssetKind, metric_specs
from seamline.contracts.messages import GatewayState, MachineState
from seamline.rules.alerts.conditions import (
    AbsenceCondition,
    KpiCondition,
    MetricCondition,
    OrderAtRiskCondition,
    StateDurationCondition,
)
from seamline.storage.schema import ALL_MEASUREMENTS, INGEST_SELF, Retention

MACHINE = "machine"
KPI_PREFIX = "kpi_"


def _kinds() -> set[str]:
    return {k.value for k in AssetKind}


def _metric_problem(c: MetricCondition) -> str | None:
    if c.measurement == INGEST_SELF.name:
        family = c.field.endswith("*")
        ok = c.field[:-1] in INGEST_SELF.families if family else INGEST_SELF.has_field(c.field)
        return None if ok else f"{INGEST_SELF.name} has no field {c.field!r}"
    if c.measurement not in _kinds():
        return f"measurement {c.measurement!r}: expected an asset kind {sorted(_kinds())} or {INGEST_SELF.name}"
    if c.field not in metric_specs(AssetKind(c.measurement)):
        return f"{c.measurement} has no metric {c.field!r}; known: {sorted(metric_specs(AssetKind(c.measurement)))}"
    return None


def condition_problem(
    c: KpiCondition | MetricCondition | StateDurationCondition | AbsenceCondition | OrderAtRiskCondition,
) -> str | None:
    """What is wrong with ``c`` against the storage schema and contracts, or None."""
    if isinstance(c, KpiCondition):
        m = ALL_MEASUREMENTS.get(c.measurement)
        if m is None or m.retention is not Retention.KPI:
            kpis = sorted(n for n, x in ALL_MEASUREMENTS.items()
                          if x.retention is Retention.KPI and n.startswith(KPI_PREFIX))
            return f"measurement {c.measurement!r}: expected one of {kpis}"
        return None if m.has_field(c.field) else f"{c.measurement} has no field {c.field!r}"
    if isinstance(c, MetricCondition):
        return _metric_problem(c)
    if isinstance(c, StateDurationCondition):
        states = {s.value for s in (MachineState if c.subject == MACHINE else GatewayState)}
        return None if c.state in states else f"state {c.state!r}: expected one of {sorted(states)}"
    if isinstance(c, AbsenceCondition):
        bad = sorted(set(c.asset_kinds) - _kinds())
        return f"asset_kinds {bad}: expected asset kinds {sorted(_kinds())}" if bad else None
    return None
