"""What the conditions read, as values: a :class:`Query` per input (measurement, fields, how far
back, newest row only or all), and the :data:`Facts` an evaluation sees (the decoded series per
query). Which queries a rule needs is :func:`queries_for`; the InfluxDB I/O is
:mod:`~seamline.rules.alerts.facts`, the pure reading of them :mod:`~seamline.rules.alerts.readings`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from seamline.contracts.assets import AssetKind
from seamline.rules.alerts.conditions import (
    SHIFT,
    AbsenceCondition,
    KpiCondition,
    MetricCondition,
    OrderAtRiskCondition,
    StateDurationCondition,
)
from seamline.rules.alerts.schema_check import MACHINE
from seamline.rules.windows import WindowSize
from seamline.storage.query import Series
from seamline.storage.schema import (
    ASSET_INFO,
    CAPACITY,
    GATEWAY_STATUS,
    INGEST_SELF,
    MACHINE_STATE,
    Field,
    measurement,
    telemetry,
)

DAY_S = 86400.0
# The asset -> gateway map and the gateways' status are read for every evaluation: most rules
# need them (labels for inhibition, absence judged only while the gateway is online).
ASSET_GATEWAY_LOOKBACK_S = 31 * DAY_S
GATEWAY_LOOKBACK_S = 31 * DAY_S


@dataclass(frozen=True, slots=True)
class Query:
    """Rows of ``measurement`` in ``[as_of - back_s, as_of + ahead_s]``, ``fields`` (``family``: every
    field with that prefix); ``latest``: the newest row per series only; ``window``: KPI window tag."""

    measurement: str
    fields: tuple[str, ...]
    back_s: float
    ahead_s: float = 0.0
    latest: bool = False
    window: str | None = None
    family: str | None = None


Facts = Mapping[Query, list[Series]]

ASSET_GATEWAYS = Query(ASSET_INFO.name, (Field.GATEWAY,), ASSET_GATEWAY_LOOKBACK_S, latest=True)
GATEWAYS = Query(GATEWAY_STATUS.name, (Field.STATE, Field.REASON), GATEWAY_LOOKBACK_S, latest=True)
COMMON = (ASSET_GATEWAYS, GATEWAYS)

_CAPACITY_FIELDS = CAPACITY.fields_of("available_std_min", "booked_std_min", "confidence")


def kpi_query(c: KpiCondition) -> Query:
    # Shift points are stamped at the shift start (up to ~16 h back); hourly at the hour before.
    back = 2 * DAY_S if c.window in (WindowSize.DAY.value, SHIFT) else 3 * 3600.0
    return Query(c.measurement, measurement(c.measurement).fields_of(c.field, Field.COVERAGE), back,
                 latest=True, window=c.window)


def metric_query(c: MetricCondition) -> Query:
    if c.field.endswith("*"):
        return Query(c.measurement, (), c.lookback_s, family=c.field[:-1])
    return Query(c.measurement, (c.field,), c.lookback_s, latest=c.aggregate == "last")


def last_seen_query(kind: str, lookback_s: float) -> Query:
    return Query(telemetry(AssetKind(kind)).name, (Field.SEQ,), lookback_s, latest=True)


def queries_for(c: KpiCondition | MetricCondition | StateDurationCondition | AbsenceCondition
                | OrderAtRiskCondition) -> list[Query]:
    """The queries condition ``c`` reads (besides :data:`COMMON`)."""
    if isinstance(c, KpiCondition):
        return [kpi_query(c)]
    if isinstance(c, MetricCondition):
        return [metric_query(c)]
    if isinstance(c, StateDurationCondition):
        if c.subject == MACHINE:
            return [Query(MACHINE_STATE.name, (Field.STATE, Field.REASON), c.lookback_s, latest=True)]
        return []  # gateways: COMMON
    if isinstance(c, AbsenceCondition):
        return [last_seen_query(k, c.lookback_s) for k in c.asset_kinds]
    return [Query(CAPACITY.name, _CAPACITY_FIELDS, 2 * DAY_S, ahead_s=(c.days_ahead + 1) * DAY_S)]


def is_platform(q: Query) -> bool:
    """Ingest's self-metrics are tagged by worker, not enterprise: read once, for the platform."""
    return q.measurement == INGEST_SELF.name
