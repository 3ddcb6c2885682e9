"""Leader lease and enterprise sharding, so replicas never double-compute or double-send.

:class:`FileLease` keeps ``{"holder", "token", "expires_at_s"}`` in a JSON file and changes it
only under an exclusive ``fcntl.flock`` of a sibling ``.lock`` file (works for replicas on one
host, and on shared filesystems whose flock is coherent, e.g. NFSv4 or CephFS). A replica holds
the lease until ``expires_at_s``; it renews every tick. When the holder stops renewing, the next
contender after expiry takes over and the **fencing token** increases by one. Before every write
or send, :meth:`FileLease.check` re-reads the file under the lock: a replica whose token is no
longer current (it was paused longer than the TTL and someone took over) raises
:class:`FencingError` instead of writing.

Sharding: ``--shard i/n`` takes the enterprises whose stable hash (SHA-256, not Python's
randomised ``hash``) modulo ``n`` equals ``i``; run ``n`` replicas (or ``n`` pairs with leases).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from seamline.rules.kpi_points import FencingError

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class LeaseState:
    holder: str
    token: int
    expires_at_s: float


class Lease(Protocol):
    """A renewable exclusive lease with a fencing token."""

    @property
    def token(self) -> int | None:
        """The fencing token held since the last ``acquire`` (``None``: not held)."""

    def acquire(self) -> int | None:
        """Take or renew the lease; the fencing token when held, else ``None``."""

    def check(self) -> None:
        """Raise :class:`FencingError` unless this replica still holds a current lease."""

    def release(self) -> None:
        """Give the lease up now (on clean shutdown) so another replica need not wait the TTL."""

    def owns(self, enterprise_id: str) -> bool:
        """True if this replica holds the lease covering ``enterprise_id`` (as of the last ``acquire``)."""


class FileLease:
    """fcntl-locked lease file; ``ttl_s`` should be ≥ 3 renew intervals (a tick may be slow)."""

    def __init__(self, path: Path, *, holder: str, ttl_s: float, clock: Clock = time.time) -> None:
        if not ttl_s > 0:
            raise ValueError("ttl_s must be > 0")
        self.path = path
        self.holder = holder
        self.ttl_s = ttl_s
        self._clock = clock
        self._token: int | None = None

    @property
    def token(self) -> int | None:
        return self._token

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _read(self) -> LeaseState | None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return LeaseState(str(raw["holder"]), int(raw["token"]), float(raw["expires_at_s"]))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            raise FencingError(f"{self.path}: unreadable lease file: {exc}") from exc

    def _write(self, state: LeaseState) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"holder": state.holder, "token": state.token,
                                   "expires_at_s": state.expires_at_s}), encoding="utf-8")
        os.replace(tmp, self.path)

    def acquire(self) -> int | None:
        with self._locked():
            now = self._clock()
            cur = self._read()
            if cur is not None and cur.holder == self.holder and cur.token == self._token and now < cur.expires_at_s:
                self._write(LeaseState(self.holder, cur.token, now + self.ttl_s))
                return self._token
            if cur is not None and now < cur.expires_at_s:
                self._token = None
                return None
            token = (cur.token if cur else 0) + 1
            self._write(LeaseState(self.holder, token, now + self.ttl_s))
            self._token = token
            return token

    def check(self) -> None:
        if self._token is None:
            raise FencingError(f"{self.holder} does not hold the lease {self.path}")
        with self._locked():
            cur = self._read()
            now = self._clock()
        if cur is None or cur.holder != self.holder or cur.token != self._token or now >= cur.expires_at_s:
            self._token = None
            raise FencingError(f"{self.holder} lost the lease {self.path} (now held by {cur.holder if cur else None})")

    def owns(self, enterprise_id: str) -> bool:
        """The file lease covers this replica's whole (statically sharded) master data."""
        return self._token is not None

    def release(self) -> None:
        if self._token is None:
            return
        with self._locked():
            cur = self._read()
            if cur is not None and cur.holder == self.holder and cur.token == self._token:
                self._write(LeaseState(self.holder, cur.token, 0.0))
        self._token = None


class NoLease:
    """A single replica: always the holder (token 1)."""

    @property
    def token(self) -> int | None:
        return 1

    def acquire(self) -> int | None:
        return 1

    def check(self) -> None:
        return None

    def release(self) -> None:
        return None

    def owns(self, enterprise_id: str) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``index`` of ``count`` (``0 <= index < count``)."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard must be i/n with 0 <= i < n, got {self.index}/{self.count}")

    @classmethod
    def parse(cls, text: str) -> Shard:
        try:
            i, n = (int(x) for x in text.split("/"))
        except ValueError:
            raise ValueError(f"shard must look like i/n (e.g. 0/2), got {text!r}") from None
        return cls(i, n)

    def owns(self, enterprise_id: str) -> bool:
        return shard_of(enterprise_id, self.count) == self.index

    def select(self, enterprise_ids: Sequence[str]) -> list[str]:
        return [e for e in enterprise_ids if self.owns(e)]


def shard_of(enterprise_id: str, count: int) -> int:
    """Stable shard number of an enterprise: the same on every host and Python run."""
    digest = hashlib.sha256(enterprise_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count
