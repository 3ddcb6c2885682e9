"""Rules replicas as real ``seamline rules run`` processes sharing PostgreSQL (dynamic shards) and
InfluxDB: a backfill is enqueued in the window ledger, the replica computing a window is killed
with SIGKILL, and the survivors take its shards over once its leases expire.

Checked: every window of the range ends ``done`` (none skipped); every computation of a window
(the killed replica's, the survivors', recomputations of the window it was in the middle of)
has the digest of a single-replica reference computation (computed twice only with identical
results), and InfluxDB holds exactly the reference's points; each of the killed replica's shards
was taken over with a higher fencing token, never before its lease expired in PostgreSQL."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from seamline.localstack import InfluxdProcess
from seamline.rules.master_data import MasterData, parse_master_data
from tests.support.rules_ha import (
    Coordination,
    RulesReplica,
    kpi_point_count,
    load_telemetry,
    master_dict,
    reference_digests,
    replica_config,
    run_cli,
    sim_range,
    wait_until,
)

pytestmark = pytest.mark.integration

SHARDS = 8
ENTERPRISES = 12
TTL_S = 5.0
RENEW_S = 1.0


@pytest.fixture
def master(tmp_path: Path, influxd: InfluxdProcess, influx_db: str) -> tuple[MasterData, Path]:
    raw = master_dict(ENTERPRISES)
    path = tmp_path / "master.yaml"
    path.write_text(yaml.safe_dump(raw))
    m = parse_master_data(raw)
    start, end = sim_range()
    load_telemetry(influxd.url, influx_db, m, start, end)
    return m, path


@pytest.mark.parametrize("replicas", [2, 3])
def test_killed_replica_mid_window_shards_taken_over_no_window_skipped_or_different(
    replicas: int, master: tuple[MasterData, Path], influxd: InfluxdProcess, influx_db: str, pg_dsn: str,
    tmp_path: Path,
) -> None:
    md, master_path = master
    start, end = sim_range()
    procs = [RulesReplica(f"r{i}", tmp_path, replica_config(
        master_path=master_path, influx_url=influxd.url, db=influx_db, dsn=pg_dsn, holder=f"r{i}",
        shard_count=SHARDS, ttl_s=TTL_S)) for i in range(1, replicas + 1)]
    coord = Coordination(pg_dsn)
    try:
        for p in procs:
            p.start()
        names = {p.name for p in procs}
        wait_until(lambda: coord_ready(coord) and {lease.holder for lease in live_leases(coord)} == names
                   and len(live_leases(coord)) == SHARDS, timeout_s=60, what="every replica holding shards")
        run_cli(["rules", "backfill", "--config", str(procs[0].config_path), "--from", start.isoformat(),
                 "--to", end.isoformat(), "--window", "5m", "--window", "1h"])
        enqueued = coord.windows(start, end)
        assert len(enqueued) == len({w.shard for w in enqueued}) * 26  # 24 x 5m + 2 x 1h per shard

        victims: list[RulesReplica] = []

        def running_hour(holder: str | None = None) -> list[str]:
            done = Counter(r.holder for r in coord.runs(start, end) if r.recorded)
            return [w.holder for w in coord.windows(start, end) if w.status == "running" and w.label == "1h"
                    and w.holder is not None and done[w.holder] >= 5 and holder in (None, w.holder)]

        def kill_a_busy_one() -> bool:
            """SIGKILL a replica in the middle of an hourly window (the longest to compute) that has
            finished a few windows already: frozen first, and killed only if the window is still
            running then (an hour of these few machines takes tens of ms: it may end between a look
            and a kill), else thawed and looked for again."""
            busy = running_hour()
            if not busy:
                return False
            replica = next(p for p in procs if p.name == busy[0])
            replica.freeze()
            if not running_hour(replica.name):
                replica.thaw()
                return False
            victims.append(replica)
            replica.kill()
            return True

        wait_until(kill_a_busy_one, timeout_s=60, what="a replica in the middle of an hourly window", every_s=0.01)
        victim = victims[0]
        killed_at = coord.now()
        mid = [w for w in coord.windows(start, end) if w.status == "running" and w.holder == victim.name]
        held = [lease for lease in coord.leases() if lease.holder == victim.name]
        assert held, "the killed replica held no shard"

        wait_until(lambda: all(w.status == "done" for w in coord.windows(start, end)), timeout_s=240,
                   what="every window of the range done", every_s=0.5)
        windows = coord.windows(start, end)
        runs = coord.runs(start, end)
        after = {lease.name: lease for lease in coord.leases()}
        ref = reference_digests(influxd.url, influx_db, md, windows, SHARDS)
        status = json.loads(run_cli(["rules", "status", "--config", str(procs[0].config_path), "--json"]))
    finally:
        coord.close()
        for p in procs:
            p.stop()

    # what an operator sees: the survivors, every shard held by one of them, the ledger done
    survivors = sorted(p.name for p in procs if p is not victim)
    assert status["replicas"] == survivors
    assert len(status["leases"]) == SHARDS and {row["holder"] for row in status["leases"]} <= set(survivors)
    assert status["windows"].get("done", 0) >= len(windows) and "pending" not in status["windows"]
    # no window skipped; each one on the books with a recorded run
    assert len(windows) == len(enqueued) and all(w.status == "done" for w in windows)
    recorded = {(r.shard, r.scope, r.label, r.start) for r in runs if r.recorded}
    assert recorded == set(ref)
    # any window computed twice gave identical points: every run has the reference digest
    wrong = [(r.shard, r.label, r.start.isoformat(), r.holder) for r in runs
             if (r.digest, r.points) != ref[(r.shard, r.scope, r.label, r.start)]]
    assert wrong == []
    assert kpi_point_count(influxd.url, influx_db, start, end) == sum(n for _, n in ref.values())
    # the killed replica's shards: taken over by a survivor, with a higher token, after expiry only
    takeover_s = []
    for old in held:
        new = after[old.name]
        assert new.holder != victim.name and new.token > old.token
        assert new.acquired_at >= old.expires_at
        takeover_s.append((new.acquired_at - killed_at).total_seconds())
    assert max(takeover_s) < 2 * TTL_S + RENEW_S  # liveness, generous for a loaded 2-core box
    # the survivors computed exactly what it had not finished: the window it was in the middle of
    # again, the ones it had finished not again
    assert mid, "killed between two windows: the test did not catch it mid-window"
    for w in mid:
        assert any(r.holder != victim.name and (r.shard, r.label, r.start) == (w.shard, w.label, w.start)
                   for r in runs)
    finished = {(r.shard, r.scope, r.label, r.start) for r in runs if r.holder == victim.name and r.recorded}
    assert len(finished) >= 5
    assert not [r for r in runs if r.holder != victim.name and (r.shard, r.scope, r.label, r.start) in finished]
    by_holder = Counter(r.holder for r in runs)
    twice = sum(1 for n in Counter((r.shard, r.scope, r.label, r.start) for r in runs).values() if n > 1)
    figures = {"replicas": replicas, "ttl_s": TTL_S, "renew_s": RENEW_S, "killed": victim.name,
               "shards_taken_over": len(held), "takeover_after_kill_s": [round(t, 2) for t in sorted(takeover_s)],
               "windows": len(windows), "runs_per_replica": dict(sorted(by_holder.items())),
               "windows_computed_more_than_once": twice, "mid_window_at_kill": len(mid),
               "finished_by_killed_before_kill": len(finished)}
    print("\nHA failover figures: " + json.dumps(figures))


def coord_ready(coord: Coordination) -> bool:
    try:
        return coord.ready()
    except Exception:  # the replicas create the tables; before that the query fails
        return False


def live_leases(coord: Coordination) -> list:  # type: ignore[type-arg]
    now = coord.now()
    return [lease for lease in coord.leases() if lease.expires_at > now]
