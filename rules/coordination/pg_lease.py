"""One PostgreSQL lease for active/passive replicas on different hosts (``lease.kind: postgres``
with ``shards: static``): the :class:`~seamline.rules.lease.Lease` protocol over a
:class:`~.lease_table.LeaseTable` row, plus the :class:`~seamline.rules.ownership.Ownership` view
(the whole static shard as one part)."""

from __future__ import annotations

import logging

from seamline.rules.coordination.database import CoordinationUnavailable
from seamline.rules.coordination.holdings import Holdings
from seamline.rules.coordination.lease_table import LeaseTable
from seamline.rules.kpi_points import Fence, FencingError
from seamline.rules.master_data import MasterData
from seamline.rules.ownership import NotOwned, Part

log = logging.getLogger(__name__)


class PgLease:
    """Lease ``name``: renewed while held, taken over (token + 1) once expired."""

    def __init__(self, table: LeaseTable, name: str) -> None:
        self.table = table
        self.name = name
        self.holdings = Holdings(table)

    @property
    def token(self) -> int | None:
        g = self.holdings.get(self.name)
        return g.token if g is not None else None

    def acquire(self) -> int | None:
        held = self.holdings.latest(self.name)  # past its local deadline it may still renew: never expired
        try:
            if held is not None:
                renewed = self.table.renew([held])
                if renewed:
                    self.holdings.put(renewed[0])
                    return renewed[0].token
                self.holdings.drop(self.name, "renewal refused: expired or taken over")
            grant = self.table.take(self.name)
        except CoordinationUnavailable as exc:
            self.holdings.expire_local()
            token = self.token
            log.debug("lease %s: %s; %s", self.name, exc, f"holding token {token} until the local deadline"
                      if token is not None else "not held")
            return token
        if grant is None:
            self.holdings.drop(self.name, "held by another replica", level=logging.INFO)
            return None
        log.info("lease %s taken by %s with fencing token %d", self.name, self.table.holder, grant.token)
        self.holdings.put(grant)
        return grant.token

    def check(self) -> None:
        held = self.holdings.latest(self.name)
        if held is None:
            raise FencingError(f"{self.table.holder} does not hold lease {self.name}")
        self.holdings.check(self.name, held.token)

    def release(self) -> None:
        held = self.holdings.drop(self.name, "released", level=logging.INFO) if self.holdings.get(self.name) else None
        if held is None:
            return
        try:
            self.table.release([held])
        except CoordinationUnavailable as exc:
            log.warning("lease %s not released in PostgreSQL (%s): it expires on its own", self.name, exc)

    def parts(self, master: MasterData) -> list[Part]:
        held = self.holdings.get(self.name)
        return [Part(self.name, held.token, master, self.holdings.fence(self.name, held.token))] if held else []

    def owns(self, enterprise_id: str) -> bool:
        return self.holdings.get(self.name) is not None

    def fence_for(self, enterprise_id: str) -> Fence:
        held = self.holdings.get(self.name)
        return self.holdings.fence(self.name, held.token) if held else NotOwned(enterprise_id)
