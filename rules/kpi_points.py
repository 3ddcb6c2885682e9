"""KPI results -> InfluxDB points in retention policy ``kpi``, idempotently, in the names of
:mod:`seamline.storage.schema` (a tag or field the schema does not define is a
:class:`~seamline.storage.schema.SchemaError`, raised before anything is written).

A point's identity is (measurement, tags, window-start timestamp); the tags include the window
label (``5m``/``1h``/``shift``/``1d``), so recomputing a window rewrites exactly its own points
and never adds new ones. Every point carries ``coverage`` (0..1), ``low_coverage`` (bool) and
``flags`` (comma-separated :class:`rules.kpi.result.Flag` values, "" when none). A value that is
``None`` (e.g. MTBF without breakdowns) is left out of the point; see rules/README.md for the
measurements and their fields.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from seamline.rules.kpi.result import Flag, KpiResult
from seamline.rules.windows import Window
from seamline.storage.line_protocol import encode_line
from seamline.storage.schema import Field, Measurement
from seamline.storage.write_policy import PointWriter, WriteOutcome, WritePolicy

FieldValue = float | int | bool | str


@dataclass(frozen=True, slots=True)
class KpiPoint:
    measurement: str
    tags: tuple[tuple[str, str], ...]
    ts_ms: int
    fields: tuple[tuple[str, FieldValue], ...]

    def tag(self, name: str) -> str:
        for k, v in self.tags:
            if k == name:
                return v
        raise KeyError(name)

    def get(self, name: str) -> FieldValue | None:
        for k, v in self.fields:
            if k == name:
                return v
        return None

    def line(self) -> str:
        return encode_line(self.measurement, dict(self.tags), dict(self.fields), self.ts_ms)


def field_name(value_name: str) -> str:
    """KPI value names as field keys (``down_min.needle`` -> ``down_min_needle``)."""
    return value_name.replace(".", "_")


def make_point(
    measurement: Measurement,
    tags: Mapping[str, str],
    window: Window,
    results: Sequence[KpiResult],
    *,
    extra: Mapping[str, float | None] | None = None,
    prefix: Mapping[str, str] | None = None,
) -> KpiPoint:
    """One point from one or more results of the same window. ``coverage`` is the lowest of the
    results' coverages, ``flags`` their union; ``prefix`` renames values of a result kpi
    (``{"pv_availability": "sun_"}``) where two results share a value name."""
    fields: dict[str, FieldValue] = {}
    flags: set[Flag] = set()
    coverage = 1.0
    for res in results:
        pre = (prefix or {}).get(res.kpi, "")
        for v in res.values:
            if v.value is not None:
                fields[pre + field_name(v.name)] = float(v.value)
        flags |= res.flags
        coverage = min(coverage, res.coverage.fraction)
    for name, value in (extra or {}).items():
        if value is not None:
            fields[name] = float(value)
    fields[Field.COVERAGE] = float(coverage)
    fields[Field.LOW_COVERAGE] = Flag.LOW_COVERAGE in flags
    fields[Field.FLAGS] = ",".join(sorted(f.value for f in flags))
    _check_names(measurement, tags, fields)
    return KpiPoint(measurement.name, tuple(sorted(tags.items())), int(window.start_s * 1000),
                    tuple(sorted(fields.items())))


# Name sets already checked against the schema: a window's points repeat a few dozen of them.
_CHECKED: set[tuple[str, frozenset[str], frozenset[str]]] = set()
_CHECKED_MAX = 10_000


def _check_names(measurement: Measurement, tags: Mapping[str, str], fields: Mapping[str, FieldValue]) -> None:
    key = (measurement.name, frozenset(tags), frozenset(fields))
    if key not in _CHECKED:
        measurement.check(tags=tags, fields=fields)  # raises before caching: only valid sets are kept
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED.add(key)


class FencingError(Exception):
    """This replica no longer holds the lease: it must not write or send."""


class Fence(Protocol):
    def check(self) -> None:
        """Raise :class:`FencingError` unless the caller still holds its lease."""


class NoFence:
    """For a single replica (no lease configured)."""

    def check(self) -> None:
        return None


class _FencedWriter:
    """Checks the fence before every write request, retries included: a replica that lost its lease
    while a batch was being retried stops before the next attempt."""

    def __init__(self, writer: PointWriter, fence: Fence) -> None:
        self._writer = writer
        self._fence = fence

    def write(self, lines: Sequence[str]) -> None:
        self._fence.check()
        self._writer.write(lines)

    def close(self) -> None:
        self._writer.close()


class KpiPointWriter:
    """Writes KPI points through the storage layer's durable write policy into RP ``kpi``, checking
    the fence before every write request (a replica that lost its lease stops before writing)."""

    # InfluxDB's recommended 5 000-10 000 lines per write; 5 000 keeps a request under ~1 MB.
    BATCH_LINES = 5_000

    def __init__(self, writer: PointWriter, *, fence: Fence | None = None, policy: WritePolicy | None = None,
                 stop: threading.Event | None = None) -> None:
        self._writer = writer
        self._fence = fence or NoFence()
        self._policy = policy or WritePolicy()
        self._stop = stop or threading.Event()
        self.points_written = 0
        self.points_rejected = 0

    def write(self, points: Iterable[KpiPoint], *, fence: Fence | None = None) -> int:
        """Write all points under ``fence`` (default: the writer's); return how many were written
        (rejections are counted, not raised). Raises :class:`FencingError` before a request whose
        fence check fails."""
        lines = [p.line() for p in points]
        guarded = _FencedWriter(self._writer, fence or self._fence)
        written = 0
        for i in range(0, len(lines), self.BATCH_LINES):
            out: WriteOutcome = self._policy.write_durably(guarded, lines[i:i + self.BATCH_LINES], stop=self._stop)
            written += out.written
            self.points_rejected += len(out.rejected)
        self.points_written += written
        return written
