"""The demo's alerts: the built-in alert rules evaluated over the replayed window, delivered
through a real Alertmanager (the generated config) and the real ``seamline notify`` to local
receivers standing in for a DingTalk robot and a signed webhook.

Evaluation runs in simulated time (every minute of the window, 60 s evaluation delay), exactly as
``seamline rules run`` would have during the day; each evaluation's alerts are posted to
Alertmanager with their times moved onto the wall clock (Alertmanager lives in real time), so
the replayed day's alerts become notifications within seconds.

What the simulation produces by itself: machine breakdowns, a line's efficiency. What the stage
lays over the stored data as it reads it (:class:`Injected`, listed in the summary; the database
is not changed): the gateway outage — one factory gateway's Last Will (offline) and its return
(the simulation's own outage is node-side and keeps the agent's uplink up) — and an order put at
risk — the measured capacity of a fully booked line dropping by 30 % on its first booked day.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from seamline.contracts.alerts import PostableAlert, Severity
from seamline.contracts.messages import GatewayState
from seamline.demo.cluster import DemoRun
from seamline.demo.stack import DATABASE
from seamline.localstack import AlertmanagerProcess, free_port
from seamline.notify.alert_ledger import AlertLedger
from seamline.notify.alertmanager import AlertmanagerClient
from seamline.notify.am_config import ConfigOptions, Timings, render_config
from seamline.rules.alerts.config import AlertsConfig, resolve_rules
from seamline.rules.alerts.evaluator import AlertEvaluator
from seamline.rules.alerts.facts import InfluxFacts
from seamline.rules.alerts.queries import GATEWAYS, Facts, Query
from seamline.rules.alerts.store import AlertStore
from seamline.rules.lease import NoLease
from seamline.rules.master_data import load_master_data
from seamline.rules.ownership import WholeLease
from seamline.storage.query import Series
from seamline.storage.schema import CAPACITY, TIME, Field, Retention, Tag

OUTAGE_ENTERPRISE = "f002"
STEP = timedelta(minutes=1)
# Alertmanager in seconds, not hours: the replayed day is delivered in a few seconds of wall time.
TIMINGS = Timings(group_wait_s=1.0, group_interval_s=2.0, repeat_interval_s=3600.0)


class Receivers:
    """A local DingTalk robot (``/dingtalk/robot/send``, answers errcode 0) and a webhook
    (``/webhook``): counts what ``seamline notify`` delivers to each."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.titles: list[str] = []
        receivers = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                channel = self.path.strip("/").split("/")[0]
                receivers.counts[channel] += 1
                if channel == "webhook":
                    receivers.titles.append(str(json.loads(body).get("title", "")))
                answer = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _notify(workdir: Path, receivers: Receivers) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cfg = {"listen": {"host": "127.0.0.1", "port": port}, "outbox": {"path": str(workdir / "outbox.sqlite")},
           "channels": {"dingtalk": {"type": "dingtalk", "token": {"value": "demo"},
                                     "secret": {"value": "SECdemo"}, "base_url": f"{receivers.url}/dingtalk"},
                        "webhook": {"type": "webhook", "url": {"value": f"{receivers.url}/webhook"},
                                    "secret": {"value": "whsec-demo"}, "language": "en"}},
           "routes": [{"receiver": "*", "channels": ["dingtalk", "webhook"]}]}
    path = workdir / "notify.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    log = open(workdir / "notify.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen([sys.executable, "-m", "seamline.cli", "notify", "--config", str(path)], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    url = f"http://127.0.0.1:{port}"
    _wait_http(f"{url}/-/healthy", proc)
    return proc, url


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer")
        time.sleep(0.1)


class Injected:
    """The stored data as InfluxDB returns it, with the scenario's two events laid over it (the
    demo's database is left as it is; the other demo stages and the dashboards read it):

    * the gateway of :data:`OUTAGE_ENTERPRISE` goes offline (its Last Will) an hour into the window
      and comes back 30 minutes later;
    * the first booked day of the first fully booked line loses 30 % of its measured capacity."""

    def __init__(self, base: InfluxFacts, start: datetime) -> None:
        self.base = base
        self.gateway = (OUTAGE_ENTERPRISE, "s1", f"gw-{OUTAGE_ENTERPRISE}")
        self.events = ((start + timedelta(minutes=60), GatewayState.OFFLINE.value),
                       (start + timedelta(minutes=90), GatewayState.ONLINE.value))
        self.at_risk: str | None = None  # enterprise/line, once seen

    @property
    def injected(self) -> list[str]:
        (down, _), (back, _) = self.events
        out = [f"gateway {self.gateway[2]} offline {down:%H:%M}-{back:%H:%M} UTC (Last Will, then online)"]
        if self.at_risk is not None:
            out.append(f"order at risk: {self.at_risk} measured capacity -30 % on its first booked day")
        return out

    def read(self, queries: Sequence[Query], enterprises: Sequence[str], as_of: datetime, *,
             platform: bool) -> Facts:
        facts = dict(self.base.read(queries, enterprises, as_of, platform=platform))
        if GATEWAYS in facts:
            facts[GATEWAYS] = self._gateways(facts[GATEWAYS], as_of)
        for q in facts:
            if q.measurement == CAPACITY.name:
                facts[q] = self._capacity(facts[q])
        return facts

    def _gateways(self, series: list[Series], as_of: datetime) -> list[Series]:
        happened = [(t, state) for t, state in self.events if t <= as_of]
        if not happened:
            return series
        t, state = happened[-1]
        e, site, gw = self.gateway
        row = {TIME: int(t.timestamp() * 1000), Field.STATE: state, Field.REASON: None}
        tags: dict[str, str] = {Tag.ENTERPRISE: e, Tag.SITE: site, Tag.GATEWAY: gw}
        return [s for s in series if s.tags.get(Tag.GATEWAY) != gw] + [Series(tags, (row,))]

    def _capacity(self, series: list[Series]) -> list[Series]:
        booked, available = CAPACITY.field("booked_std_min"), CAPACITY.field("available_std_min")
        out = []
        for s in series:
            line = f"{s.tags.get(Tag.ENTERPRISE)}/{s.tags.get(Tag.LINE)}"
            rows = sorted(s.rows, key=lambda r: int(r[TIME]))
            first = next((i for i, r in enumerate(rows) if (r.get(booked) or 0) > 0), None)
            if first is not None and self.at_risk in (None, line):
                self.at_risk = line
                rows[first] = {**rows[first], available: 0.7 * float(rows[first].get(available) or 0)}
            out.append(Series(s.tags, tuple(rows)))
        return out


def _shifted(alerts: list[PostableAlert], by: timedelta) -> list[PostableAlert]:
    return [a.model_copy(update={"starts_at": a.starts_at + by,
                                 "ends_at": None if a.ends_at is None else a.ends_at + by}) for a in alerts]


def _config(workdir: Path) -> AlertsConfig:
    # The quick run's capacity confidence is low (a few hours of data): judge the order anyway.
    return AlertsConfig(state_path=workdir / "alerts_state.sqlite3",
                        builtin={"order_at_risk": {"condition": {"coverage_floor": 0.0}}})


def run_alerts(run: DemoRun, master_path: Path) -> dict[str, Any]:
    workdir = run.stack.workdir / "alerts"
    workdir.mkdir(parents=True, exist_ok=True)
    start = datetime.fromtimestamp(run.start_ms / 1000, UTC)
    end = datetime.fromtimestamp(run.end_ms / 1000, UTC)
    master = load_master_data(master_path)
    receivers = Receivers()
    notify, notify_url = _notify(workdir, receivers)
    options = replace(ConfigOptions(), notify_url=notify_url, timings=dict.fromkeys(Severity, TIMINGS))
    am = AlertmanagerProcess(workdir=workdir / "alertmanager", config_text=render_config(master, options))
    try:
        am.start()
        counts, injected = _evaluate(run, master, workdir, AlertmanagerClient(am.url))
        _settle(receivers)
    finally:
        am.stop()
        notify.terminate()
        notify.wait(15)
        receivers.close()
    return {"window": [start.isoformat(), end.isoformat()], "injected": injected, **counts,
            "notifications": dict(sorted(receivers.counts.items())), "titles": receivers.titles}


def _evaluate(run: DemoRun, master: Any, workdir: Path, am: AlertmanagerClient) -> tuple[dict[str, Any], list[str]]:
    cfg = _config(workdir)
    ledger = AlertLedger(resend_interval_s=cfg.resend_interval_s)
    facts = InfluxFacts(run.stack.influxql(), database=DATABASE, raw_rp=Retention.RAW.value,
                        kpi_rp=Retention.KPI.value)
    t = datetime.fromtimestamp(run.start_ms / 1000, UTC)
    source = Injected(facts, t)
    ev = AlertEvaluator(rules=resolve_rules(cfg), source=source, owner=WholeLease(NoLease()), master=master,
                        ledger=ledger, store=AlertStore(cfg.state_path), evaluation_delay_s=cfg.evaluation_delay_s)
    fired: Counter[str] = Counter()
    resolved: Counter[str] = Counter()
    stop = datetime.fromtimestamp(run.end_ms / 1000, UTC) + timedelta(seconds=cfg.evaluation_delay_s)
    evaluations = 0
    while t <= stop:
        report = ev.evaluate(t)
        evaluations += 1
        fired.update(a.alertname for a in report.fired)
        resolved.update(a.alertname for a in report.resolved)
        batch = ledger.batch(t)
        if batch:
            am.post_alerts(_shifted(batch, datetime.now(UTC) - t))
        t += STEP
    ev.store.close()
    return {"evaluations": evaluations, "statements": facts.statements, "fired": dict(sorted(fired.items())),
            "resolved": dict(sorted(resolved.items())), "firing_at_end": ledger.firing(stop)}, source.injected


def _settle(receivers: Receivers, *, quiet_s: float = 5.0, timeout_s: float = 60.0) -> None:
    """Wait until Alertmanager's groups have flushed and notify delivered: no new message for quiet_s."""
    deadline = time.monotonic() + timeout_s
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        total = sum(receivers.counts.values())
        if total != last:
            last, since = total, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.2)
