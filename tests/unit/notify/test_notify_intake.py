"""Intake with a real outbox (temp SQLite): routing, dedup of retries and HA duplicates, bounds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seamline.notify.config import parse_config
from seamline.notify.intake import Intake
from seamline.notify.metrics import Metrics
from seamline.notify.outbox import Outbox


def _intake(tmp_path: Path, max_rows: int = 100) -> tuple[Intake, Outbox]:
    cfg = parse_config({
        "channels": {"hook": {"type": "webhook", "url": "http://127.0.0.1:1/h"},
                     "ding": {"type": "dingtalk", "token": "t", "language": "en"}},
        "routes": [{"receiver": "f001", "channels": ["ding", "hook"]}],
    }, source="n.yaml", env={})
    box = Outbox(tmp_path / "o.sqlite", max_rows=max_rows, max_bytes=10**7, dedup_window_s=600)
    return Intake(cfg, box, Metrics(["hook", "ding"]), clock=lambda: datetime(2026, 5, 4, 1, tzinfo=UTC)), box


def _body(external_url: str = "http://am-1:9093", status: str = "firing") -> bytes:
    payload: dict[str, Any] = {
        "version": "4", "groupKey": "{}/{enterprise=\"f001\"}:{alertname=\"machine_down\"}", "status": status,
        "receiver": "seamline-f001", "groupLabels": {"alertname": "machine_down"},
        "commonLabels": {"alertname": "machine_down", "severity": "critical", "enterprise": "f001"},
        "commonAnnotations": {}, "externalURL": external_url, "truncatedAlerts": 0,
        "alerts": [{"status": status, "labels": {"alertname": "machine_down", "severity": "critical",
                                                 "enterprise": "f001", "site": "s1", "asset": "m003"},
                    "annotations": {"summary": "机器 m003 停机", "summary_en": "Machine m003 is down"},
                    "startsAt": "2026-05-04T00:15:00.123456789Z", "endsAt": "2026-05-04T00:19:00Z",
                    "generatorURL": "", "fingerprint": "abc"}]}
    return json.dumps(payload).encode()


def test_one_group_becomes_one_message_per_routed_channel_in_its_language(tmp_path: Path) -> None:
    intake, box = _intake(tmp_path)
    outcome, channels = intake.accept("f001", _body())
    assert (outcome.status, outcome.result, channels) == (200, "accepted", ["ding", "hook"])
    ding, hook = box.head("ding"), box.head("hook")
    assert ding is not None and hook is not None
    assert ding.message.title.startswith("[FIRING critical] Machine m003 is down")
    assert hook.message.title.startswith("【告警·严重】机器 m003 停机")
    assert ding.message.id != hook.message.id


def test_alertmanager_retries_and_the_other_ha_peer_are_taken_once(tmp_path: Path) -> None:
    intake, box = _intake(tmp_path)
    assert intake.accept("f001", _body())[0].result == "accepted"
    assert intake.accept("f001", _body())[0].result == "duplicate"  # retry
    assert intake.accept("f001", _body(external_url="http://am-2:9093"))[0].result == "duplicate"  # HA peer
    assert intake.accept("f001", _body(status="resolved"))[0].result == "accepted"  # news
    assert sum(d.rows for d in box.depth()) == 4


def test_bad_unrouted_and_full(tmp_path: Path) -> None:
    intake, _ = _intake(tmp_path, max_rows=1)
    assert intake.accept("f001", b"{not json")[0].status == 400
    assert intake.accept("f001", json.dumps({"version": "3"}).encode())[0].status == 400
    assert intake.accept("f999", _body())[0].status == 422
    outcome, channels = intake.accept("f001", _body())
    assert (outcome.status, outcome.result, channels) == (503, "outbox_full", [])
