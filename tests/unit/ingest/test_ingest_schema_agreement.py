"""Ingest accepts exactly what the published JSON Schema accepts (issue 12, strict input).

The same corpus — hand-written edge cases and hypothesis-generated hostile payloads — goes to a
standard validator (``jsonschema``, Draft 2020-12, over ``seamline contracts schema``'s output) and
to ingest's payload stage (:func:`seamline.ingest.validate.check_payload`); the verdicts must agree.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings

from seamline.contracts.schema import schema_of
from seamline.contracts.topic import MessageKind
from seamline.ingest.validate import Rejected, check_payload
from tests.support.hostile_inputs import EDGE_CASES, kind_and_payload

SEEN: dict[str, int] = {"payloads": 0, "accepted": 0}


@cache
def _validator(kind: MessageKind) -> jsonschema.Draft202012Validator:
    schema = schema_of(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def schema_accepts(kind: MessageKind, payload: bytes) -> bool:
    """The JSON Schema's verdict. Bytes that are not JSON (RFC 8259: no NaN, valid UTF-8) are
    outside every schema."""
    try:
        doc = json.loads(payload.decode("utf-8"), parse_constant=_no_constants)
    except (ValueError, RecursionError):
        return False
    return bool(_validator(kind).is_valid(doc))


def ingest_accepts(kind: MessageKind, payload: bytes) -> bool:
    result = check_payload(kind, payload)
    if isinstance(result, Rejected):
        assert result.reason and result.detail, f"rejection without a reason: {result}"
        return False
    return True


def test_the_published_schemas_are_valid_draft_2020_12() -> None:
    for kind in (MessageKind.DATA, MessageKind.STATE, MessageKind.BIRTH, MessageKind.STATUS):
        _validator(kind)


@pytest.mark.parametrize(("kind", "payload", "accepted"), EDGE_CASES,
                         ids=[f"{k.value}-{i}" for i, (k, _p, _a) in enumerate(EDGE_CASES)])
def test_hand_written_corpus(kind: MessageKind, payload: bytes, accepted: bool) -> None:
    assert schema_accepts(kind, payload) is accepted, "the expectation disagrees with the schema"
    assert ingest_accepts(kind, payload) is accepted, check_payload(kind, payload)


@settings(max_examples=1500)
@given(kind_and_payload())
def test_generated_corpus(case: tuple[MessageKind, bytes]) -> None:
    kind, payload = case
    by_schema = schema_accepts(kind, payload)
    by_ingest = ingest_accepts(kind, payload)
    SEEN["payloads"] += 1
    SEEN["accepted"] += by_ingest
    assert by_schema == by_ingest, (payload, check_payload(kind, payload))
