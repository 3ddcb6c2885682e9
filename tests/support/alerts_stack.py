"""The alert path end to end for integration tests: InfluxDB rows as ingest writes them, real
``seamline rules run`` replicas with an alerts config, a real Alertmanager with the generated
config and the real ``seamline notify`` delivering to a local signed-webhook receiver."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from seamline.localstack import AlertmanagerProcess
from seamline.storage.db_init import DbLayout, RetentionSpec, init_v1
from seamline.storage.line_protocol import encode_line
from seamline.storage.query_client import InfluxQLClient
from seamline.storage.writer_v1 import InfluxV1Writer
from tests.support.notify_process import NotifyProcess
from tests.support.notify_scenarios import SAMPLE_MASTER, am_config, webhook_channel
from tests.support.rules_ha import RulesReplica
from tests.support.vendor_receivers import Received, VendorReceiver

E, S, LINE, GW = "f001", "s1", "line01", "gw-f001"
MACHINES = ("m001", "m002")
RESEND_S = 60.0  # firing alerts re-posted every minute, endsAt 4 minutes ahead


def ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


class Influx:
    def __init__(self, url: str, db: str) -> None:
        self.url, self.db = url, db
        policies = (RetentionSpec(name="raw", duration="INF", default=True), RetentionSpec(name="kpi", duration="INF"))
        init_v1(InfluxQLClient(url=url), DbLayout(database=db, policies=policies))

    def write(self, lines: list[str]) -> None:
        w = InfluxV1Writer(url=self.url, database=self.db, retention_policy="raw")
        w.write(lines)
        w.close()

    def query(self, q: str) -> list[Any]:
        """The first column of the answer's first series (after time)."""
        res = InfluxQLClient(url=self.url).query(q, db=self.db)
        series = res[0].get("series") or [{"values": []}]
        return [row[1] for row in series[0]["values"]]

    def births(self, at: datetime) -> None:
        """The gateway's birth (asset_info: which gateway serves each machine), status online."""
        lines = [encode_line("asset_info", {"enterprise": E, "site": S, "area": LINE, "asset": m,
                                            "asset_kind": "sewing_machine"}, {"gateway": GW}, ms(at))
                 for m in MACHINES]
        self.write([*lines, self.status_line("online", at)])

    @staticmethod
    def status_line(state: str, at: datetime) -> str:
        fields: dict[str, Any] = {"state": state}
        if state == "offline":
            fields["reason"] = "last will"
        return encode_line("gateway_status", {"enterprise": E, "site": S, "gateway": GW}, fields, ms(at))

    def machine(self, asset: str, state: str, at: datetime, reason: str = "none") -> None:
        self.write([encode_line("machine_state", {"enterprise": E, "site": S, "area": LINE, "asset": asset},
                                {"state": state, "reason": reason, "seq": 1, "quality": "good"}, ms(at))])


def alerts_yaml(path: Path, *, am_urls: list[str], state_path: Path) -> Path:
    """Every built-in rule but machine_down and gateway_offline off; evaluated every second, no
    evaluation delay; firing alerts re-posted every RESEND_S."""
    from seamline.rules.alerts.builtin import BUILTIN_RULES

    builtin: dict[str, Any] = {r: {"enabled": False} for r in BUILTIN_RULES if r not in ("machine_down",
                                                                                         "gateway_offline")}
    builtin["machine_down"] = {"keep_firing_for": "0s"}
    path.write_text(yaml.safe_dump({"interval_s": 1, "evaluation_delay_s": 0, "resend_interval_s": RESEND_S,
                                    "state_path": str(state_path), "alertmanager": {"peers": am_urls},
                                    "builtin": builtin}))
    return path


def rules_yaml(*, influx: Influx, alerts: Path, lease: Path, holder: str) -> dict[str, Any]:
    return {"master_data": str(SAMPLE_MASTER), "alerts": str(alerts),
            "influx": {"url": influx.url, "database": influx.db, "timeout_s": 2, "query_timeout_s": 10},
            "capacity": {"enabled": False},
            "lease": {"kind": "file", "path": str(lease), "holder": holder, "ttl_s": 5, "renew_s": 1}}


class Stack:
    """Webhook receiver <- seamline notify <- Alertmanager (generated config, fast group timings)."""

    def __init__(self, tmp_path: Path, alertmanager_factory: Callable[..., AlertmanagerProcess]) -> None:
        self.hook = VendorReceiver("webhook", secret="whsec-test")
        self.hook.up()
        self.notify = NotifyProcess(workdir=tmp_path / "notify", config={
            "channels": {"hook": webhook_channel(self.hook.webhook_url)},
            "routes": [{"receiver": "*", "channels": ["hook"]}],
        })
        self.notify.start()
        self.am = alertmanager_factory(am_config(self.notify.url, group_wait_s=0.5, group_interval_s=1.0,
                                                 repeat_interval_s=3600))

    def messages(self, status: str | None = None) -> list[Received]:
        return [m for m in self.hook.accepted if status is None or m.body["status"] == status]

    def alertnames(self, status: str) -> list[str]:
        return [a["labels"]["alertname"] for m in self.messages(status) for a in m.body["alerts"]
                if a["status"] == status]

    def close(self) -> None:
        self.notify.stop()
        self.hook.down()


def replica(tmp_path: Path, name: str, influx: Influx, alerts: Path) -> RulesReplica:
    cfg = rules_yaml(influx=influx, alerts=alerts, lease=tmp_path / "rules.lease", holder=name)
    return RulesReplica(name, tmp_path / "replicas", cfg)


def wait_for(pred: Callable[[], bool], what: str, timeout_s: float = 60.0,
             detail: Callable[[], str] = lambda: "") -> None:
    """Poll ``pred``; on timeout fail with ``detail()`` (e.g. the services' logs) in the message."""
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out waiting for {what}\n{detail()}")
        time.sleep(0.1)


def now() -> datetime:
    return datetime.now(UTC)


def ago(minutes: float) -> datetime:
    return now() - timedelta(minutes=minutes)
