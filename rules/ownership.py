"""Which enterprises this replica computes right now, and the fence that guards each part's writes.

A :class:`Part` is a slice of the master data this replica owns under one lease (a whole static
shard, or one dynamic shard), with the lease's name (also the ledger's shard key), the fencing
token it holds and the :class:`~seamline.rules.kpi_points.Fence` to check before every write.

Anything that acts on behalf of an enterprise (KPI writes, the capacity feed, alert evaluation)
asks the :class:`Ownership`: ``owns(enterprise_id)`` before doing the work, and
``fence_for(enterprise_id).check()`` right before each side effect.

:class:`WholeLease` adapts a single :class:`~seamline.rules.lease.Lease` (file lease, no lease, a
static PostgreSQL lease): while it is held, this replica owns all of its (statically sharded)
master data as one part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from seamline.rules.kpi_points import Fence, FencingError
from seamline.rules.lease import Lease
from seamline.rules.master_data import MasterData


@dataclass(frozen=True, slots=True)
class Part:
    """``master`` (a subset of the enterprises) owned under lease ``key`` with fencing ``token``."""

    key: str
    token: int
    master: MasterData
    fence: Fence


class Ownership(Protocol):
    def parts(self, master: MasterData) -> list[Part]:
        """The parts of ``master`` this replica holds now (call the lease's ``acquire`` first)."""

    def owns(self, enterprise_id: str) -> bool:
        """True if this replica currently holds the lease that covers ``enterprise_id``."""

    def fence_for(self, enterprise_id: str) -> Fence:
        """The fence to check before a side effect on behalf of ``enterprise_id``."""


class NotOwned:
    """The fence of an enterprise this replica does not own: always refuses."""

    def __init__(self, enterprise_id: str) -> None:
        self.enterprise_id = enterprise_id

    def check(self) -> None:
        raise FencingError(f"this replica does not own enterprise {self.enterprise_id}")


class WholeLease:
    """One lease covers everything in this replica's master data (already statically sharded)."""

    def __init__(self, lease: Lease, *, key: str = "all") -> None:
        self.lease = lease
        self.key = key

    def _token(self) -> int | None:
        return self.lease.token

    def parts(self, master: MasterData) -> list[Part]:
        token = self._token()
        return [Part(self.key, token, master, self.lease)] if token is not None else []

    def owns(self, enterprise_id: str) -> bool:
        return self._token() is not None

    def fence_for(self, enterprise_id: str) -> Fence:
        return self.lease if self._token() is not None else NotOwned(enterprise_id)
