"""Matching benchmark: optimiser vs greedy earliest-due-date baseline on generated clusters.

    .venv/bin/python -m bench.matching [--sizes small,medium,large] [--seed 7] [--time-limit 20]

Instances are seeded and realistic: product categories with their SAM ranges (5-60 std-min),
orders of 500-20 000 pieces due 2-14 days ahead, lines of 10-200 operators × 480 min ×
efficiency 0.4-0.6 with most of it already booked (so capacity is tight and choices matter),
factory MOQs, order minimums and non-splittable orders. Prints one row per size with both
figures measured in the same run, the upper bound on on-time minutes (maximum flow of the full
network with every minimum dropped) and the plan's gap to it, the method that won (flow2, flow,
flow+milp, milp, contention, greedy); exits 1 if the plan ever has fewer on-time minutes.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from seamline.matching.capacity import LineCapacity, LineKey
from seamline.matching.models import FactoryProfile, Order, ProfileBook
from seamline.matching.objective import DEFAULT_SPLIT_PENALTY_STD_MIN
from seamline.matching.planner import MatchOptions, plan_orders
from seamline.matching.solver import SolveOptions

# category -> (SAM low, SAM high) in std-min; DOMAIN.md: T-shirt 5-10, shirt ~20-25, jackets far more
CATEGORIES: dict[str, tuple[float, float]] = {
    "tshirt": (5.0, 10.0),
    "polo": (8.0, 14.0),
    "shirt": (18.0, 26.0),
    "trousers": (15.0, 25.0),
    "dress": (20.0, 35.0),
    "knitwear": (12.0, 22.0),
    "jacket": (35.0, 50.0),
    "down_jacket": (45.0, 60.0),
}
SHIFT_MIN = 480.0
DAYS = 14


@dataclass(frozen=True, slots=True)
class Size:
    name: str
    factories: int
    orders: int


SIZES = {
    "small": Size("small", 60, 20),
    "medium": Size("medium", 800, 200),
    "large": Size("large", 8000, 2000),
}


@dataclass(frozen=True, slots=True)
class Instance:
    orders: list[Order]
    lines: list[LineCapacity]
    book: ProfileBook
    today: date


def generate(size: Size, *, seed: int, today: date = date(2025, 3, 3)) -> Instance:
    """A seeded cluster of ``size.factories`` factories (1-2 lines each) and ``size.orders`` orders."""
    rng = np.random.default_rng(seed)
    cats = list(CATEGORIES)
    days = tuple(today + timedelta(days=d) for d in range(DAYS))
    lines: list[LineCapacity] = []
    profiles: dict[str, FactoryProfile] = {}
    for f in range(size.factories):
        ent = f"f{f:05d}"
        n_cat = int(rng.integers(1, 4))
        fcats = frozenset(rng.choice(cats, size=n_cat, replace=False).tolist())
        profiles[ent] = FactoryProfile(
            enterprise=ent,
            moq_pieces=int(rng.integers(300, 2000)) if rng.random() < 0.3 else 0,
            quality=float(rng.uniform(0.85, 0.99)),
            on_time_rate=float(rng.uniform(0.7, 0.98)),
            green_share=float(rng.uniform(0.0, 0.5)),
        )
        for ln in range(1 if rng.random() < 0.8 else 2):
            operators = int(rng.integers(10, 201))
            eff = float(rng.uniform(0.4, 0.6))
            available = operators * SHIFT_MIN * eff
            # Most of the cluster is already busy: 70-100 % booked, Sundays off.
            booked = rng.uniform(0.7, 1.0, size=DAYS)
            free = [
                0.0 if d.weekday() == 6 else round(available * (1 - b), 1)
                for d, b in zip(days, booked, strict=True)
            ]
            lines.append(
                LineCapacity(
                    key=LineKey(enterprise=ent, site="s1", line=f"l{ln}"),
                    categories=fcats,
                    days=days,
                    free_std_min=tuple(free),
                    efficiency=eff,
                )
            )
    orders = []
    for o in range(size.orders):
        cat = cats[int(rng.integers(0, len(cats)))]
        lo, hi = CATEGORIES[cat]
        qty = int(np.exp(rng.uniform(np.log(500), np.log(20_000))))
        splittable = rng.random() >= 0.1
        orders.append(
            Order(
                order_id=f"o{o:05d}",
                buyer=f"b{int(rng.integers(0, 50)):02d}",
                category=cat,
                sam_min=round(float(rng.uniform(lo, hi)), 2),
                quantity=qty,
                due=today + timedelta(days=int(rng.integers(2, DAYS))),
                min_qty_per_factory=int(qty * rng.uniform(0.2, 0.4)) if splittable and rng.random() < 0.15 else 0,
                splittable=splittable,
            )
        )
    return Instance(orders=orders, lines=lines, book=ProfileBook(profiles=profiles), today=today)


def run(sizes: list[str], *, seed: int, time_limit_s: float, split_penalty: float) -> int:
    header = (
        f"{'size':<7}{'factories':>10}{'lines':>7}{'orders':>7}{'demand std-min':>16}{'greedy std-min':>16}"
        f"{'optimised':>14}{'gain %':>8}{'upper bound':>14}{'gap %':>7}{'method':>11}{'status':>31}{'mip gap':>9}"
        f"{'vars':>7}{'gen s':>7}{'solve s':>8}"
    )
    print(header)
    worse = 0
    for name in sizes:
        t0 = time.perf_counter()
        inst = generate(SIZES[name], seed=seed)
        t_gen = time.perf_counter() - t0
        options = MatchOptions(solve=SolveOptions(time_limit_s=time_limit_s, split_penalty_std_min=split_penalty))
        t1 = time.perf_counter()
        result = plan_orders(inst.orders, inst.lines, inst.book, options=options)
        t_solve = time.perf_counter() - t1
        st = result.plan.stats
        got = result.plan.on_time_std_min()
        base = result.baseline_std_min
        demand = sum(o.std_min for o in inst.orders)
        worse += got + 1e-6 < base
        mip_gap = "-" if st.mip_gap is None else f"{st.mip_gap:.1e}"
        bound = "-" if st.bound_std_min is None else f"{st.bound_std_min:,.0f}"
        gap = "-" if st.bound_gap is None else f"{100 * st.bound_gap:.2f}"
        print(
            f"{name:<7}{len(set(ln.key.enterprise for ln in inst.lines)):>10}{len(inst.lines):>7}"
            f"{len(inst.orders):>7}{demand:>16,.0f}{base:>16,.0f}{got:>14,.0f}"
            f"{100 * (got - base) / max(base, 1):>8.2f}{bound:>14}{gap:>7}{st.method:>11}{st.status[:30]:>31}"
            f"{mip_gap:>9}{st.variables:>7}{t_gen:>7.1f}{t_solve:>8.1f}",
            flush=True,
        )
    return 1 if worse else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="small,medium,large", help="comma list of: " + ",".join(SIZES))
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--time-limit", type=float, default=20.0, help="HiGHS seconds per instance (default 20)")
    p.add_argument(
        "--split-penalty", type=float, default=DEFAULT_SPLIT_PENALTY_STD_MIN, help="std-min per factory used"
    )
    args = p.parse_args(argv)
    sizes = [s for s in args.sizes.split(",") if s]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        p.error(f"unknown sizes {unknown}; choose from {list(SIZES)}")
    return run(sizes, seed=args.seed, time_limit_s=args.time_limit, split_penalty=args.split_penalty)


if __name__ == "__main__":
    sys.exit(main())
