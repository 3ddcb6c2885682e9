"""InfluxDB line protocol: escaping and encoding of one point per line, without influxdb_client.

Rules follow what InfluxDB 1.x (the server we run) actually parses, verified against it:

* measurement: ``,`` and space are escaped with ``\\``;
* tag keys, tag values and field keys: ``,``, ``=`` and space are escaped with ``\\``;
* a backslash in a name is kept literally (1.x does not unescape ``\\\\``), so a name in which a
  backslash is the last character or precedes ``,``, ``=``, space or ``"`` cannot be represented
  and is rejected with ValueError rather than stored under another name;
* names may not contain control characters (a newline would end the line), may not be empty, a
  measurement may not start with ``#`` (1.x would silently drop the line as a comment), and
  ``time`` is not a valid tag or field key in 1.x;
* string field values are double-quoted with ``"`` and ``\\`` escaped; newlines inside them are
  fine (the 1.x scanner honours the quotes);
* floats use ``repr`` (shortest text that round-trips), ints get the ``i`` suffix, bools are
  ``true``/``false``; NaN and ±inf are rejected.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import lru_cache

__all__ = [
    "encode_line",
    "escape_field_key",
    "escape_measurement",
    "escape_tag",
    "format_field_value",
]

FieldValue = float | int | bool | str

_isfinite = math.isfinite
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
# Names, tag keys and field keys repeat (a few hundred per deployment), tag values are bounded by
# the asset count; 16k entries keep every realistic working set cached at ~2 MB worst case.
_ESCAPE_CACHE_SIZE = 16_384

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A backslash that is last or precedes a character 1.x would treat as escaped (or as an escape).
_UNREPRESENTABLE_BACKSLASH = re.compile(r'\\(?:$|[ ,="])')
_MEASUREMENT_ESCAPES = str.maketrans({",": "\\,", " ": "\\ "})
_KEY_ESCAPES = str.maketrans({",": "\\,", " ": "\\ ", "=": "\\="})
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"'})


def _check_name(kind: str, s: str) -> None:
    if not isinstance(s, str):
        raise TypeError(f"{kind} must be str, got {type(s).__name__}")
    if not s:
        raise ValueError(f"{kind} must not be empty")
    if _CONTROL.search(s):
        raise ValueError(f"{kind} {s!r} contains a control character (newline, tab, ...)")
    if _UNREPRESENTABLE_BACKSLASH.search(s):
        raise ValueError(
            f"{kind} {s!r}: a backslash at the end or before space, ',', '=' or '\"' "
            "cannot be represented in InfluxDB 1.x line protocol"
        )


@lru_cache(maxsize=_ESCAPE_CACHE_SIZE)
def escape_measurement(s: str) -> str:
    """Escape a measurement name (``,`` and space); ValueError if it cannot be represented."""
    _check_name("measurement", s)
    if s.startswith("#"):
        raise ValueError(f"measurement {s!r} starts with '#': InfluxDB would read the line as a comment")
    return s.translate(_MEASUREMENT_ESCAPES)


@lru_cache(maxsize=_ESCAPE_CACHE_SIZE)
def escape_tag(s: str) -> str:
    """Escape a tag key or tag value (``,``, ``=``, space); ValueError if not representable."""
    _check_name("tag key/value", s)
    return s.translate(_KEY_ESCAPES)


@lru_cache(maxsize=_ESCAPE_CACHE_SIZE)
def escape_field_key(s: str) -> str:
    """Escape a field key (``,``, ``=``, space); ValueError if not representable or ``time``."""
    _check_name("field key", s)
    if s == "time":
        raise ValueError("'time' is not a valid field key in InfluxDB")
    return s.translate(_KEY_ESCAPES)


@lru_cache(maxsize=_ESCAPE_CACHE_SIZE)
def _escape_tag_key(s: str) -> str:
    if s == "time":
        raise ValueError("'time' is not a valid tag key in InfluxDB")
    return escape_tag(s)


def format_field_value(v: FieldValue) -> str:
    """Line-protocol text of one field value.

    float → shortest round-trip repr (always a float: ``1.0``, never ``1``); int → ``123i``
    (int64 range); bool → ``true``/``false``; str → ``"..."`` with ``"`` and ``\\`` escaped.
    NaN/±inf and out-of-range ints raise ValueError; other types raise TypeError.
    """
    t = type(v)
    if t is float:
        if not math.isfinite(v):  # type: ignore[arg-type]
            raise ValueError(f"field value {v!r} is not finite; InfluxDB cannot store NaN or inf")
        return repr(v)
    if t is bool:
        return "true" if v else "false"
    if t is int:
        if not _INT64_MIN <= v <= _INT64_MAX:  # type: ignore[operator]
            raise ValueError(f"int field value {v} is outside int64")
        return f"{v}i"
    if t is str:
        return f'"{v.translate(_STRING_ESCAPES)}"'  # type: ignore[union-attr]
    # subclasses (numpy scalars, IntEnum, ...) take the slow, explicit path
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return format_field_value(int(v))
    if isinstance(v, float):
        return format_field_value(float(v))
    if isinstance(v, str):
        return format_field_value(str(v))
    raise TypeError(f"unsupported field value type {type(v).__name__}")


def encode_line(
    measurement: str,
    tags: Mapping[str, str],
    fields: Mapping[str, FieldValue],
    ts_ms: int,
) -> str:
    """One line of line protocol (no trailing newline) for a point at ``ts_ms`` (Unix epoch, ms;
    write it with ``precision=ms``).

    Tags are sorted by key (what InfluxDB recommends, and makes equal points byte-identical);
    tags with an empty value are omitted. At least one field is required, else ValueError.
    """
    if not fields:
        raise ValueError(f"point {measurement!r} has no fields")
    if type(ts_ms) is not int:
        if isinstance(ts_ms, bool) or not isinstance(ts_ms, int):
            raise TypeError(f"ts_ms must be int, got {type(ts_ms).__name__}")
        ts_ms = int(ts_ms)
    head = escape_measurement(measurement)
    if tags:
        tag_text = "".join(
            f",{_escape_tag_key(k)}={escape_tag(v)}" for k, v in sorted(tags.items()) if v != ""
        )
    else:
        tag_text = ""
    parts = []
    for k, v in fields.items():
        t = type(v)
        # inlined fast paths of format_field_value: this loop is the ingest hot spot
        if t is float and _isfinite(v):  # type: ignore[arg-type]
            parts.append(f"{escape_field_key(k)}={v!r}")
        elif t is int and _INT64_MIN <= v <= _INT64_MAX:  # type: ignore[operator]
            parts.append(f"{escape_field_key(k)}={v}i")
        else:
            parts.append(f"{escape_field_key(k)}={format_field_value(v)}")
    return f"{head}{tag_text} {','.join(parts)} {ts_ms}"
