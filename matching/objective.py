"""The matching objective and its weights (maximised; every term in standard-minute units).

Priorities, in order:

1. **On-time standard minutes.** Every allocated standard minute is worth 1. Only days on or
   before an order's due day are offered, so every allocated minute is on time.
2. **Fewer splits.** Each factory an order uses costs ``split_penalty_std_min`` (MILP only: it
   needs a binary "order uses factory" variable). The default, 1 std-min, is below the SAM of
   any realistic garment (≥ ~3 min), so the solver never gives up a whole piece to avoid a split,
   but prefers one factory whenever the minutes are equal.
3. **Better factories.** Each allocated minute loses ``eps × preference_cost`` with the cost in
   [0, 1] (:func:`preference_cost`: measured efficiency, quality, on-time history and,
   optionally, on-site green-energy surplus). ``eps = 1 / (2·n + 2)`` for a component with ``n``
   orders: an augmenting path of the flow alternates at most ``n`` orders, so moving flow along
   it gains at most ``(n + 1)·eps < 1`` of preference while losing a whole minute — level 1 is
   never traded for level 3 (the brute-force tests check exactly this).

Without binaries the LP vertex solution of this transportation problem already splits an order
only where a line's capacity binds (a basic solution has at most orders + binding rows − 1
positive arcs), which is why LP mode does not need the split term.
"""

from __future__ import annotations

from dataclasses import dataclass

# Why 1.0: under one piece of any garment (SAMs are ≥ ~3 std-min), see level 2 above.
DEFAULT_SPLIT_PENALTY_STD_MIN = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PreferenceWeights:
    """Relative weights of the level-3 criteria; normalised, so only ratios matter.

    Efficiency leads because it is measured by our own telemetry (the least gameable figure);
    quality and on-time history come from the platform's records. Green surplus is opt-in (0)."""

    efficiency: float = 0.4
    quality: float = 0.3
    on_time: float = 0.3
    green: float = 0.0
    # Grade preference (platform configuration): factories graded at or better than this grade
    # index (1 = A or B) are preferred on ties of on-time minutes over every other factory, the
    # criteria above only ordering factories within each side; None = grades are ignored.
    prefer_grade_index_max: int | None = None

    def __post_init__(self) -> None:
        parts = (self.efficiency, self.quality, self.on_time, self.green)
        if any(w < 0 for w in parts) or sum(parts) <= 0:
            raise ValueError("preference weights must be >= 0 and not all 0")


# Measured line efficiency above this is treated as the best possible (DOMAIN: small firms run
# 0.4-0.6; 0.8 is an excellent line), so the cost spans the realistic range.
BEST_EFFICIENCY = 0.8


def preference_cost(
    *, efficiency: float, quality: float, on_time_rate: float, green_share: float, weights: PreferenceWeights
) -> float:
    """Level-3 cost in [0, 1] of one standard minute at a line: 0 = best on every criterion.

    ``efficiency`` is the line's measured efficiency (fraction), ``quality`` and ``on_time_rate``
    the factory's history (fractions), ``green_share`` its share of energy from on-site surplus."""
    eff = min(max(efficiency, 0.0), BEST_EFFICIENCY) / BEST_EFFICIENCY
    total = weights.efficiency + weights.quality + weights.on_time + weights.green
    cost = (
        weights.efficiency * (1.0 - eff)
        + weights.quality * (1.0 - quality)
        + weights.on_time * (1.0 - on_time_rate)
        + weights.green * (1.0 - green_share)
    ) / total
    return min(max(cost, 0.0), 1.0)


def with_grade(cost: float, *, grade_index: int | None, weights: PreferenceWeights) -> float:
    """``cost`` moved into [0, 0.49] for a preferred grade and [0.51, 1] otherwise, when the grade
    preference is on: every preferred factory costs less than every other one, and the cost stays
    in [0, 1], so on-time minutes are still never traded for it (see ``preference_eps``)."""
    if weights.prefer_grade_index_max is None:
        return cost
    preferred = grade_index is not None and grade_index <= weights.prefer_grade_index_max
    return 0.49 * cost if preferred else 0.51 + 0.49 * cost


def preference_eps(n_orders: int) -> float:
    """Weight of the level-3 cost per standard minute in a component of ``n_orders`` orders."""
    return 1.0 / (2.0 * max(n_orders, 0) + 2.0)
