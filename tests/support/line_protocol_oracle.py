"""An independent reader of InfluxDB 1.x line protocol, for the fuzz tests' injection check: the
text ``storage/line_protocol.py`` writes must read back as exactly one point with the same
measurement, tags and fields. It follows 1.x's scanner (``models/points.go``): a backslash makes
the next character literal while scanning; unescaping then only replaces ``\\,`` ``\\ `` (and
``\\=`` in keys and tag values); in a string field ``\\"`` and ``\\\\``. An oracle, not production."""

from __future__ import annotations

from dataclasses import dataclass


class LineSyntaxError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Point:
    measurement: str
    tags: dict[str, str]
    fields: dict[str, float | int | bool | str]
    ts: int


def _scan(text: str, i: int, stops: str) -> int:
    """Index of the first unescaped character of ``stops`` at or after ``i`` (len if none)."""
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c in stops:
            return i
        i += 1
    return len(text)


def _unescape(s: str, chars: str) -> str:
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s) and s[i + 1] in chars:
            out.append(s[i + 1])
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def _field_value(raw: str) -> float | int | bool | str:
    if raw.startswith('"'):
        if len(raw) < 2 or not raw.endswith('"'):
            raise LineSyntaxError(f"unterminated string {raw!r}")
        return _unescape(raw[1:-1], '"\\')
    if raw in ("t", "T", "true", "True", "TRUE"):
        return True
    if raw in ("f", "F", "false", "False", "FALSE"):
        return False
    if raw.endswith("i"):
        return int(raw[:-1])
    return float(raw)


def _fields(text: str, i: int) -> tuple[dict[str, float | int | bool | str], int]:
    fields: dict[str, float | int | bool | str] = {}
    while True:
        eq = _scan(text, i, "=, ")
        if eq >= len(text) or text[eq] != "=":
            raise LineSyntaxError(f"field without '=' at {i}")
        key = _unescape(text[i:eq], ", =")
        j = eq + 1
        if j < len(text) and text[j] == '"':
            end = _scan(text, j + 1, '"')
            if end >= len(text):
                raise LineSyntaxError("unterminated string field")
            j = end + 1
        else:
            j = _scan(text, j, ", ")
        if not key or key in fields:
            raise LineSyntaxError(f"empty or repeated field key {key!r}")
        fields[key] = _field_value(text[eq + 1:j])
        if j >= len(text) or text[j] == " ":
            return fields, j
        i = j + 1


def parse_line(text: str) -> Point:
    """The single point ``text`` holds, or :class:`LineSyntaxError`."""
    head_end = _scan(text, 0, " ")
    head = text[:head_end]
    parts, i = [], 0
    while i <= len(head):
        j = _scan(head, i, ",")
        parts.append(head[i:j])
        i = j + 1
    measurement = _unescape(parts[0], ", ")
    if not measurement:
        raise LineSyntaxError("empty measurement")
    tags: dict[str, str] = {}
    for part in parts[1:]:
        eq = _scan(part, 0, "=")
        if eq >= len(part) or eq == 0 or eq == len(part) - 1:
            raise LineSyntaxError(f"bad tag {part!r}")
        key, value = _unescape(part[:eq], ", ="), _unescape(part[eq + 1:], ", =")
        if key in tags:
            raise LineSyntaxError(f"repeated tag {key!r}")
        tags[key] = value
    if head_end >= len(text):
        raise LineSyntaxError("no fields")
    fields, j = _fields(text, head_end + 1)
    if j >= len(text) or text[j] != " ":
        raise LineSyntaxError("no timestamp")
    ts_text = text[j + 1:]
    if not ts_text.lstrip("-").isdigit() or not ts_text.isascii():
        raise LineSyntaxError(f"bad timestamp or a second point: {ts_text[:40]!r}")
    return Point(measurement, tags, fields, int(ts_text))
