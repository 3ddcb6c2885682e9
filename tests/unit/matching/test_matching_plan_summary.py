"""``seamline match --summary-out``: the plan summary (contracts.PlanSummary) with every unmet order
and its reason, written atomically; and its JSON Schema from ``seamline contracts schema``."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from seamline.cli import main
from seamline.contracts.plan_summary import PlanSummary
from seamline.contracts.schema import write_file_schemas
from seamline.matching.summary import write_summary
from tests.unit.matching.test_matching_cli import TODAY, capacity_file


def test_the_summary_lists_every_unmet_order_with_its_reason(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,buyer,category,sam_min,quantity,due\n"
                      "A,b,tshirt,10,120,2030-01-08\n"
                      "B,buyer-b,jacket,40,10,2030-01-09\n"  # nobody makes jackets
                      "C,b,tshirt,10,-1,2030-01-09\n"  # invalid
                      "D,buyer-d,tshirt,10,100000,2030-01-08\n")  # far more than there is room for
    out = tmp_path / "plans" / "summary.json"
    rc = main(["match", "--orders", str(orders), "--capacity", str(capacity_file(tmp_path)), "--json",
               "--today", TODAY.isoformat(), "--summary-out", str(out)])
    assert rc == 0
    plan = json.loads(capsys.readouterr().out)
    summary = PlanSummary.model_validate_json(out.read_bytes())
    assert summary.plan_day == TODAY and not summary.published and summary.orders == 3
    assert summary.allocated_orders == len({a["order_id"] for a in plan["allocations"]}) >= 1
    assert summary.allocated_std_min == pytest.approx(
        sum(a["std_min"] for a in plan["allocations"]))
    unmet = {u.order_id: u for u in summary.unmet}
    assert {k: (u.reason, u.pieces) for k, u in unmet.items()} == {
        u["order_id"]: (u["reason"], u["pieces"]) for u in plan["unallocated"]}
    assert {k: unmet[k].reason for k in "BCD"} == {
        "B": "no_eligible_factory", "C": "invalid_order", "D": "insufficient_capacity_before_due"}
    assert (unmet["B"].buyer, unmet["B"].category, unmet["B"].pieces, unmet["B"].std_min) == ("buyer-b", "jacket", 10,
                                                                                             400.0)
    assert unmet["D"].pieces == 100_000 - sum(a["pieces"] for a in plan["allocations"] if a["order_id"] == "D")
    assert unmet["C"].buyer == "?" and summary.errors and "row 4" in summary.errors[0]
    assert [p.name for p in out.parent.iterdir()] == ["summary.json"]  # no temporary file left behind


def test_a_summary_replaces_the_old_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text("old")
    doc = PlanSummary(plan_id="p1", generated_ts_ms=1_893_974_400_000, plan_day=TODAY, published=True, orders=0,
                      allocated_orders=0, allocated_std_min=0.0)
    write_summary(path, doc)
    assert PlanSummary.model_validate_json(path.read_bytes()) == doc


def test_the_summary_has_a_published_json_schema(tmp_path: Path) -> None:
    (path,) = write_file_schemas(tmp_path)
    schema = json.loads(path.read_text())
    assert path.name == "plan_summary.schema.json" and schema["$id"].endswith("/v1/plan_summary.json")
    doc = PlanSummary(plan_id="p1", generated_ts_ms=1_893_974_400_000, plan_day=TODAY, published=True, orders=1,
                      allocated_orders=0, allocated_std_min=0.0).model_dump(mode="json")
    jsonschema.validate(doc, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc | {"unmet": [{"order_id": "x"}]}, schema)
