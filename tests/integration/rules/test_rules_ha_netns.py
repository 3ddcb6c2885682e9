"""Two rules replicas on two "hosts" (network namespaces on a bridge; PostgreSQL and InfluxDB listen
on the bridge address in the root namespace). One replica is cut off from PostgreSQL — an
nftables rule in its namespace silently drops its packets to the PostgreSQL port, InfluxDB stays
reachable — while it is in the middle of its share of a backfill.

Checked, with InfluxDB's own access log as the witness of who wrote when (each host has its own
address): the cut-off replica goes on writing KPI points for a while (it holds its leases until
its local deadline) and sends no write request after that deadline — at most ``ttl_s - margin_s``
after the cut — although it still had windows to compute; its log says the fence stopped it. The
other replica takes its shards over with higher tokens and finishes every window with the
reference digest. After the partition heals the shards move back, and nothing is computed again.

Skipped only when network namespaces cannot be created here (not root / no CAP_NET_ADMIN)."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from seamline.localstack import InfluxdProcess, PostgresProcess
from seamline.rules.master_data import parse_master_data
from tests.support.netns import HostNet, NetnsUnavailable
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
TTL_S, MARGIN_S = 5.0, 1.0
_WRITE = re.compile(r'\[httpd\] (\S+) - \S+ \[([^\]]+)\] "POST /write\?[^"]*rp=kpi')


@pytest.fixture
def net() -> Iterator[HostNet]:
    try:
        hosts = HostNet(hosts=2).create()
    except NetnsUnavailable as exc:
        pytest.skip(f"network namespaces unavailable on this machine: {exc}")
    try:
        yield hosts
    finally:
        hosts.destroy()


@pytest.fixture
def servers(net: HostNet, tmp_path: Path) -> Iterator[tuple[PostgresProcess, InfluxdProcess]]:
    pg = PostgresProcess(workdir=tmp_path / "pg", listen=("127.0.0.1", net.server_ip),
                         trust_networks=(str(net.subnet),))
    influx = InfluxdProcess(workdir=tmp_path / "influxd", host=net.server_ip, access_log=True)
    try:
        pg.start(timeout_s=60)
        influx.start()
        yield pg, influx
    finally:
        influx.stop()
        pg.remove()


def kpi_writes(influx: InfluxdProcess) -> list[tuple[str, float]]:
    """(client address, epoch s) of every KPI write request InfluxDB received (second resolution)."""
    out = []
    for m in _WRITE.finditer(influx.log_path.read_text(errors="replace")):
        out.append((m.group(1), datetime.strptime(m.group(2), "%d/%b/%Y:%H:%M:%S %z").timestamp()))
    return out


def test_replica_cut_off_from_postgres_stops_writing_at_its_local_deadline_and_the_other_takes_over(
    net: HostNet, servers: tuple[PostgresProcess, InfluxdProcess], tmp_path: Path,
) -> None:
    pg, influx = servers
    influx.query('CREATE DATABASE "ha"')
    raw = master_dict(12)
    (tmp_path / "master.yaml").write_text(yaml.safe_dump(raw))
    md = parse_master_data(raw)
    start, end = sim_range()
    # two more hours (06:00-10:00): enough windows that r2 is still computing when its local
    # deadline passes (~4 s after the cut), however fast the host and the queries are
    start -= timedelta(hours=2)
    load_telemetry(influx.url, "ha", md, start, end)
    dsn = pg.create_database("ha").replace("127.0.0.1", net.server_ip)
    h1, h2 = net.host(1), net.host(2)
    procs = {name: RulesReplica(name, tmp_path, replica_config(
        master_path=tmp_path / "master.yaml", influx_url=influx.url, db="ha", dsn=dsn, holder=name,
        shard_count=SHARDS, ttl_s=TTL_S, batch=500), netns=host.netns) for name, host in (("r1", h1), ("r2", h2))}
    coord = Coordination(dsn)
    try:
        for p in procs.values():
            p.start()
        wait_until(lambda: _holders(coord) == {"r1", "r2"}, timeout_s=60, what="both hosts holding shards")
        run_cli(["rules", "backfill", "--config", str(procs["r1"].config_path), "--from", start.isoformat(),
                 "--to", end.isoformat(), "--window", "5m", "--window", "1h"])

        def r2_busy() -> bool:
            done = Counter(r.holder for r in coord.runs(start, end) if r.recorded)
            return done["r2"] >= 3 and any(w.status == "running" and w.holder == "r2"
                                           for w in coord.windows(start, end))

        wait_until(r2_busy, timeout_s=60, what="r2 in the middle of its windows")
        net.cut(h2, pg.port)
        cut_at = time.time()
        r2_shards = {lease.name: lease.token for lease in coord.leases() if lease.holder == "r2"}
        wait_until(lambda: all(w.status == "done" for w in coord.windows(start, end)) and _holders(coord) == {"r1"},
                   timeout_s=240, what="r1 finishing every window", every_s=0.5)
        taken = {lease.name: lease for lease in coord.leases() if lease.name in r2_shards}
        runs_before_heal = coord.runs(start, end)

        net.heal(h2)
        healed_at = time.time()
        wait_until(lambda: _holders(coord) == {"r1", "r2"}, timeout_s=60, what="r2 getting its shards back")
        back = {lease.name: lease for lease in coord.leases() if lease.holder == "r2"}
        time.sleep(3)  # three ledger cycles: would r2 (or r1) compute anything again?
        windows, runs = coord.windows(start, end), coord.runs(start, end)
        ref = reference_digests(influx.url, "ha", md, windows, SHARDS)
    finally:
        for p in procs.values():
            p.stop()

    r2_log = procs["r2"].log()
    writes = kpi_writes(influx)
    r2_after_cut = [t for ip, t in writes if ip == h2.ip and t >= int(cut_at)]  # may include its second
    deadline = cut_at + TTL_S - MARGIN_S  # the latest local deadline r2 can have after the cut
    # r2 went on writing after the cut (InfluxDB reachable, lease still valid locally) ...
    assert [t for t in r2_after_cut if t >= int(cut_at) + 1], "r2 wrote nothing after the cut: not caught mid-work"
    # ... and sent no write request after its local deadline (the log has whole seconds)
    assert max(r2_after_cut) <= int(deadline)
    # it stopped because of the fence, with windows still to compute
    assert "local deadline passed" in r2_log and re.search(r"windows of \S+ stopped: ", r2_log)
    # r1 took every shard of r2 over, each with a higher token; no window skipped, all identical
    assert set(taken) == set(r2_shards) and all(t.holder == "r1" and t.token > r2_shards[n] for n, t in taken.items())
    # four hours per zone and shard: 48 five-minute and 4 hourly windows, each computed
    assert all(w.status == "done" for w in windows) and len(windows) == len({w.shard for w in windows}) * 52
    assert [r for r in runs if (r.digest, r.points) != ref[(r.shard, r.scope, r.label, r.start)]] == []
    assert kpi_point_count(influx.url, "ha", start, end) == sum(n for _, n in ref.values())
    # healed: r2's shards came back with higher tokens again, and nothing was computed twice for it
    assert back and all(lease.token > taken[lease.name].token for lease in back.values() if lease.name in taken)
    assert len(runs) == len(runs_before_heal)
    figures = {
        "cut_to_last_r2_write_s": round(max(r2_after_cut) - cut_at, 2), "r2_deadline_after_cut_s": TTL_S - MARGIN_S,
        "r2_writes_after_cut": len(r2_after_cut),
        "takeover_after_cut_s": sorted(round(t.acquired_at.timestamp() - cut_at, 2) for t in taken.values()),
        "moved_back_after_heal_s": sorted(round(b.acquired_at.timestamp() - healed_at, 2) for b in back.values()),
        "runs_per_replica": dict(Counter(r.holder for r in runs)), "windows": len(windows),
        "cut_at": datetime.fromtimestamp(cut_at, UTC).isoformat(),
    }
    print("\nHA partition figures: " + json.dumps(figures))


def _holders(coord: Coordination) -> set[str]:
    try:
        now = coord.now()
        return {lease.holder for lease in coord.leases() if lease.expires_at > now}
    except Exception:  # tables not created yet
        return set()
