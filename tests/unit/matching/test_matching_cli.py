"""``seamline match`` end to end on files (no broker)."""

from __future__ import annotations

import json
import os
import socket
from datetime import date, timedelta
from pathlib import Path

import pytest

from seamline.cli import build_parser, main
from seamline.contracts.messages import CapacityDay, CapacityMessage
from seamline.matching.cli import match_options
from seamline.matching.solver import SolveOptions

TODAY = date(2030, 1, 7)


def capacity_file(tmp_path: Path) -> Path:
    msgs = [
        CapacityMessage(
            enterprise=ent, site="s1", line="l1", generated_ts_ms=1_893_974_400_000, categories=["tshirt"],
            operators=20, efficiency=eff, confidence=0.9,
            days=[CapacityDay(day=TODAY + timedelta(days=k), available_std_min=600, booked_std_min=100,
                              free_std_min=500) for k in range(3)],
        ).model_dump(mode="json")
        for ent, eff in (("f1", 0.5), ("f2", 0.6))
    ]
    path = tmp_path / "capacity.json"
    path.write_text(json.dumps(msgs))
    return path


def test_match_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,buyer,category,sam_min,quantity,due\n"
                      "A,b,tshirt,10,120,2030-01-08\n"  # 1200 std-min due day 1: 2000 available
                      "B,b,jacket,40,10,2030-01-09\n"  # nobody makes jackets
                      "C,b,tshirt,10,-1,2030-01-09\n")  # invalid
    rc = main(["match", "--orders", str(orders), "--capacity", str(capacity_file(tmp_path)), "--json",
               "--today", TODAY.isoformat()])
    assert rc == 0
    plan = json.loads(capsys.readouterr().out)
    assert sum(a["pieces"] for a in plan["allocations"] if a["order_id"] == "A") == 120
    assert {(u["order_id"], u["reason"]) for u in plan["unallocated"]} == {
        ("B", "no_eligible_factory"), ("C", "invalid_order")}
    assert [(e["row"], e["field"]) for e in plan["errors"]] == [(4, "quantity")]
    # the better line (f2, efficiency 0.6) is filled up to the due day (2 × 500), f1 takes the rest
    per_ent = {e: sum(a["std_min"] for a in plan["allocations"] if a["enterprise"] == e) for e in ("f1", "f2")}
    assert per_ent == {"f1": pytest.approx(200.0), "f2": pytest.approx(1000.0)}


def test_publish_needs_a_broker_and_the_bookings_file_is_gone(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,buyer,category,sam_min,quantity,due\nA,b,tshirt,10,1,2030-01-08\n")
    cap = str(capacity_file(tmp_path))
    assert main(["match", "--orders", str(orders), "--capacity", cap, "--publish"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["match", "--orders", str(orders), "--capacity", cap, "--bookings", str(tmp_path / "b.json")])
    assert exc.value.code == 2


def test_unreachable_broker_is_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,buyer,category,sam_min,quantity,due\nA,b,tshirt,10,1,2030-01-08\n")
    with socket.socket() as s:  # a port nothing listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        url = f"mqtt://127.0.0.1:{s.getsockname()[1]}"
        rc = main(["match", "--orders", str(orders), "--capacity", str(capacity_file(tmp_path)), "--publish",
                   "--broker", url, "--today", TODAY.isoformat()])
    assert rc == 1
    err = capsys.readouterr().err
    assert "plan not published: cannot connect to" in err and "Traceback" not in err


def test_strict_exits_2_on_row_errors(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,buyer,category,sam_min,quantity,due\nC,b,tshirt,10,-1,2030-01-09\n")
    rc = main(["match", "--orders", str(orders), "--capacity", str(capacity_file(tmp_path)), "--strict",
               "--today", TODAY.isoformat()])
    assert rc == 2


def test_missing_capacity_source_is_a_usage_error(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,buyer,category,sam_min,quantity,due\n")
    assert main(["match", "--orders", str(orders)]) == 2


def _messages_file(path: Path, messages: list) -> Path:  # type: ignore[type-arg]
    path.write_text(json.dumps([m.model_dump(mode="json") for m in messages]))
    return path


def test_carbon_file_and_grade_preference(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from seamline.contracts.carbon import CarbonMessage
    from seamline.contracts.grades import GradeMessage

    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,buyer,category,sam_min,quantity,due,green_share_min\n"
                      "G,b,tshirt,10,50,2030-01-08,0.5\n"  # wants green lines
                      "P,b,tshirt,10,10,2030-01-08,\n")  # any line: f2 is more efficient, f1 graded A
    carbon = _messages_file(tmp_path / "carbon.json", [
        CarbonMessage(enterprise="f1", site="s1", line="l1", generated_ts_ms=1_893_974_400_000, green_share=0.7,
                      co2e_kg_per_piece=0.1, grid_emission_factor_kg_per_kwh=0.58, emission_factor_source="t",
                      days=[])])
    grades = _messages_file(tmp_path / "grades.json", [
        GradeMessage(enterprise=e, period="2026Q3", method="m", generated_ts_ms=1_893_974_400_000, grade=g,
                     grade_index=i, score=1.0, rank=i + 1, ranked=2, variant="standard", estimated=False, indicators=[])
        for e, g, i in (("f1", "A", 0), ("f2", "C", 2))])
    base = ["match", "--orders", str(orders), "--capacity", str(capacity_file(tmp_path)), "--json",
            "--today", TODAY.isoformat()]

    def run(*extra: str) -> dict:  # type: ignore[type-arg]
        assert main([*base, *extra]) == 0
        return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]

    def where(plan: dict, oid: str) -> set[str]:  # type: ignore[type-arg]
        return {a["enterprise"] for a in plan["allocations"] if a["order_id"] == oid}

    plain = run()
    assert [(u["order_id"], u["reason"]) for u in plain["unallocated"]] == [("G", "green_requirement")]
    assert where(plain, "P") == {"f2"}
    graded = run("--carbon", str(carbon), "--prefer-grades", "1", "--grades", str(grades))
    assert graded["unallocated"] == []
    assert where(graded, "G") == {"f1"} and where(graded, "P") == {"f1"}


def test_time_budget_reaches_the_planner_and_is_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,buyer,category,sam_min,quantity,due\nA,b,tshirt,10,120,2030-01-08\n")
    base = ["match", "--orders", str(orders), "--capacity", str(capacity_file(tmp_path)), "--today", TODAY.isoformat()]

    def budget(*extra: str) -> float | None:
        return match_options(build_parser("match").parse_args([*base, *extra]), SolveOptions()).time_budget_s

    assert budget() == pytest.approx(30.0)
    assert budget("--time-budget", "12.5") == pytest.approx(12.5)
    assert budget("--time-budget", "0") is None
    assert main([*base, "--time-budget", "-1"]) == 2
    assert "--time-budget must be >= 0" in capsys.readouterr().err


def test_search_threads_reach_the_planner_and_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,buyer,category,sam_min,quantity,due\nA,b,tshirt,10,120,2030-01-08\n")
    base = ["match", "--orders", str(orders), "--capacity", str(capacity_file(tmp_path)), "--today", TODAY.isoformat()]

    def threads(*extra: str) -> int:
        return match_options(build_parser("match").parse_args([*base, *extra]), SolveOptions()).search.threads

    assert threads("--search-threads", "1") == 1
    assert threads("--search-threads", "3") == 3
    # the default follows the CPUs this process may use: two where there are two, one on one
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert threads() == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert threads() == 1
    assert main([*base, "--search-threads", "0"]) == 2
    assert "--search-threads must be >= 1" in capsys.readouterr().err
