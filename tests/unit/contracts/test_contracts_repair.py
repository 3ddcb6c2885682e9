"""The repair kinds' models and JSON Schemas agree: ranges ordered and disjoint, the gateway's own
area allowed, other reserved areas refused."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from seamline.contracts.repair import ConfirmMessage
from seamline.contracts.schema import schema_of
from seamline.contracts.topic import MessageKind


def confirm(area: str, ranges: list[dict[str, int]]) -> dict[str, Any]:
    return {"gateway_id": "gw01", "generated_ts_ms": 1_764_291_600_000, "window_start_ms": 1_764_291_500_000,
            "assets": [{"area": area, "asset": "m001", "ranges": ranges}]}


@pytest.mark.parametrize(("area", "ranges", "ok"), [
    ("line01", [{"first": 1, "last": 3}, {"first": 5, "last": 5}], True),
    ("_gateway", [{"first": 1, "last": 3}], True),
    ("_line", [{"first": 1, "last": 3}], False),
    ("line01", [{"first": 3, "last": 1}], False),
])
def test_model_and_schema_agree(area: str, ranges: list[dict[str, int]], ok: bool) -> None:
    doc = confirm(area, ranges)
    validator = jsonschema.Draft202012Validator(json.loads(json.dumps(schema_of(MessageKind.CONFIRM))))
    if ok:
        ConfirmMessage.model_validate(doc)
    else:
        with pytest.raises(ValidationError):
            ConfirmMessage.model_validate(doc)
        if area == "_line":  # ordering of ranges is the model's check; the schema says the grammar
            assert not validator.is_valid(doc)
    if ok:
        validator.validate(doc)


def test_overlapping_ranges_are_refused() -> None:
    with pytest.raises(ValidationError):
        ConfirmMessage.model_validate(confirm("line01", [{"first": 1, "last": 3}, {"first": 3, "last": 4}]))
