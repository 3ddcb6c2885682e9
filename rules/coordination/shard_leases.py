"""Dynamic shards (``shards: dynamic``): enterprises spread over the live replicas, each shard
under its own PostgreSQL lease and fencing token.

An enterprise belongs to shard ``sha256(id) % shard_count`` (:func:`seamline.rules.lease.shard_of`,
stable everywhere); a shard belongs to the live replica that rendezvous hashing picks
(:mod:`.rendezvous`). Every ``renew_s`` each replica (:meth:`ShardLeases.acquire`):

1. heartbeats and reads the live set (:mod:`.membership`);
2. renews the shard leases it holds (one statement); those refused are dropped;
3. hands off the shards the live set now gives to another replica: it stops writing for them at
   once (dropped locally: its fences fail) and releases them in PostgreSQL ``margin_s`` later, when
   no write request it started can still be in flight;
4. takes the shards it should own that are free or expired (a new, higher token).

A dead replica's shards therefore move to the survivors once its leases expire (one TTL after its
last renewal, noticed at the survivors' next refresh); a returning replica gets its shards back
when their holders hand them off. Either way the old holder's token is stale for the new one, and
the window ledger (:mod:`.window_ledger`) tells the new owner what to compute.
"""

from __future__ import annotations

import logging
import threading

from seamline.rules.coordination.database import CoordinationUnavailable
from seamline.rules.coordination.holdings import Holdings
from seamline.rules.coordination.lease_table import Grant, LeaseTable
from seamline.rules.coordination.membership import Membership
from seamline.rules.coordination.rendezvous import owned_by
from seamline.rules.kpi_points import Fence, FencingError
from seamline.rules.lease import shard_of
from seamline.rules.master_data import MasterData
from seamline.rules.ownership import NotOwned, Part

log = logging.getLogger(__name__)


def shard_lease_name(group: str, shard: int, count: int) -> str:
    """Lease name (and ledger shard key) of dynamic shard ``shard`` of ``count``, e.g. ``rules/shard/07of64``."""
    return f"{group}/shard/{shard:0{len(str(count - 1))}d}of{count}"


class ShardLeases:
    """The dynamic shards this replica holds; a :class:`~seamline.rules.lease.Lease` (``acquire`` =
    refresh) and an :class:`~seamline.rules.ownership.Ownership`."""

    def __init__(self, table: LeaseTable, membership: Membership, *, group: str, shard_count: int) -> None:
        if shard_count < 1:
            raise ValueError("shard_count must be >= 1")
        self.table = table
        self.membership = membership
        self.group = group
        self.shard_count = shard_count
        self.holdings = Holdings(table)
        self._clock = table.clock
        self._names = [shard_lease_name(group, k, shard_count) for k in range(shard_count)]
        self._index = {n: k for k, n in enumerate(self._names)}
        self._leaving: dict[str, tuple[Grant, float]] = {}
        self._refresh = threading.Lock()
        self.live: frozenset[str] = frozenset()
        self.takeovers = 0
        self.handoffs = 0

    @property
    def replica(self) -> str:
        return self.table.holder

    @property
    def token(self) -> int | None:
        """The highest token held (``None``: no shard held)."""
        held = [g.token for g in self.holdings.all() if self.holdings.get(g.name)]
        return max(held) if held else None

    def shard_name(self, enterprise_id: str) -> str:
        return self._names[shard_of(enterprise_id, self.shard_count)]

    def acquire(self) -> int | None:
        """Heartbeat, renew, hand off and take shards; the number of shards held (``None``: none)."""
        with self._refresh:
            try:
                self._refresh_once()
            except CoordinationUnavailable as exc:
                log.debug("shard refresh of %s: %s", self.replica, exc)
            self.holdings.expire_local()
            held = len(self.holdings.all())
        return held or None

    def _refresh_once(self) -> None:
        self.live = self.membership.heartbeat()
        desired = {self._names[k] for k in owned_by(self.replica, self.shard_count, self.live)}
        held = self.holdings.all()
        renewed = self.table.renew(held)
        for g in renewed:
            self.holdings.put(g)
        kept = {g.name for g in renewed}
        for g in held:
            if g.name not in kept:
                self.holdings.drop(g.name, "renewal refused: expired or taken over")
        for g in renewed:
            if g.name not in desired:
                self.holdings.drop(g.name, f"handed off (live replicas now {sorted(self.live)})", level=logging.INFO)
                self._leaving[g.name] = (g, self._clock())
                self.handoffs += 1
        self._release_left()
        for name in sorted(desired - kept):
            grant = self.table.take(name)
            if grant is not None:
                log.info("shard lease %s taken by %s with fencing token %d", name, self.replica, grant.token)
                self.holdings.put(grant)
                self.takeovers += 1

    def _release_left(self) -> None:
        """Release handed-off shards once no write request started under them can be in flight."""
        now = self._clock()
        due = [g for g, since in self._leaving.values() if now - since >= self.table.margin_s or now >= g.deadline]
        if due:
            self.table.release([g for g in due if now < g.deadline])
            for g in due:
                del self._leaving[g.name]

    def check(self) -> None:
        """Passes if every shard held passes its fence; raises if none is held."""
        held = self.holdings.all()
        if not held:
            raise FencingError(f"{self.replica} holds no shard")
        for g in held:
            self.holdings.check(g.name, g.token)

    def release(self) -> None:
        """Give up every shard and leave the group (clean shutdown)."""
        with self._refresh:
            held = self.holdings.all()
            for g in held:
                self.holdings.drop(g.name, "released (shutting down)", level=logging.INFO)
            try:
                self.table.release(held + [g for g, _ in self._leaving.values()])
                self.membership.leave()
            except CoordinationUnavailable as exc:
                log.warning("shard leases of %s not released (%s): they expire on their own", self.replica, exc)
            self._leaving.clear()

    def parts(self, master: MasterData) -> list[Part]:
        by_shard: dict[str, list[str]] = {}
        for e in master.enterprises:
            by_shard.setdefault(self.shard_name(e.id), []).append(e.id)
        out = []
        for name, ids in sorted(by_shard.items()):
            g = self.holdings.get(name)
            if g is not None:
                keep = set(ids)
                sub = master.model_copy(update={"enterprises": [e for e in master.enterprises if e.id in keep]})
                out.append(Part(name, g.token, sub, self.holdings.fence(name, g.token)))
        return out

    def owns(self, enterprise_id: str) -> bool:
        return self.holdings.get(self.shard_name(enterprise_id)) is not None

    def fence_for(self, enterprise_id: str) -> Fence:
        name = self.shard_name(enterprise_id)
        g = self.holdings.get(name)
        return self.holdings.fence(name, g.token) if g is not None else NotOwned(enterprise_id)
