"""Lease semantics (file lease with a simulated clock) and enterprise sharding."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.rules.kpi_points import FencingError, KpiPoint, KpiPointWriter
from seamline.rules.lease import FileLease, Shard, shard_of


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _pair(tmp_path: Path, clock: Clock) -> tuple[FileLease, FileLease]:
    path = tmp_path / "rules.lease"
    return (FileLease(path, holder="a", ttl_s=30, clock=clock), FileLease(path, holder="b", ttl_s=30, clock=clock))


def test_exactly_one_of_two_contenders_holds(tmp_path: Path) -> None:
    clock = Clock()
    a, b = _pair(tmp_path, clock)
    assert a.acquire() == 1
    assert b.acquire() is None
    clock.t += 20
    assert a.acquire() == 1  # renewal keeps the token
    assert b.acquire() is None
    clock.t += 29  # 49 s after start, 29 s after the renewal: still a's
    assert b.acquire() is None
    a.check()
    with pytest.raises(FencingError):
        b.check()
    assert a.owns("f001") and not b.owns("f001")  # what alert evaluation asks before acting


def test_expiry_hands_over_with_a_higher_fencing_token(tmp_path: Path) -> None:
    clock = Clock()
    a, b = _pair(tmp_path, clock)
    assert a.acquire() == 1
    clock.t += 30  # a stopped renewing (paused, crashed)
    assert b.acquire() == 2
    with pytest.raises(FencingError, match="a lost the lease"):
        a.check()
    assert a.acquire() is None  # the old holder cannot take it back while b renews
    b.release()
    assert a.acquire() == 3


def test_a_replica_that_lost_its_lease_does_not_write(tmp_path: Path) -> None:
    clock = Clock()
    a, b = _pair(tmp_path, clock)
    a.acquire()

    class Recorder:
        def __init__(self) -> None:
            self.lines: list[str] = []

        def write(self, lines: object) -> None:
            self.lines += list(lines)  # type: ignore[call-overload]

        def close(self) -> None:
            return None

    rec = Recorder()
    writer = KpiPointWriter(rec, fence=a)
    point = KpiPoint("kpi_line", (("line", "l1"),), 0, (("coverage", 1.0),))
    assert writer.write([point]) == 1
    clock.t += 31
    assert b.acquire() == 2
    with pytest.raises(FencingError):
        writer.write([point])
    assert len(rec.lines) == 1


def test_corrupt_lease_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "rules.lease").write_text("{not json")
    a, _ = _pair(tmp_path, Clock())
    with pytest.raises(FencingError, match="unreadable lease file"):
        a.acquire()


@given(ids=st.lists(st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True), unique=True, max_size=60),
       n=st.integers(min_value=1, max_value=9))
def test_every_enterprise_is_in_exactly_one_shard(ids: list[str], n: int) -> None:
    owners = {e: [i for i in range(n) if Shard(i, n).owns(e)] for e in ids}
    assert all(len(v) == 1 for v in owners.values())
    assert sorted(e for i in range(n) for e in Shard(i, n).select(ids)) == sorted(ids)


def test_shard_is_stable_and_parsed() -> None:
    assert shard_of("f001", 4) == shard_of("f001", 4) == int.from_bytes(
        hashlib.sha256(b"f001").digest()[:8], "big") % 4
    assert Shard.parse("1/3") == Shard(1, 3)
    for bad in ("3/3", "x", "1/0", "-1/2"):
        with pytest.raises(ValueError):
            Shard.parse(bad)
