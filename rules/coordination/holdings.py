"""The PostgreSQL leases this replica holds, shared by the renewing job and the writers, and the
fence that guards each write.

:meth:`Holdings.check` is the fence (called before every InfluxDB write request, every capacity
publish and POST):

1. the lease must still be held locally with the same token, and its local deadline not passed;
2. PostgreSQL must confirm the row (holder, token, not expired) — if PostgreSQL cannot be reached,
   this step is skipped and the local deadline decides alone (it falls ``margin_s`` before the
   database would let anyone else take over, see :mod:`.lease_table`);
3. the local deadline is checked once more, since step 2 may have waited for a timeout.

So a replica that lost its lease (taken over after a pause, or released on rebalancing) stops at
its next check, and one cut off from PostgreSQL stops at its local deadline at the latest.
"""

from __future__ import annotations

import logging
import threading

from seamline.rules.coordination.database import CoordinationUnavailable
from seamline.rules.coordination.lease_table import Grant, LeaseTable
from seamline.rules.kpi_points import FencingError

log = logging.getLogger(__name__)


class Holdings:
    """Grants by lease name (thread-safe)."""

    def __init__(self, table: LeaseTable) -> None:
        self.table = table
        self._clock = table.clock
        self._lock = threading.Lock()
        self._grants: dict[str, Grant] = {}
        self.checks = 0
        self.checks_local_only = 0
        self.refusals = 0

    def get(self, name: str) -> Grant | None:
        """The grant of ``name`` if held and its local deadline has not passed."""
        with self._lock:
            g = self._grants.get(name)
        return g if g is not None and self._clock() < g.deadline else None

    def latest(self, name: str) -> Grant | None:
        """The grant of ``name`` as last taken or renewed, even if its local deadline has passed."""
        with self._lock:
            return self._grants.get(name)

    def all(self) -> list[Grant]:
        with self._lock:
            return sorted(self._grants.values(), key=lambda g: g.name)

    def put(self, grant: Grant) -> None:
        with self._lock:
            self._grants[grant.name] = grant

    def drop(self, name: str, why: str, *, level: int = logging.WARNING) -> Grant | None:
        with self._lock:
            g = self._grants.pop(name, None)
        if g is not None:
            log.log(level, "lease %s (token %d) given up: %s", name, g.token, why)
        return g

    def expire_local(self) -> list[Grant]:
        """Drop and return the grants whose local deadline has passed."""
        now = self._clock()
        with self._lock:
            gone = [g for g in self._grants.values() if now >= g.deadline]
            for g in gone:
                del self._grants[g.name]
        for g in gone:
            log.warning("lease %s (token %d): local deadline passed without a renewal; not writing for it",
                        g.name, g.token)
        return gone

    def check(self, name: str, token: int) -> None:
        """The fence: raise :class:`FencingError` unless ``name`` is still held with ``token``."""
        self.checks += 1
        self._check_local(name, token)
        try:
            current = self.table.verify(Grant(name, token, 0.0))
        except CoordinationUnavailable:
            self.checks_local_only += 1
            current = True  # cannot ask: the local deadline decides (checked again below)
        if not current:
            self.drop(name, "PostgreSQL shows another holder or token, or the lease expired")
            self.refusals += 1
            raise FencingError(f"lease {name} (token {token}) is no longer held by {self.table.holder}")
        self._check_local(name, token)

    def _check_local(self, name: str, token: int) -> None:
        with self._lock:
            g = self._grants.get(name)
        if g is None or g.token != token:
            self.refusals += 1
            raise FencingError(f"lease {name} (token {token}) is not held by {self.table.holder}")
        if self._clock() >= g.deadline:
            self.refusals += 1
            raise FencingError(f"lease {name} (token {token}): local deadline passed (no renewal within "
                               f"{self.table.ttl_s - self.table.margin_s:g} s)")

    def fence(self, name: str, token: int) -> GrantFence:
        return GrantFence(self, name, token)


class GrantFence:
    """The fence of one grant: checks that lease ``name`` is still held with ``token``."""

    def __init__(self, holdings: Holdings, name: str, token: int) -> None:
        self.holdings = holdings
        self.name = name
        self.token = token

    def check(self) -> None:
        self.holdings.check(self.name, self.token)
