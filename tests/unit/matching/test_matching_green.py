"""Orders' green requirements, their unmet reasons, the grade preference on ties, and where the
figures come from (order book columns, capacity messages, the rules carbon feed, grade messages)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from seamline.contracts.carbon import CarbonMessage
from seamline.contracts.grades import GradeMessage
from seamline.contracts.messages import CapacityDay, CapacityMessage
from seamline.matching.capacity import LineCapacity, LineKey, from_messages, with_carbon
from seamline.matching.grades import with_grades
from seamline.matching.models import FactoryProfile, Order, ProfileBook, UnallocatedReason
from seamline.matching.objective import PreferenceWeights
from seamline.matching.order_book import parse_orders, read_rows
from seamline.matching.planner import MatchOptions, plan_orders

D0 = date(2030, 1, 7)
TS = 1_900_000_000_000


def line(ent: str, free: float, *, green: float | None = None, co2e: float | None = None, eff: float = 0.5,
         name: str = "l1") -> LineCapacity:
    return LineCapacity(key=LineKey(enterprise=ent, site="s", line=name), categories=frozenset({"x"}),
                        days=(D0,), free_std_min=(free,), efficiency=eff, green_share=green, co2e_kg_per_piece=co2e)


def order(oid: str, qty: int, **kw: object) -> Order:
    return Order(order_id=oid, buyer="b", category="x", sam_min=10.0, quantity=qty, due=D0, **kw)  # type: ignore[arg-type]


def placed(plan, oid: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    out: dict[str, int] = {}
    for a in plan.allocations:
        if a.order_id == oid:
            out[a.enterprise] = out.get(a.enterprise, 0) + a.pieces
    return out


def test_green_share_minimum_keeps_the_order_off_grey_lines() -> None:
    # grey: 300 std-min, green (0.8): 100. G wants >= 50 % green: only 10 of its 30 pieces fit.
    lines = [line("grey", 300.0, green=0.1, eff=0.8), line("green", 100.0, green=0.8)]
    plan = plan_orders([order("G", 30, green_share_min=0.5)], lines, ProfileBook()).plan
    assert placed(plan, "G") == {"green": 10}
    [left] = plan.unallocated
    assert (left.pieces, left.reason) == (20, UnallocatedReason.GREEN_REQUIREMENT)
    assert "1 lines with free capacity do not meet it" in left.detail
    # without the requirement all 30 pieces are made
    assert plan_orders([order("G", 30)], lines, ProfileBook()).plan.unallocated == []


def test_co2e_limit_and_unknown_figures() -> None:
    # dirty (0.9 kg/piece) and unknown (None) do not meet <= 0.5 kg; clean (0.2) does
    lines = [line("dirty", 100.0, co2e=0.9), line("unknown", 100.0), line("clean", 50.0, co2e=0.2)]
    plan = plan_orders([order("C", 15, co2e_max_per_piece=0.5)], lines, ProfileBook()).plan
    assert placed(plan, "C") == {"clean": 5}
    assert [u.reason for u in plan.unallocated] == [UnallocatedReason.GREEN_REQUIREMENT]


def test_no_line_meets_the_requirement_at_all() -> None:
    plan = plan_orders([order("G", 5, green_share_min=0.9)], [line("a", 100.0, green=0.5)], ProfileBook()).plan
    [left] = plan.unallocated
    assert left.reason is UnallocatedReason.GREEN_REQUIREMENT and left.pieces == 5
    assert "no line making 'x' has green share >= 90 %" in left.detail


def test_full_green_lines_and_no_other_room_is_capacity() -> None:
    # the grey line is full too: the requirement is not what stops the order
    lines = [line("grey", 0.0, green=0.1), line("green", 50.0, green=0.8)]
    plan = plan_orders([order("G", 10, green_share_min=0.5)], lines, ProfileBook()).plan
    assert [u.reason for u in plan.unallocated] == [UnallocatedReason.INSUFFICIENT_CAPACITY_BEFORE_DUE]


def test_optimal_plan_never_says_no_free_capacity_where_the_optimum_makes_pieces() -> None:
    # SAM 7 on 20 free std-min: whole pieces fit 2 (14 std-min); the rest is capacity, and the
    # plan is proven optimal, so nothing is blamed on the planner
    lines = [line("a", 20.0)]
    plan = plan_orders([Order(order_id="A", buyer="b", category="x", sam_min=7.0, quantity=5, due=D0)], lines,
                       ProfileBook()).plan
    assert plan.stats.status == "optimal" and plan.on_time_std_min() == 14.0
    [left] = plan.unallocated
    assert (left.pieces, left.reason) == (3, UnallocatedReason.INSUFFICIENT_CAPACITY_BEFORE_DUE)


def test_room_left_by_a_heuristic_plan_is_not_called_capacity() -> None:
    from seamline.matching.network import build_network
    from seamline.matching.reasons import unallocated

    net = build_network([order("A", 10)], [line("a", 100.0)], ProfileBook(), PreferenceWeights())
    [left] = unallocated(net, [])  # a plan that placed nothing although the line is free
    assert left.reason is UnallocatedReason.NOT_PLACED_BY_PLANNER
    assert "1 eligible lines still have room" in left.detail


def test_grade_preference_breaks_ties_only_when_configured() -> None:
    # c_grade has the better efficiency; a_grade is graded A. Either line can take all 10 pieces.
    lines = [line("c_grade", 100.0, eff=0.8), line("a_grade", 100.0, eff=0.4)]
    book = ProfileBook(profiles={"c_grade": FactoryProfile(enterprise="c_grade", grade_index=2),
                                 "a_grade": FactoryProfile(enterprise="a_grade", grade_index=0)})
    orders = [order("A", 10)]
    off = plan_orders(orders, lines, book).plan
    assert placed(off, "A") == {"c_grade": 10}
    on = plan_orders(orders, lines, book, options=MatchOptions(weights=PreferenceWeights(prefer_grade_index_max=1)))
    assert placed(on.plan, "A") == {"a_grade": 10}


def test_grade_preference_never_costs_on_time_minutes() -> None:
    # the A factory has room for 5 pieces only: the other 5 still go to the C factory
    lines = [line("c_grade", 100.0, eff=0.8), line("a_grade", 50.0, eff=0.4)]
    book = ProfileBook(profiles={"c_grade": FactoryProfile(enterprise="c_grade", grade_index=2),
                                 "a_grade": FactoryProfile(enterprise="a_grade", grade_index=1)})
    res = plan_orders([order("A", 10)], lines, book,
                      options=MatchOptions(weights=PreferenceWeights(prefer_grade_index_max=1)))
    assert placed(res.plan, "A") == {"a_grade": 5, "c_grade": 5}


def _grade(enterprise: str, index: int) -> GradeMessage:
    return GradeMessage(enterprise=enterprise, period="2026Q3", method="m", generated_ts_ms=TS, grade="ABCD"[index],
                        grade_index=index, score=80.0, rank=1, ranked=2, variant="standard", estimated=False,
                        indicators=[])


def test_grades_from_messages_fill_profiles_latest_period_wins() -> None:
    book = ProfileBook(profiles={"f1": FactoryProfile(enterprise="f1", moq_pieces=100)})
    older = _grade("f1", 3).model_copy(update={"period": "2026Q2"})
    out = with_grades(book, [_grade("f1", 1), older, _grade("f2", 0)])
    assert out.profile("f1").grade_index == 1 and out.profile("f1").moq_pieces == 100
    assert out.profile("f2").grade_index == 0
    assert out.profile("f3").grade_index is None


def test_capacity_message_figures_and_carbon_messages() -> None:
    cap = CapacityMessage(enterprise="e", site="s", line="l1", generated_ts_ms=TS, categories=["x"], operators=10,
                          efficiency=0.5, confidence=1.0,
                          days=[CapacityDay(day=D0, available_std_min=100.0, booked_std_min=0.0, free_std_min=100.0)],
                          green_share=0.4)
    # a v1 message without the new fields stays valid: they are unknown
    old = CapacityMessage.model_validate_json(
        cap.model_copy(update={"line": "l2", "green_share": None}).model_dump_json(exclude_none=True))
    lines = from_messages([cap, old], today=D0)
    assert [(ln.green_share, ln.co2e_kg_per_piece) for ln in lines] == [(0.4, None), (None, None)]
    carbon = [CarbonMessage(enterprise="e", site="s", line=n, generated_ts_ms=TS, green_share=0.9,
                            co2e_kg_per_piece=0.25, grid_emission_factor_kg_per_kwh=0.5,
                            emission_factor_source="test", days=[]) for n in ("l1", "l2")]
    merged = with_carbon(lines, carbon)
    # the capacity message's own green share wins; what it lacks comes from the carbon feed
    assert [(ln.green_share, ln.co2e_kg_per_piece) for ln in merged] == [(0.4, 0.25), (0.9, 0.25)]


HEADER = ["order_id", "buyer", "category", "sam_min", "quantity", "due", "green_share_min", "co2e_max_per_piece"]


def test_order_book_green_columns_csv_gbk_and_xlsx(tmp_path: Path) -> None:
    rows = [["A", "买家", "x", "6.5", "100", "2030-01-09", "0.5", ""],
            ["B", "b", "x", "6.5", "100", "2030-01-09", "", "0.3"],
            ["C", "b", "x", "6.5", "100", "2030-01-09", "1.5", "-1"]]
    csv_path = tmp_path / "orders.csv"
    csv_path.write_bytes(("\n".join(",".join(r) for r in [HEADER, *rows]) + "\n").encode("gbk"))
    xlsx_path = tmp_path / "orders.xlsx"
    wb = Workbook()
    for r in [HEADER, *rows]:
        wb.active.append(r)  # type: ignore[union-attr]
    wb.save(xlsx_path)
    for path in (csv_path, xlsx_path):
        found, source = read_rows(path)
        book = parse_orders(found, source=source, today=D0)
        assert [(o.order_id, o.green_share_min, o.co2e_max_per_piece) for o in book.orders] == [
            ("A", 0.5, None), ("B", None, 0.3)]
        assert book.orders[0].buyer == "买家"
        assert sorted((e.row, e.field) for e in book.errors) == [(4, "co2e_max_per_piece"), (4, "green_share_min")]


@pytest.mark.parametrize("value", [-0.1, 1.01])
def test_green_share_minimum_is_a_fraction(value: float) -> None:
    with pytest.raises(ValueError):
        order("A", 1, green_share_min=value)
