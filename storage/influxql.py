"""InfluxQL text: identifiers, string literals and durations, quoted and parsed the way InfluxDB
1.x (and the InfluxQL endpoints of 2.x/3.x) read them."""

from __future__ import annotations

import re

__all__ = ["duration_s", "quote_ident", "quote_string"]

_DURATION = re.compile(r"(\d+)(w|d|h|m|s)")
_UNIT_S = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}


def quote_ident(name: str) -> str:
    """An InfluxQL double-quoted identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_string(value: str) -> str:
    """An InfluxQL single-quoted string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def duration_s(text: str) -> int:
    """Seconds in an InfluxQL/Go duration (``90d``, ``2160h0m0s``, ``1w2d``); ``INF``/``0s`` → 0 (keep
    forever). ValueError for anything else."""
    t = text.strip()
    if t.upper() in ("INF", "0", ""):
        return 0
    pos, total = 0, 0
    for m in _DURATION.finditer(t):
        if m.start() != pos:
            break
        total += int(m.group(1)) * _UNIT_S[m.group(2)]
        pos = m.end()
    if pos != len(t):
        raise ValueError(f"not a duration: {text!r} (expected e.g. 90d, 12w, 720h or INF)")
    return total
