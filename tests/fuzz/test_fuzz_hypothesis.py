"""Structured fuzzing with hypothesis: hostile payloads on matching and mismatching topics, topic
strings, line-protocol points and YAML config files (targets and invariants: targets.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seamline.contracts.topic import GATEWAY_AREA, LINE_ASSET, MessageKind
from tests.fuzz.budget import hypothesis_examples
from tests.fuzz.targets import fuzz_config, fuzz_encoder, fuzz_payload, fuzz_topic
from tests.support.hostile_inputs import INGEST_KINDS, PAYLOADS, encode, names, nasty_text


def fuzz(target: str) -> settings:
    return settings(max_examples=hypothesis_examples(target), deadline=None, suppress_health_check=list(HealthCheck))


@st.composite
def message(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from([*INGEST_KINDS, MessageKind.CAPACITY]))
    doc: Any = draw(PAYLOADS.get(kind, PAYLOADS[MessageKind.DATA]))
    gateway = kind in (MessageKind.BIRTH, MessageKind.STATUS) or draw(st.booleans())
    asset = doc.get("gateway_id") if isinstance(doc, dict) and gateway and draw(st.booleans()) else draw(names)
    area = GATEWAY_AREA if gateway else draw(st.one_of(names, st.just(LINE_ASSET)))
    levels = [draw(names), draw(names), area, asset if isinstance(asset, str) else "gw1"]
    topic = "/".join(["seamline", "v1", *levels, kind.value])
    return topic, encode(doc)


@fuzz("payload")
@given(message())
def test_fuzz_payload_validation(case: tuple[str, bytes]) -> None:
    fuzz_payload(*case)


@fuzz("topic")
@given(st.one_of(
    st.lists(st.one_of(names, st.sampled_from(["seamline", "v1", "data", "+", "#", "", "$share"])),
             min_size=5, max_size=9).map("/".join),
    st.text(st.one_of(st.sampled_from("/+#$_\\"), st.characters()), max_size=120),
))
def test_fuzz_topic_parser(text: str) -> None:
    fuzz_topic(text)


field_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-(2**65), max_value=2**65),
    st.booleans(), nasty_text, st.none(), st.lists(st.integers(), max_size=1),
)


@fuzz("line_protocol")
@given(nasty_text, st.dictionaries(nasty_text, nasty_text, max_size=4),
       st.dictionaries(nasty_text, field_values, max_size=4),
       st.one_of(st.integers(min_value=-(2**63), max_value=2**63), st.booleans()))
def test_fuzz_line_protocol_encoder(measurement: str, tags: dict[str, str], fields: dict[str, Any], ts: int) -> None:
    fuzz_encoder(measurement, tags, fields, ts)


yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), nasty_text),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(nasty_text, inner, max_size=3)),
    max_leaves=12,
)
SECTIONS = ["gateway", "uplink", "local", "spool", "machines", "machine_types", "modbus", "mqtt", "influx",
            "batch", "quarantine", "metrics", "aggregate_period_s", "password"]


# Plain scalars YAML's resolvers accept but Python's constructors refuse (an int over the 4 300-digit
# conversion limit, a date that does not exist, a tagged value of the wrong type): safe_dump of a
# Python value never writes these, so they go into the text as written (atheris found the first).
RAW_SCALARS = ["9" * 4301, "-" + "7" * 5000, "2026-13-01", "2026-02-30 10:00:00", "!!float x", "!!int 1.5",
               "!!binary a", "!!timestamp never"]


@st.composite
def config_text(draw: st.DrawFn) -> str:
    branch = draw(st.integers(0, 4))
    if branch == 0:
        return draw(st.text(st.one_of(st.sampled_from(":-[]{}&*!|>'\"%@`#\n "), st.characters()), max_size=300))
    doc = draw(st.dictionaries(st.one_of(st.sampled_from(SECTIONS), nasty_text), yaml_values, max_size=6))
    text = yaml.safe_dump(doc, allow_unicode=True)
    if branch == 1:  # a hostile plain scalar at the top level or under a section
        key, scalar = draw(st.sampled_from(SECTIONS)), draw(st.sampled_from(RAW_SCALARS))
        text += draw(st.sampled_from([f"{key}: {scalar}\n", f"{key}:\n  port: {scalar}\n"]))
    return text


_WORKDIR = Path(tempfile.mkdtemp(prefix="seamline-fuzz-config-"))


@fuzz("config")
@given(config_text())
def test_fuzz_config_loaders(text: str) -> None:
    fuzz_config(text, _WORKDIR)
