"""A factory gateway down for 30 minutes mid-shift: its machines' data for that time never
arrives. The KPIs must show it as lower coverage — never as downtime or lower availability."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest

from seamline.demo.main import run_demo
from seamline.demo.plan import DemoOptions, GatewayOutage
from seamline.demo.stack import DATABASE

pytestmark = pytest.mark.e2e

# quick window: planned 08:00-12:00 less the 10:00-10:15 tea break = 225 min; outage 09:00-09:30
PLANNED_MIN = 225.0
OUTAGE_MIN = 30.0


@pytest.fixture(scope="module")
def outage_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def inspect(run: Any, summary: dict[str, Any]) -> None:
        res = run.stack.influxql().query(
            'SELECT SUM("down_min") AS down, SUM("off_min") AS off FROM "kpi"."kpi_machine" '
            "WHERE \"window\" = 'shift' GROUP BY \"enterprise\"", db=DATABASE)
        seen["down_off"] = {s["tags"]["enterprise"]: s["values"][0][1:] for s in res[0]["series"]}
        seen["truth_down_off"] = truth_down_off(run)

    opts = DemoOptions.quick(workdir=tmp_path_factory.mktemp("outage"), faults="none", energy=False,
                             upstream_garbage=0, gateway_outage=GatewayOutage("f002", time(9, 0), OUTAGE_MIN),
                             broker_restart=False)  # the broker restart and its repair: test_e2e_demo_repair
    summary = run_demo(opts, inspect=inspect)
    return {"summary": summary, **seen}


def truth_down_off(run: Any) -> dict[str, float]:
    """Per enterprise: true down + off minutes inside the KPI window (lunch included, as the
    measured kpi_machine off_min is over the whole window)."""
    from seamline.contracts.messages import MachineState
    from seamline.demo.analytics import kpi_window
    from seamline.demo.truth import overlap_ms

    start, end, _ = kpi_window(run)
    out: dict[str, float] = {}
    for r in run.floor.nodes:
        ms = sum(overlap_ms((t.start_ms, t.end_ms), [(start, end)]) for t in r.sim.truth
                 if t.state in (MachineState.DOWN, MachineState.OFF))
        out[r.node.addr.enterprise] = out.get(r.node.addr.enterprise, 0.0) + ms / 60_000
    return out


def test_the_outage_loses_data_at_the_gateway_but_nothing_in_the_pipeline(outage_run: dict[str, Any]) -> None:
    s = outage_run["summary"]
    assert s["sewing"]["lost_in_gateway_outage"] == 6 * 30 * 60  # 6 machines x 30 min x 1 sample/s
    assert s["sewing"]["stored_in_aggregates"] == s["sewing"]["reached_gateways"]
    assert s["lost"] == 0 and s["duplicates"] == 0


def test_coverage_drops_by_the_outage_and_availability_does_not(outage_run: dict[str, Any]) -> None:
    lines = {ln["enterprise"]: ln for ln in outage_run["summary"]["kpis"]["lines"]}
    hit, spared = lines["f002"], lines["f001"]
    assert spared["coverage"] == pytest.approx(1.0, abs=0.01)
    assert hit["coverage"] == pytest.approx((PLANNED_MIN - OUTAGE_MIN) / PLANNED_MIN, abs=0.01)
    # the machines kept working while nobody could see them: availability and OEE still match
    # the truth over the whole shift (within the same 1 pp as without an outage, plus 1 pp for
    # the half hour that was not observed)
    for kpi in ("availability", "oee"):
        assert hit[kpi] == pytest.approx(hit["truth"][kpi], abs=0.02), kpi


def test_missing_data_is_never_downtime(outage_run: dict[str, Any]) -> None:
    measured, truth = outage_run["down_off"], outage_run["truth_down_off"]
    down, off = measured["f001"]
    assert down + off == pytest.approx(truth["f001"], abs=1.0)  # no outage: matches the truth
    down, off = measured["f002"]
    assert down + off <= truth["f002"] + 1.0  # the outage added nothing (it can only hide some)
