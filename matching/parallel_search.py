"""The neighbourhood search in several threads over disjoint neighbourhoods.

The search's time is mostly its sub-MILPs, and HiGHS (through scipy) releases the GIL for much of a
solve (8 small MILPs: 13.2 s in sequence, 9.0 s in two threads). So each worker thread runs the
loop of ``neighbourhood.improve`` on one shared :class:`SearchState`:

1. under the lock: pick a seed among the short orders no other worker holds, release it with the
   orders that compete for its lines (again none held elsewhere), mark them held, and build their
   sub-network on the capacity every other booking leaves *now*;
2. without the lock: solve the sub-MILP and schedule it in whole pieces;
3. under the lock: keep the result only if it books more than the released orders book now, keeps
   every minimum, and still fits every line-day beside what the other workers applied meanwhile
   (``fits_beside``: another worker's move may have taken minutes of a line this one planned on);
   then release the orders.

Passes over the short orders, the tried set and the doubling of the neighbourhoods are shared as
in the single-threaded search; a pass ends only when no worker holds a neighbourhood. Deadlines are
on the caller's clock, which should be a wall clock here (a CPU clock counts every thread).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from seamline.matching.neighbourhood import (
    DEFAULT_STEP_S,
    MAX_ORDERS_CAP,
    RESYNC_EVERY,
    Search,
    SearchSpace,
    resolve_sub,
)
from seamline.matching.network import FloatArray, IntArray, Network
from seamline.matching.schedule import PIECE_TOLERANCE, Booking, booked_per_line_day
from seamline.matching.search_state import SearchState, std_min_of, sub_network

# A worker that finds every short order held by another waits this long before looking again.
WAIT_S = 0.002


@dataclass(slots=True)
class _Shared:
    """What the workers share; every field is read and written under ``lock``."""

    state: SearchState
    size: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    held: set[int] = field(default_factory=set)
    tried: set[int] = field(default_factory=set)
    improved_in_pass: bool = False
    done: bool = False
    steps: int = 0
    improved: int = 0
    conflicts: int = 0
    gained: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ParallelSearch:
    search: Search
    conflicts: int  # results dropped because another worker's move took the minutes they needed


def fits_beside(cap: FloatArray, booked: FloatArray, mine: list[Booking], new: list[Booking]) -> bool:
    """``new`` replacing ``mine`` keeps every line-day it touches within its free minutes, given
    ``booked`` (every booking now, ``mine`` included)."""
    delta: dict[tuple[int, int], float] = {}
    for b in new:
        delta[(b.line, b.day)] = delta.get((b.line, b.day), 0.0) + b.std_min
    for b in mine:
        if (b.line, b.day) in delta:
            delta[(b.line, b.day)] -= b.std_min
    return all(booked[j, k] + add <= cap[j, k] + PIECE_TOLERANCE * max(cap[j, k], 1.0)
               for (j, k), add in delta.items())


def improve_in_threads(
    net: Network,
    bookings: list[Booking],
    orders: IntArray,
    *,
    deadline_s: float,
    threads: int = 2,
    max_orders: int,
    wide: Network | None,
    factories_per_order: int,
    clock: Callable[[], float] = time.monotonic,
    seed: int = 0,
) -> ParallelSearch:
    """``neighbourhood.improve`` of ``orders`` with ``threads`` workers until ``deadline_s``."""
    search = _Workers(space=SearchSpace.of(net, orders, wide=wide, factories_per_order=factories_per_order),
                      deadline_s=deadline_s, clock=clock,
                      shared=_Shared(state=SearchState.of(net, bookings), size=max_orders))
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            search.work(np.random.default_rng(seed + k))
        except BaseException as exc:  # re-raised in the caller's thread below
            errors.append(exc)
            with search.shared.lock:
                search.shared.done = True

    pool = [threading.Thread(target=run, args=(k,), name=f"search-{k}", daemon=True) for k in range(max(threads, 1))]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]
    shared = search.shared
    return ParallelSearch(
        search=Search(bookings=shared.state.bookings(), steps=shared.steps, improved=shared.improved,
                      gained_std_min=shared.gained),
        conflicts=shared.conflicts,
    )


class _Workers:
    """What every worker thread runs (:meth:`work`), on one :class:`_Shared`."""

    def __init__(self, *, space: SearchSpace, deadline_s: float, clock: Callable[[], float], shared: _Shared) -> None:
        self.space, self.deadline_s, self.clock, self.shared = space, deadline_s, clock, shared

    def work(self, rng: np.random.Generator) -> None:
        shared = self.shared
        while self.clock() < self.deadline_s:
            with shared.lock:
                if shared.done:
                    return
                released = self._pick(rng)
                if released is not None:
                    sub = sub_network(self.space.cand, shared.state, released)
                    mine = [b for i in released.tolist() for b in shared.state.by_order.get(i, [])]
                    old = std_min_of(mine)  # the released orders are held: nobody else moves them
                    shared.steps += 1
            if released is None:
                if shared.done:
                    return
                time.sleep(WAIT_S)
                continue
            try:
                again = resolve_sub(sub, min(DEFAULT_STEP_S, self.deadline_s - self.clock()), old, self.clock)
            except BaseException:
                with shared.lock:
                    shared.held.difference_update(released.tolist())
                raise
            with shared.lock:  # apply and let go of the orders in one step: nobody planned them meanwhile
                shared.held.difference_update(released.tolist())
                if again is not None:
                    self._apply(released, mine, old, again)

    def _pick(self, rng: np.random.Generator) -> IntArray | None:
        """Under the lock: the next neighbourhood (held from now on), or None (wait, or ``done``)."""
        shared = self.shared
        while True:
            short = self.space.short(shared.state)
            fresh = [i for i in short if i not in shared.tried and i not in shared.held]
            if fresh:
                break
            if shared.held:
                return None
            if not short or (not shared.improved_in_pass and shared.size >= MAX_ORDERS_CAP):
                shared.done = True
                return None
            if not shared.improved_in_pass:
                shared.size = min(2 * shared.size, MAX_ORDERS_CAP)
            shared.tried.clear()
            shared.improved_in_pass = False
        seed_order = int(rng.choice(fresh))
        shared.tried.add(seed_order)
        near = self.space.competing_orders(seed_order, 4 * shared.size, rng)
        released = np.array([i for i in near.tolist() if i not in shared.held][: shared.size], dtype=np.int64)
        shared.held.update(released.tolist())
        return released

    def _apply(self, released: IntArray, mine: list[Booking], old: float, again: list[Booking]) -> None:
        """Under the lock: keep ``again`` for the released orders if it still fits beside the rest."""
        shared = self.shared
        if not fits_beside(self.space.net.cap, shared.state.booked, mine, again):
            shared.conflicts += 1
            shared.tried.discard(int(released[0]))  # its seed may try again in this pass, on today's capacity
            return
        shared.state.replace(released, again)
        shared.improved += 1
        shared.gained += std_min_of(again) - old
        shared.improved_in_pass = True
        if shared.improved % RESYNC_EVERY == 0:
            shared.state.booked = booked_per_line_day(shared.state.bookings(), self.space.net.cap.shape)
