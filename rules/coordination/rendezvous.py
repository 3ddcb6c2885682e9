"""Rendezvous (highest-random-weight) hashing: which live replica owns which shard.

Every replica computes the same answer from the same live set, with no coordinator: shard ``s``
belongs to the replica ``r`` with the largest ``weight(s, r)`` (SHA-256, stable across hosts and
Python runs; ties broken by name). Properties (tests/unit/rules/test_rules_rendezvous.py):

* every shard has exactly one owner among the live replicas;
* minimal movement: when a replica leaves, only its shards move (each to the survivor with its next
  highest weight); when one joins, only shards that it now owns move, all to it;
* balance in expectation: each replica owns ``shards / replicas`` on average, with binomial
  spread (64 shards over 4 replicas: 16 ± 3.5).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def weight(shard: int, replica: str) -> int:
    """The pseudo-random weight of ``replica`` for ``shard`` (a 64-bit integer)."""
    digest = hashlib.sha256(f"{shard}\x00{replica}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def owner(shard: int, replicas: Iterable[str]) -> str | None:
    """The owner of ``shard`` among ``replicas`` (``None`` if there are none)."""
    best: tuple[int, str] | None = None
    for r in replicas:
        cand = (weight(shard, r), r)
        if best is None or cand > best:
            best = cand
    return best[1] if best else None


def assignment(shard_count: int, replicas: Iterable[str]) -> dict[int, str]:
    """Owner of each shard ``0 .. shard_count - 1``; empty if there is no replica."""
    live = sorted(set(replicas))
    if not live:
        return {}
    return {s: owner(s, live) or live[0] for s in range(shard_count)}


def owned_by(replica: str, shard_count: int, replicas: Iterable[str]) -> frozenset[int]:
    """The shards ``replica`` should hold given the live set (``replica`` counts as live)."""
    live = set(replicas) | {replica}
    return frozenset(s for s, r in assignment(shard_count, live).items() if r == replica)
