"""Rendezvous hashing of shards over live replicas: one owner each, minimal movement when a
replica leaves or joins, balance in expectation."""

from __future__ import annotations

import hashlib
import math

from hypothesis import given
from hypothesis import strategies as st

from seamline.rules.coordination.rendezvous import assignment, owned_by, owner, weight

names = st.from_regex(r"[a-z0-9-]{1,16}", fullmatch=True)
replica_sets = st.sets(names, min_size=1, max_size=9)


@given(replicas=replica_sets, n=st.integers(min_value=1, max_value=200))
def test_every_shard_has_exactly_one_live_owner(replicas: set[str], n: int) -> None:
    a = assignment(n, replicas)
    assert sorted(a) == list(range(n))
    assert set(a.values()) <= replicas
    mine = [owned_by(r, n, replicas) for r in replicas]
    assert sum(len(m) for m in mine) == n and frozenset().union(*mine) == frozenset(range(n))


@given(replicas=st.sets(names, min_size=2, max_size=9), n=st.integers(min_value=1, max_value=200), data=st.data())
def test_when_a_replica_leaves_only_its_shards_move(replicas: set[str], n: int, data: st.DataObject) -> None:
    gone = data.draw(st.sampled_from(sorted(replicas)))
    before, after = assignment(n, replicas), assignment(n, replicas - {gone})
    for s in range(n):
        if before[s] != gone:
            assert after[s] == before[s]
        else:
            assert after[s] != gone


@given(replicas=replica_sets, new=names, n=st.integers(min_value=1, max_value=200))
def test_when_a_replica_joins_shards_move_only_to_it(replicas: set[str], new: str, n: int) -> None:
    before, after = assignment(n, replicas), assignment(n, replicas | {new})
    assert all(after[s] in (before[s], new) for s in range(n))


@given(replicas=st.sets(names, min_size=1, max_size=8), n=st.integers(min_value=256, max_value=2048))
def test_shares_are_balanced_within_five_standard_deviations(replicas: set[str], n: int) -> None:
    m = len(replicas)
    mean, sd = n / m, math.sqrt(n * (1 / m) * (1 - 1 / m))
    counts = {r: 0 for r in replicas}
    for r in assignment(n, replicas).values():
        counts[r] += 1
    # binomial spread: 5 sd leaves a ~1e-6 chance per replica of a false alarm; a biased hash
    # (e.g. one that ignored the shard) puts everything on one replica and fails at once
    assert all(abs(c - mean) <= 5 * sd + 1 for c in counts.values()), counts


def test_weights_are_stable_and_ties_break_by_name() -> None:
    assert weight(3, "r1") == weight(3, "r1") == int.from_bytes(hashlib.sha256(b"3\x00r1").digest()[:8], "big")
    assert owner(0, []) is None
    assert assignment(4, []) == {}
    assert owned_by("solo", 5, []) == frozenset(range(5))  # a replica counts itself live
