"""Harness for the rules HA tests: a small cluster's master data and telemetry in InfluxDB, real
``seamline rules run`` replicas as subprocesses (optionally inside a network namespace), and
read-only views of the PostgreSQL coordination tables and of a single-replica reference
computation (the same production ``compute_window``, run in-process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import yaml

from seamline.firmware_stubs.sewing.shift import ShiftPattern
from seamline.rules.coordination.schema import LEASE, WINDOW, WINDOW_RUN
from seamline.rules.coordination.shard_leases import shard_lease_name
from seamline.rules.engine import compute_window
from seamline.rules.lease import shard_of
from seamline.rules.ledger import digest
from seamline.rules.master_data import MasterData
from seamline.rules.source import InfluxSource, SourceSettings
from seamline.rules.windows import Window
from seamline.storage.db_init import DbLayout, RetentionSpec, init_v1
from seamline.storage.line_protocol import encode_line
from seamline.storage.query_client import InfluxQLClient
from seamline.storage.writer_v1 import InfluxV1Writer
from tests.support.synthetic import aggregate_lines, gateway_status_lines, machine_tags, simulate_truth, state_lines

TZ = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 5, 6, tzinfo=TZ)  # a Wednesday
GROUP = "rules"


def master_dict(enterprises: int) -> dict[str, Any]:
    shift = {"name": "day", "start": "08:00", "end": "17:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat"],
             "breaks": [{"start": "10:00", "end": "10:15"}, {"start": "12:00", "end": "13:00"}]}
    ents = [{"id": f"f{i:03d}", "name": f"Factory {i}", "calendar": "cal", "sites": [{"id": "s1", "lines": [
        {"id": "line01", "operators": 2, "categories": ["shirt"], "machines": [f"m{i}a", f"m{i}b"],
         "style": "shirt"}]}]} for i in range(enterprises)]
    return {"kpi": {"windows": ["5m", "1h"], "recompute_windows": 3},
            "calendars": [{"id": "cal", "shifts": [shift]}],
            "styles": [{"id": "shirt", "category": "shirt", "sam_min": 12.0}], "enterprises": ents}


def load_telemetry(influx_url: str, db: str, master: MasterData, start: datetime, end: datetime) -> None:
    """Simulated sewing machines of every enterprise over ``[start, end)`` into RP ``raw``."""
    policies = (RetentionSpec(name="raw", duration="INF", default=True), RetentionSpec(name="kpi", duration="INF"))
    init_v1(InfluxQLClient(url=influx_url), DbLayout(database=db, policies=policies))
    s_ms, e_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    lines: list[str] = []
    for n, ent in enumerate(master.enterprises):
        for site in ent.sites:
            for line in site.lines:
                for k, m in enumerate(line.machines):
                    truth = simulate_truth(m, s_ms - 600_000, e_ms, seed=1000 * n + k, shift=ShiftPattern())
                    tags = machine_tags(ent.id, site.id, line.id, m)
                    lines += aggregate_lines(truth, tags, s_ms - 600_000, e_ms) + state_lines(truth, tags)
                    lines.append(encode_line("asset_info", {**tags, "asset_kind": "sewing_machine"},
                                             {"gateway": "gw1"}, s_ms - 600_000))
            lines += gateway_status_lines(ent.id, site.id, "gw1", [(s_ms - 600_000, True)])
    writer = InfluxV1Writer(url=influx_url, database=db, retention_policy="raw")
    for i in range(0, len(lines), 5000):
        writer.write(lines[i:i + 5000])
    writer.close()


def replica_config(*, master_path: Path, influx_url: str, db: str, dsn: str, holder: str, shard_count: int,
                   ttl_s: float = 5.0, batch: int = 5) -> dict[str, Any]:
    """A replica's rules.yaml: dynamic shards over PostgreSQL with short timings for a test (TTL
    5 s, renewal every 1 s, stop writing 1 s before expiry, PostgreSQL calls bounded by 1 s), the
    ledger job every second, no capacity feed."""
    return {
        "master_data": str(master_path),
        "influx": {"url": influx_url, "database": db, "timeout_s": 2, "query_timeout_s": 20},
        "capacity": {"enabled": False},
        "lease": {"kind": "postgres", "dsn": dsn, "name": GROUP, "holder": holder, "ttl_s": ttl_s, "renew_s": 1,
                  "margin_s": 1, "timeout_s": 1, "connect_timeout_s": 2},
        "ledger": {"every_s": 1, "batch": batch, "horizon_h": 0.01, "keep_days": 1},
        "shards": "dynamic", "shard_count": shard_count,
    }


class RulesReplica:
    """``seamline rules run`` as a subprocess (inside network namespace ``netns`` if given)."""

    def __init__(self, name: str, workdir: Path, config: dict[str, Any], *, netns: str | None = None) -> None:
        self.name = name
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / f"{name}.yaml"
        self.log_path = workdir / f"{name}.log"
        self.config = config
        self.netns = netns
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.config_path.write_text(yaml.safe_dump(self.config))
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self._proc = subprocess.Popen([*prefix, sys.executable, "-m", "seamline.cli", "rules", "run", "--config",
                                       str(self.config_path)], stdout=log, stderr=subprocess.STDOUT,
                                      cwd=Path.cwd(), env=os.environ | {"PYTHONUNBUFFERED": "1"},
                                      start_new_session=True)
        log.close()

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def freeze(self) -> None:
        """SIGSTOP: the process stands still where it is (a test can look at it, then kill or thaw)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: no release, no last words."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait(10)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def run_cli(args: Sequence[str], *, timeout_s: float = 120) -> str:
    out = subprocess.run([sys.executable, "-m", "seamline.cli", *args], capture_output=True, text=True,
                         timeout=timeout_s, check=False)
    if out.returncode != 0:
        raise AssertionError(f"seamline {' '.join(args)} exited {out.returncode}:\n{out.stderr[-3000:]}")
    return out.stdout


