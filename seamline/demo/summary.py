"""The demo's summary: produced vs stored vs quarantined vs lost vs duplicated, all counted —
stored values by querying InfluxDB, never from the pipeline's own counters."""

from __future__ import annotations

from typing import Any

from seamline.contracts.assets import AssetKind
from seamline.demo import accounting
from seamline.demo.cluster import DemoRun, spools_left
from seamline.demo.energy import AREA_OF, LINE_METER_AREA
from seamline.demo.stack import DATABASE
from seamline.storage.schema import MACHINE_STATE, telemetry

SEWING = telemetry(AssetKind.SEWING_MACHINE)
SEWING_MEASUREMENTS = (SEWING.name, MACHINE_STATE.name)
ENERGY_AREAS = frozenset({*AREA_OF.values(), LINE_METER_AREA})


def node_side(run: DemoRun) -> dict[str, int]:
    """What the simulated sensor nodes produced, sent, and lost by injected faults before any
    gateway saw it (a real node's buffer overflowing while its Wi-Fi is down)."""
    assert run.floor is not None
    totals = run.floor.totals()
    lost_at_node = sum(sum(1 for e in r.log.lost if e[2] == "sample") for r in run.floor.nodes)
    return {
        "produced": totals["samples_produced"],
        "sent": totals["samples_sent"],
        "lost_in_gateway_outage": run.outage_samples,
        "lost_at_node_by_injected_faults": lost_at_node,
        "garbage_at_node": totals["garbage_messages"],
        "duplicated_at_node": totals["duplicated_messages"],
    }


def expected_upstream_seq(run: DemoRun) -> dict[str, int]:
    """asset key -> the last upstream seq each gateway committed, from its spool checkpoints."""
    import orjson

    out: dict[str, int] = {}
    for gw, info in spools_left(run).items():
        ent = gw.removeprefix("gw-")
        for key, blob in info["checkpoints"].items():
            if key.startswith("machine/"):
                _, line, machine = key.split("/", 2)
                nxt = int(orjson.loads(blob)["seq"])
                if nxt:
                    out[f"{ent}/s1/{line}/{machine}"] = nxt - 1
            elif key == "seq":
                for area_asset, nxt in orjson.loads(blob).items():
                    if int(nxt):
                        out[f"{ent}/s1/{area_asset}"] = int(nxt) - 1
    return out


def build(run: DemoRun) -> dict[str, Any]:
    client = run.stack.influxql()
    nodes = node_side(run)
    stored_sewing_samples = int(accounting.sum_field(client, DATABASE, SEWING.name, SEWING.field("samples")))
    expected = expected_upstream_seq(run)
    kinds = (*SEWING_MEASUREMENTS, *accounting.ENERGY_KINDS, telemetry(AssetKind.GATEWAY).name)
    merged: dict[str, list[int]] = {}
    for m in kinds:
        for key, seqs in accounting.seq_values(client, DATABASE, m).items():
            merged.setdefault(key, []).extend(seqs)
    audit = accounting.audit(merged, expected)
    energy_samples = {k: accounting.count_points(client, DATABASE, k) for k in accounting.ENERGY_KINDS}
    energy_published = sum(v + 1 for k, v in expected.items() if k.split("/")[2] in ENERGY_AREAS)
    reached = nodes["sent"] - nodes["lost_in_gateway_outage"]
    lost_sewing = max(0, reached - stored_sewing_samples)
    quarantined = run.quarantined()
    spools = {gw: {"messages": v["messages"], "dropped": v["dropped"]} for gw, v in spools_left(run).items()}
    devices = run.plant.count_by_kind() if run.plant else {}
    return {
        "produced": nodes["produced"] + energy_published,
        "stored": stored_sewing_samples + sum(energy_samples.values()),
        "quarantined": sum(quarantined.values()),
        "lost": lost_sewing + audit.missing,
        "duplicates": audit.duplicates,
        "window": {"start_ms": run.start_ms, "end_ms": run.end_ms, "speed": run.options.speed},
        "sewing": {
            **nodes,
            "reached_gateways": reached,
            "stored_in_aggregates": stored_sewing_samples,
            "aggregates": accounting.count_points(client, DATABASE, SEWING.name),
            "state_changes": accounting.count_points(client, DATABASE, MACHINE_STATE.name),
            "machines": len(run.floor.nodes) if run.floor else 0,
        },
        "by_kind": {k: {"devices": devices.get(k, 0), "samples_stored": energy_samples[k]}
                    for k in accounting.ENERGY_KINDS},
        "energy_samples_published": energy_published,
        "upstream": {"assets": audit.assets, "messages_stored": audit.points, "seq_missing": audit.missing,
                     "seq_missing_by_asset": audit.missing_by_asset, "seq_duplicates": audit.duplicates},
        "quarantine": {"rogue_sent": run.rogue_sent, "by_reason": quarantined},
        "spools_after_stop": spools,
        "timings_s": {k: round(v, 1) for k, v in run.timings_s.items()},
        "exit_codes": run.exit_codes,
    }
