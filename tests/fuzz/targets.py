"""Fuzz targets (issue 12): each takes one generated input and asserts the invariants; an exception
other than the documented rejection is a crash. Shared by the hypothesis tests and the atheris
harness (``tests/fuzz/atheris_main.py``), which count every input they run in :data:`COUNTS`.

* payload validation — :func:`seamline.ingest.validate.validate` returns Accepted or Rejected with
  a reason, never raises; what it accepts encodes (nothing accepted is unstorable) into lines that
  read back as exactly one point each, on the topic's own enterprise and site, in the schema;
* topic parser — :meth:`Topic.parse` returns a topic that prints back as the same string, or
  raises :class:`TopicError` with a message;
* line-protocol encoder — :func:`encode_line` refuses with ValueError/TypeError and a message, or
  writes a line that reads back as exactly the same point (no injection into another series);
* config loaders — the edge's and ingest's YAML loaders return a config or raise their typed error
  naming the problem;
* input files — the order book (CSV, YAML, JSON), factory profiles, a capacity feed file, the
  county's figures (CSV) and a grading method: each reader returns its result (bad rows counted
  with a message) or raises its typed error naming the file, never anything else.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from seamline.contracts.topic import ENTERPRISE_LEVEL, GATEWAY_AREA, LINE_ASSET, Topic, TopicError, validate_level
from seamline.edge_agent.config import ConfigError, load_config
from seamline.errors import UsageError
from seamline.grading.inputs import read_inputs
from seamline.grading.method import Method, MethodError, load_method
from seamline.ingest.config import load_config as load_ingest_config
from seamline.ingest.points import message_lines
from seamline.ingest.validate import Accepted, Reason, Rejected, TimeWindow, validate
from seamline.matching.capacity_feed import from_file as capacity_from_file
from seamline.matching.errors import MatchingInputError
from seamline.matching.order_book import parse_orders, read_rows
from seamline.matching.profiles import load_profiles
from seamline.storage.line_protocol import encode_line
from seamline.storage.schema import Tag, measurement
from seamline.tabular import TableError
from tests.support.line_protocol_oracle import Point, parse_line

COUNTS: Counter[str] = Counter()
NOW_MS = 1_764_000_000_000
WIDE = TimeWindow(max_past_ms=10**13, max_future_ms=10**13)
MAX_PAYLOAD = 256 * 1024


def fuzz_payload(topic: str, payload: bytes) -> None:
    COUNTS["payload"] += 1
    result = validate(topic, payload, now_ms=NOW_MS, window=WIDE, max_payload_bytes=MAX_PAYLOAD)
    if isinstance(result, Rejected):
        assert isinstance(result.reason, Reason) and result.detail, result
        return
    assert isinstance(result, Accepted)
    lines = message_lines(result.topic, result.message, received_ms=NOW_MS, gaps=None)
    assert lines, "an accepted message stores nothing"
    for line in lines:
        point = parse_line(line)
        assert point.tags.get(Tag.ENTERPRISE) == result.topic.enterprise, (line, topic)
        assert point.tags.get(Tag.SITE) == result.topic.site, (line, topic)
        measurement(point.measurement).check(tags=point.tags, fields=point.fields)
        assert encode_line(point.measurement, point.tags, point.fields, point.ts) == line


def fuzz_topic(text: str) -> None:
    COUNTS["topic"] += 1
    try:
        topic = Topic.parse(text)
    except TopicError as exc:
        assert str(exc)
        return
    assert str(topic) == text
    reserved = (GATEWAY_AREA, LINE_ASSET, ENTERPRISE_LEVEL)
    for level in (topic.enterprise, topic.site, topic.area, topic.asset):
        validate_level(level, allow_reserved=level in reserved)


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return type(a) is type(b) and a == b


def fuzz_encoder(measurement: str, tags: dict[str, str], fields: dict[str, Any], ts_ms: int) -> None:
    COUNTS["line_protocol"] += 1
    try:
        line = encode_line(measurement, tags, fields, ts_ms)
    except (ValueError, TypeError) as exc:
        assert str(exc)
        return
    point: Point = parse_line(line)
    assert point.measurement == measurement, line
    assert point.tags == {k: v for k, v in tags.items() if v != ""}, line
    assert point.fields.keys() == fields.keys(), line
    for k, v in fields.items():
        expected = float(v) if isinstance(v, float) else v
        assert _same_value(point.fields[k], expected), (line, k, v)
    assert point.ts == ts_ms


def fuzz_config(text: str, workdir: Path) -> None:
    COUNTS["config"] += 1
    path = workdir / "fuzzed.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_config(path, env={})
    except ConfigError as exc:
        assert exc.problems and all(exc.problems), exc
    try:
        load_ingest_config(path)
    except UsageError as exc:
        assert str(exc)


# Input files a user hands to matching and grading: (suffix, what the reader is); the atheris
# harness picks one by the input's first byte.
INPUT_KINDS: tuple[tuple[str, str], ...] = (
    (".csv", "orders"), (".yaml", "orders"), (".json", "orders"), (".yaml", "profiles"), (".json", "profiles"),
    (".json", "capacity"), (".csv", "county"), (".yaml", "method"),
)
_GRADING_SAMPLE = Path(__file__).resolve().parents[2] / "grading" / "samples" / "linhai-2014.yaml"
_METHOD: list[Method] = []


def fuzz_inputs(kind: int, data: bytes, workdir: Path) -> None:
    COUNTS["inputs"] += 1
    suffix, reader = INPUT_KINDS[kind % len(INPUT_KINDS)]
    path = workdir / f"fuzzed-{reader}{suffix}"
    path.write_bytes(data)
    try:
        if reader == "orders":
            rows, source = read_rows(path)
            book = parse_orders(rows, source=source, today=date(2030, 1, 1))
            assert all(e.message for e in book.errors), book.errors
        elif reader == "profiles":
            load_profiles(path)
        elif reader == "capacity":
            feed = capacity_from_file(path)
            assert all(feed.rejected), feed.rejected
        elif reader == "county":
            if not _METHOD:
                _METHOD.append(load_method(_GRADING_SAMPLE))
            inputs = read_inputs(path, _METHOD[0])
            assert all(e.message for e in inputs.errors), inputs.errors
        else:
            load_method(path)
    except (MatchingInputError, TableError, MethodError) as exc:
        assert str(exc).strip(), exc