def wait_until(pred: Callable[[], bool], *, timeout_s: float, what: str, every_s: float = 0.05) -> float:
    """Poll ``pred``; return the monotonic time it became true, or fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(every_s)
    return time.monotonic()


@dataclass(frozen=True, slots=True)
class LedgerWindow:
    shard: str
    scope: str
    label: str
    start: datetime
    end: datetime
    status: str
    holder: str | None
    token: int


@dataclass(frozen=True, slots=True)
class Run:
    shard: str
    scope: str
    label: str
    start: datetime
    holder: str
    token: int
    recorded: bool
    digest: str
    points: int
    finished_at: datetime


@dataclass(frozen=True, slots=True)
class LeaseRow:
    name: str
    holder: str
    token: int
    acquired_at: datetime
    expires_at: datetime


class Coordination:
    """Read-only queries on the coordination tables (the test's own connection)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn: psycopg.Connection | None = None

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=5)
        try:
            return self._conn.execute(sql, args).fetchall()
        except psycopg.Error:
            self._conn.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def ready(self) -> bool:
        return bool(self._rows("SELECT to_regclass(%s) IS NOT NULL", (WINDOW_RUN,))[0][0])

    def now(self) -> datetime:
        now: datetime = self._rows("SELECT now()")[0][0]
        return now

    def windows(self, start: datetime, end: datetime) -> list[LedgerWindow]:
        return [LedgerWindow(*r) for r in self._rows(
            f"SELECT shard, scope, label, window_start, window_end, status, holder, token FROM {WINDOW} "
            "WHERE window_start >= %s AND window_start < %s ORDER BY window_start, shard, label", (start, end))]

    def runs(self, start: datetime, end: datetime) -> list[Run]:
        return [Run(*r) for r in self._rows(
            f"SELECT shard, scope, label, window_start, holder, token, recorded, digest, points, finished_at "
            f"FROM {WINDOW_RUN} WHERE window_start >= %s AND window_start < %s ORDER BY id", (start, end))]

    def leases(self) -> list[LeaseRow]:
        return [LeaseRow(*r) for r in self._rows(
            f"SELECT name, holder, token, acquired_at, expires_at FROM {LEASE} ORDER BY name")]


def reference_digests(influx_url: str, db: str, master: MasterData, keys: Sequence[LedgerWindow],
                      shard_count: int) -> dict[tuple[str, str, str, datetime], tuple[str, int]]:
    """What one replica alone computes for each ledger window: (digest, points), in-process."""
    source = InfluxSource(InfluxQLClient(url=influx_url), SourceSettings(database=db))
    out: dict[tuple[str, str, str, datetime], tuple[str, int]] = {}
    for k in keys:
        ents = [e for e in master.enterprises if e.timezone == k.scope
                and shard_lease_name(GROUP, shard_of(e.id, shard_count), shard_count) == k.shard]
        sub = master.model_copy(update={"enterprises": ents})
        report = compute_window(source, sub, Window(k.start, k.end), label=k.label)
        out[(k.shard, k.scope, k.label, k.start)] = (digest(report.points), len(report.points))
    return out


def kpi_point_count(influx_url: str, db: str, start: datetime, end: datetime) -> int:
    """KPI points stored in RP ``kpi`` with timestamps in ``[start, end)``, over every measurement."""
    client = InfluxQLClient(url=influx_url)
    total = 0
    for m in ("kpi_machine", "kpi_line", "kpi_downtime"):
        q = (f'SELECT count("coverage") FROM "{db}"."kpi"."{m}" WHERE time >= {int(start.timestamp() * 1e9)} '
             f'AND time < {int(end.timestamp() * 1e9)} GROUP BY *')
        for result in client.query(q, db=db):
            total += sum(int(row[1]) for series in result.get("series", []) for row in series["values"])
    return total


def sim_range() -> tuple[datetime, datetime]:
    """08:00-10:00 local on the simulated day: 24 five-minute and 2 hourly windows per zone and shard."""
    return DAY + timedelta(hours=8), DAY + timedelta(hours=10)
