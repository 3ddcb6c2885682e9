"""The grade (enterprise-level) and carbon (line-level) messages: their topics, round trips, and bad
payloads rejected by the model and by the published JSON Schema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from seamline.contracts.carbon import CarbonMessage
from seamline.contracts.examples import examples
from seamline.contracts.grades import GradeMessage
from seamline.contracts.schema import schema_of
from seamline.contracts.topic import ENTERPRISE_LEVEL, MessageKind, Topic, TopicError, matches, subscription


def example(kind: MessageKind) -> dict[str, Any]:
    (payload,) = [p for t, p in examples() if t.kind is kind]
    doc: dict[str, Any] = json.loads(payload.model_dump_json(exclude_none=True))
    return doc


def validator(kind: MessageKind) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema_of(kind), format_checker=jsonschema.FormatChecker())


def test_grade_sits_on_the_enterprise_level_topic() -> None:
    (topic,) = [t for t, _ in examples() if t.kind is MessageKind.GRADE]
    assert str(topic) == "seamline/v1/f001/_enterprise/_enterprise/_enterprise/grade"
    assert Topic.parse(str(topic)) == topic
    # no gateway's grant on its own site covers it, and the platform subscribes to all grades
    assert not matches("seamline/v1/f001/s1/#", str(topic))
    wildcard = subscription(site=ENTERPRISE_LEVEL, area=ENTERPRISE_LEVEL, asset=ENTERPRISE_LEVEL,
                            kind=MessageKind.GRADE)
    assert matches(wildcard, str(topic))


@pytest.mark.parametrize(("site", "area", "asset"), [
    ("_enterprise", "line01", "_line"), ("s1", "_enterprise", "_enterprise"), ("_enterprise", "_enterprise", "m1"),
    ("_ent", "_enterprise", "_enterprise"),
])
def test_enterprise_level_is_all_three_levels_or_none(site: str, area: str, asset: str) -> None:
    with pytest.raises(TopicError):
        Topic(enterprise="f001", site=site, area=area, asset=asset, kind=MessageKind.GRADE)


def test_carbon_sits_on_the_line_topic() -> None:
    (topic,) = [t for t, _ in examples() if t.kind is MessageKind.CARBON]
    doc = example(MessageKind.CARBON)
    assert topic == Topic.line(enterprise=doc["enterprise"], site=doc["site"], line=doc["line"],
                               kind=MessageKind.CARBON)


def test_grade_and_carbon_round_trip() -> None:
    g = GradeMessage.model_validate(example(MessageKind.GRADE))
    assert GradeMessage.model_validate_json(g.model_dump_json()) == g
    assert g.indicators[0].score == pytest.approx(14.0 / 15.0 * 40.0, abs=0.01)
    c = CarbonMessage.model_validate(example(MessageKind.CARBON))
    assert CarbonMessage.model_validate_json(c.model_dump_json()) == c


@pytest.mark.parametrize(("change", "where"), [
    ({"period": "2026Q5"}, "period"), ({"period": "26Q3"}, "period"), ({"period": "2026-13"}, "period"),
    ({"rank": 0}, "rank"), ({"grade": ""}, "grade"), ({"energy_kwh": -1.0}, "energy_kwh"),
    ({"schema_version": 2}, "schema_version"), ({"extra": 1}, "extra"),
    ({"indicators": [{"indicator": "x", "label": "x", "unit": "", "value": 1.0, "benchmark": 0.0, "weight": 1.0,
                      "score": 1.0, "estimated": False}]}, "benchmark"),
])
def test_bad_grades_rejected_by_model_and_schema(change: dict[str, Any], where: str) -> None:
    doc = example(MessageKind.GRADE) | change
    with pytest.raises(ValidationError, match=where):
        GradeMessage.model_validate(doc)
    with pytest.raises(jsonschema.ValidationError):
        validator(MessageKind.GRADE).validate(doc)


@pytest.mark.parametrize("period", ["2026", "2026H1", "2026H2", "2026Q1", "2026Q4", "2026-01", "2026-12"])
def test_every_period_form_is_accepted(period: str) -> None:
    doc = example(MessageKind.GRADE) | {"period": period}
    assert GradeMessage.model_validate(doc).period == period
    validator(MessageKind.GRADE).validate(doc)


DAY = {"day": "2025-11-27", "pieces": 10, "grid_kwh": 1.0, "co2e_kg": 0.57, "co2e_kg_per_piece": 0.057,
       "green_share": 0.5}


@pytest.mark.parametrize(("change", "where"), [
    ({"green_share": 1.2}, "green_share"), ({"co2e_kg_per_piece": -0.1}, "co2e_kg_per_piece"),
    ({"grid_emission_factor_kg_per_kwh": 0.0}, "grid_emission_factor_kg_per_kwh"),
    ({"days": [DAY | {"pieces": -1}]}, "pieces"), ({"days": [DAY | {"green_share": 2.0}]}, "green_share"),
])
def test_bad_carbon_rejected_by_model_and_schema(change: dict[str, Any], where: str) -> None:
    doc = example(MessageKind.CARBON) | change
    with pytest.raises(ValidationError, match=where):
        CarbonMessage.model_validate(doc)
    with pytest.raises(jsonschema.ValidationError):
        validator(MessageKind.CARBON).validate(doc)


def test_carbon_days_ascending() -> None:
    with pytest.raises(ValidationError, match="strictly ascending"):
        CarbonMessage.model_validate(example(MessageKind.CARBON) | {"days": [DAY, DAY]})
