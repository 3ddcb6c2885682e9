"""The demo's end-to-end repair: after the replay (the central broker restarted mid-stream with
``DemoOptions.broker_restart``), ``seamline ingest confirm``'s confirmer runs against the live
cluster until no hole is left in the stored per-asset seq values, while the edge agents still run
and answer its resend requests. Reports what was missing before, what came back (``repaired``) and
what the gateways reported as definitively lost."""

from __future__ import annotations

import logging
import time
from typing import Any

from seamline.demo import accounting, configs
from seamline.demo.cluster import DemoRun
from seamline.demo.stack import DATABASE
from seamline.ingest.config import IngestConfig
from seamline.ingest.confirm import Confirmer, ConfirmSettings
from seamline.storage.schema import MACHINE_STATE, telemetry

log = logging.getLogger(__name__)

CONFIRMER = "confirm"  # the secured demo's service identity of the confirmer (role ingest)
INTERVAL_S = 1.0
GRACE_S = 2.0
# the edge agents republish what no confirm covered this long after its PUBACK (configs.edge_config)
MIN_RUN_S = 3 * configs.REPLAY_UNCONFIRMED_S
TIMEOUT_S = 60.0


def _holes(run: DemoRun) -> int:
    client = run.stack.influxql()
    merged: dict[str, list[int]] = {}
    from seamline.contracts.assets import AssetKind

    for m in (*(telemetry(k).name for k in AssetKind), MACHINE_STATE.name):
        for key, seqs in accounting.seq_values(client, DATABASE, m).items():
            merged.setdefault(key, []).extend(seqs)
    return accounting.audit(merged).missing


def confirmer_config(run: DemoRun) -> IngestConfig:
    sec = run.stack.security
    doc = configs.ingest_config(workdir=run.stack.workdir, worker=0, broker_port=run.stack.central.port,
                                influx_url=run.stack.influx.url,
                                mqtt_identity=sec.service_mqtt(CONFIRMER) if sec else None,
                                influx_user=sec.influx_user("rules") if sec else None)  # reads raw: READ+WRITE
    return IngestConfig.model_validate(doc)


def repair(run: DemoRun) -> dict[str, Any]:
    t0 = time.monotonic()
    before = _holes(run)
    window_s = time.time() - run.start_ms / 1000 + 3600
    confirmer = Confirmer(confirmer_config(run), ConfirmSettings(interval_s=INTERVAL_S, grace_s=GRACE_S,
                                                                 window_s=window_s),
                          client_id="seamline-demo-confirm")
    confirmer.start()
    try:
        while True:
            stats = confirmer.round()
            elapsed = time.monotonic() - t0
            if (elapsed >= MIN_RUN_S and stats.open_hole_seqs == 0) or elapsed >= TIMEOUT_S:
                break
            time.sleep(INTERVAL_S)
    finally:
        confirmer.close()
    after = _holes(run)
    run.timings_s["repair"] = time.monotonic() - t0
    return {"missing_before": before, "repaired": max(0, before - after), "missing_after": after,
            "repaired_by_resend": stats.repaired_seqs, "resends": stats.resends_published,
            "definitively_lost": stats.lost_seqs, "definitively_lost_ranges": stats.lost_ranges}
