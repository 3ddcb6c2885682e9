"""Grades out of the process: one ``grade`` point per enterprise into the KPI retention policy (for
dashboards) and one retained :class:`~seamline.contracts.grades.GradeMessage` per enterprise on
``seamline/v1/<enterprise>/_enterprise/_enterprise/_enterprise/grade`` (for the platform).

A point's identity is (enterprise, period, method) at the period's local start: grading the same
period again overwrites it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time
from zoneinfo import ZoneInfo

from seamline.contracts.grades import AdjustmentScore, GradeMessage, GradeStep, IndicatorScore
from seamline.contracts.topic import MessageKind, Topic
from seamline.grading.candidates import Provenance
from seamline.grading.period import Period
from seamline.grading.scoring import GradeResult
from seamline.rules.kpi_points import FieldValue, KpiPoint
from seamline.storage.schema import GRADE, Field, Tag

# Advice is a line of text in a dashboard table; the point stays small.
MAX_ADVICE_CHARS = 500


def grade_point(result: GradeResult, period: Period, method_id: str, tz: ZoneInfo,
                provenance: Provenance | None) -> KpiPoint:
    """The ``grade`` point of one enterprise (names checked against the storage schema)."""
    fields: dict[str, FieldValue] = {
        Field.GRADE: result.grade, Field.SCORE: float(result.score), Field.RANK: float(result.rank),
        Field.ESTIMATED: result.estimated or bool(provenance and provenance.inputs_estimated),
        GRADE.field("ranked"): float(result.ranked), GRADE.field("grade_index"): float(result.grade_index),
        GRADE.field("variant"): result.variant, GRADE.field("period_days"): float(period.days),
        GRADE.field("advice"): result.advice[:MAX_ADVICE_CHARS],
    }
    if provenance is not None:
        fields[GRADE.field("energy_days")] = float(provenance.measured_days)
        if provenance.energy_kwh is not None:
            fields[GRADE.field("energy_kwh")] = float(provenance.energy_kwh)
        if provenance.energy_tce is not None:
            fields[GRADE.field("energy_tce")] = float(provenance.energy_tce)
    for ind in result.indicators:
        if ind.value is not None:
            fields[GRADE.field(f"value_{ind.indicator}")] = float(ind.value)
        fields[GRADE.field(f"score_{ind.indicator}")] = float(ind.score)
    for adj in result.adjustments:
        fields[GRADE.field(f"adjust_{adj.adjustment}")] = float(adj.points)
    tags = {Tag.ENTERPRISE: result.enterprise, Tag.PERIOD: period.text, Tag.METHOD: method_id}
    GRADE.check(tags=tags, fields=fields)
    ts_ms = int(datetime.combine(period.start, time(0), tzinfo=tz).timestamp() * 1000)
    return KpiPoint(GRADE.name, tuple(sorted(tags.items())), ts_ms, tuple(sorted(fields.items())))


def grade_message(result: GradeResult, period: Period, method_id: str, *, now_ms: int,
                  provenance: Provenance | None) -> GradeMessage:
    return GradeMessage(
        enterprise=result.enterprise, period=period.text, method=method_id, generated_ts_ms=now_ms,
        grade=result.grade, grade_index=result.grade_index, score=round(result.score, 6), rank=result.rank,
        ranked=result.ranked, variant=result.variant,
        estimated=result.estimated or bool(provenance and provenance.inputs_estimated),
        energy_kwh=provenance.energy_kwh if provenance else None,
        energy_tce=provenance.energy_tce if provenance else None,
        indicators=[IndicatorScore(indicator=i.indicator, label=i.label, unit=i.unit, value=i.value,
                                   benchmark=i.benchmark, weight=i.weight, score=round(i.score, 6),
                                   estimated=i.estimated) for i in result.indicators],
        adjustments=[AdjustmentScore(adjustment=a.adjustment, label=a.label, points=a.points)
                     for a in result.adjustments],
        next_grade=[GradeStep(indicator=s.indicator, label=s.label, change_pct=s.change_pct,
                              target_value=s.target_value, to_grade=s.to_grade) for s in result.next_grade],
    )


def grade_topic(enterprise: str) -> str:
    return str(Topic.enterprise_level(enterprise=enterprise, kind=MessageKind.GRADE))


def messages(results: Sequence[GradeResult], period: Period, method_id: str, *, now_ms: int,
             provenance: Mapping[str, Provenance]) -> list[GradeMessage]:
    return [grade_message(r, period, method_id, now_ms=now_ms, provenance=provenance.get(r.enterprise))
            for r in results]
