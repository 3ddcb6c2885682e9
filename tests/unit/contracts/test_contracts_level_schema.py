"""The topic-level grammar published in the JSON Schema (:func:`level_json_schema`, read by the
``jsonschema`` validator with Python's ``re``) accepts exactly what :func:`validate_level` accepts."""

from __future__ import annotations

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seamline.contracts.topic import FORBIDDEN_RANGES, WHITESPACE, TopicError, level_json_schema, validate_level

VALIDATOR = jsonschema.Draft202012Validator(level_json_schema())
EDGES = [*(chr(a) for a, _b in FORBIDDEN_RANGES), *(chr(b) for _a, b in FORBIDDEN_RANGES),
         *(f"a{c}b" for c in WHITESPACE), *(f"a{c}" for c in WHITESPACE), *(f"{c}a" for c in WHITESPACE),
         "a\n", "a\\", "$a", "_a", "a$", "a_", "+", "x" * 64, "x" * 65, "\U0001f600", "\U000e0100", "\u0378"]


def _grammar_accepts(text: str) -> bool:
    try:
        validate_level(text)
    except TopicError:
        return False
    return True


@pytest.mark.parametrize("text", EDGES)
def test_edges_agree(text: str) -> None:
    assert VALIDATOR.is_valid(text) is _grammar_accepts(text)


@settings(max_examples=2000)
@given(st.text(st.one_of(st.characters(), st.sampled_from(["\\", "$", "_", "+", "#", "/", *WHITESPACE])),
               max_size=70))
def test_any_text_agrees(text: str) -> None:
    assert VALIDATOR.is_valid(text) is _grammar_accepts(text)
