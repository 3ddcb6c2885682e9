"""The platform messages (capacity, allocation, bookings) and the JSON Schemas of every kind: the
documented examples round-trip and validate against their published schema; bad payloads are
rejected by the model and, where JSON Schema can say it, by the schema too."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from seamline.contracts.examples import examples
from seamline.contracts.messages import (
    MAX_ALLOCATION_ENTRIES,
    AllocationMessage,
    BookedDay,
    BookingsMessage,
)
from seamline.contracts.schema import SCHEMAS, schema_of, write_schemas
from seamline.contracts.topic import LINE_ASSET, MessageKind, Topic

TS = 1_764_291_600_000


def validator(kind: MessageKind) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema_of(kind), format_checker=jsonschema.FormatChecker())


def example(kind: MessageKind) -> dict[str, Any]:
    (payload,) = [p for t, p in examples() if t.kind is kind]
    doc: dict[str, Any] = json.loads(payload.model_dump_json(exclude_none=True))
    return doc


def bookings(**overrides: Any) -> dict[str, Any]:
    return example(MessageKind.BOOKINGS) | overrides


def allocation(**overrides: Any) -> dict[str, Any]:
    return example(MessageKind.ALLOCATION) | overrides


def test_every_message_kind_has_a_schema() -> None:
    assert set(SCHEMAS) == set(MessageKind)


def test_write_schemas_writes_all_twelve(tmp_path: Any) -> None:
    names = sorted(p.name for p in write_schemas(tmp_path))
    assert names == sorted(f"{k}.schema.json" for k in ("data", "state", "birth", "status", "capacity",
                                                           "allocation", "bookings", "grade", "carbon",
                                                           "confirm", "resend", "lost"))
    bookings_schema = json.loads((tmp_path / "bookings.schema.json").read_text())
    assert bookings_schema["$id"].endswith("/v1/bookings.json") and "plan_id" in bookings_schema["required"]


@pytest.mark.parametrize("kind", list(MessageKind))
def test_every_example_validates_against_its_published_schema(kind: MessageKind) -> None:
    validator(kind).validate(example(kind))


@pytest.mark.parametrize("kind", [MessageKind.CAPACITY, MessageKind.ALLOCATION, MessageKind.BOOKINGS])
def test_platform_messages_sit_on_their_line_topic(kind: MessageKind) -> None:
    (topic,) = [t for t, _ in examples() if t.kind is kind]
    doc = example(kind)
    assert topic == Topic.line(enterprise=doc["enterprise"], site=doc["site"], line=doc["line"], kind=kind)
    assert str(topic) == f"seamline/v1/f001/s1/line01/{LINE_ASSET}/{kind.value}"


def test_bookings_round_trip_and_total() -> None:
    msg = BookingsMessage.model_validate(bookings())
    assert BookingsMessage.model_validate_json(msg.model_dump_json()) == msg
    assert msg.std_min == pytest.approx(2600.0 + 396.5)
    assert [d.day for d in msg.days] == [date(2025, 11, 29), date(2025, 11, 30)]


def test_empty_bookings_are_valid_they_clear_a_line() -> None:
    msg = BookingsMessage.model_validate(bookings(days=[]))
    assert msg.days == [] and msg.std_min == 0
    validator(MessageKind.BOOKINGS).validate(bookings(days=[]))


def test_allocation_round_trip() -> None:
    msg = AllocationMessage.model_validate(allocation())
    assert AllocationMessage.model_validate_json(msg.model_dump_json()) == msg
    assert sum(e.pieces for e in msg.entries) == 461


DAY = {"day": "2025-11-29", "std_min": 10.0}


@pytest.mark.parametrize(
    ("doc", "where"),
    [
        (bookings(schema_version=2), "schema_version"),
        (bookings(plan_id=""), "plan_id"),
        (bookings(enterprise="x" * 65), "enterprise"),
        (bookings(generated_ts_ms=0), "generated_ts_ms"),
        (bookings(days=[{"day": "2025-11-29", "std_min": -1.0}]), "std_min"),
        (bookings(days=[{"day": "29.11.2025", "std_min": 1.0}]), "day"),
        (bookings(days=[DAY | {"pieces": 3}]), "pieces"),
        (bookings(days=[DAY] * 367), "days"),
        (bookings(booked=True), "booked"),
        ({k: v for k, v in bookings().items() if k != "plan_id"}, "plan_id"),
        ({k: v for k, v in bookings().items() if k != "days"}, "days"),
    ],
)
def test_bad_bookings_rejected_by_model_and_schema(doc: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError, match=where):
        BookingsMessage.model_validate(doc)
    with pytest.raises(jsonschema.ValidationError):
        validator(MessageKind.BOOKINGS).validate(doc)


@pytest.mark.parametrize("days", [[DAY, DAY], [{"day": "2025-11-30", "std_min": 1.0}, DAY]])
def test_bookings_days_must_be_ascending_and_unique(days: list[dict[str, Any]]) -> None:
    with pytest.raises(ValidationError, match="strictly ascending"):
        BookingsMessage.model_validate(bookings(days=days))


def test_bookings_reject_nan_and_infinity() -> None:
    for bad in ("NaN", "Infinity"):
        day = f'{{"day": "2025-11-29", "std_min": {bad}}}'
        raw = json.dumps(bookings(days=[])).replace('"days": []', f'"days": [{day}]')
        with pytest.raises(ValidationError, match="std_min"):
            BookingsMessage.model_validate_json(raw)


ENTRY = example(MessageKind.ALLOCATION)["entries"][0]


@pytest.mark.parametrize(
    ("doc", "where"),
    [
        (allocation(entries=[ENTRY | {"pieces": -1}]), "pieces"),
        (allocation(entries=[ENTRY | {"pieces": 1.5}]), "pieces"),
        (allocation(entries=[ENTRY | {"std_min": -0.1}]), "std_min"),
        (allocation(entries=[ENTRY | {"category": ""}]), "category"),
        (allocation(entries=[ENTRY] * (MAX_ALLOCATION_ENTRIES + 1)), "entries"),
        (allocation(schema_version=0), "schema_version"),
        (allocation(extra="x"), "extra"),
    ],
)
def test_bad_allocations_rejected_by_model_and_schema(doc: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError, match=where):
        AllocationMessage.model_validate(doc)
    with pytest.raises(jsonschema.ValidationError):
        validator(MessageKind.ALLOCATION).validate(doc)


def test_platform_messages_are_frozen() -> None:
    msg = BookingsMessage.model_validate(bookings())
    with pytest.raises(ValidationError):
        msg.plan_id = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        BookedDay(day=date(2025, 11, 29), std_min=1.0).std_min = 2.0  # type: ignore[misc]
