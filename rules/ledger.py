"""The window ledger seen from the jobs: every window computation is begun and finished in it, so
a replica taking over a shard knows which windows the previous owner did not finish.

A window is identified by :class:`WindowKey`: the shard (lease name), the scope (the enterprises'
time zone for ``5m``/``1h``/``1d`` windows, ``<enterprise>:<shift>`` for shift windows), the label
and the window. :class:`NoLedger` is the ledger of a single host (file lease or none): nothing is
recorded; :class:`seamline.rules.coordination.window_ledger.PgLedger` records in PostgreSQL.

``digest`` fingerprints a computation's points: two computations of a window from the same inputs
give the same digest (the points are idempotent by series and timestamp, so writing them twice
leaves one copy).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from seamline.rules.kpi_points import KpiPoint
from seamline.rules.windows import Window


@dataclass(frozen=True, slots=True)
class WindowKey:
    shard: str
    scope: str
    label: str
    window: Window
    shift: str | None = None


class Ledger(Protocol):
    def begin(self, key: WindowKey, token: int) -> None:
        """Record that this replica (holding ``token`` for ``key.shard``) starts the window; raise
        :class:`~seamline.rules.kpi_points.FencingError` if the database says the token is stale."""

    def finish(self, key: WindowKey, token: int, points: Sequence[KpiPoint]) -> None:
        """Record the finished computation (its point count and digest)."""

    def abandon(self, key: WindowKey, token: int) -> None:
        """The computation failed: put the window back to ``pending`` for the next attempt."""


class NoLedger:
    def begin(self, key: WindowKey, token: int) -> None:
        return None

    def finish(self, key: WindowKey, token: int, points: Sequence[KpiPoint]) -> None:
        return None

    def abandon(self, key: WindowKey, token: int) -> None:
        return None


def digest(points: Sequence[KpiPoint]) -> str:
    """A fingerprint of a window's points, independent of their order (hex, 128 bits)."""
    h = hashlib.sha256()
    for line in sorted(p.line() for p in points):
        h.update(line.encode())
        h.update(b"\n")
    return h.hexdigest()[:32]
