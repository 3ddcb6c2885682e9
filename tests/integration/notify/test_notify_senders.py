"""Senders and the Alertmanager sender against real servers, failure paths included."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from seamline.alertmanager.client import AlertmanagerClient
from seamline.alertmanager.ledger import AlertLedger
from seamline.alertmanager.sender import AlertSender
from seamline.localstack import AlertmanagerProcess, free_port
from seamline.notify.channels.base import RetryableSendError
from seamline.notify.channels.dingtalk import DingTalkSender
from seamline.notify.channels.email import EmailSender
from seamline.notify.config import DingTalkChannel, EmailChannel
from tests.support.notify_fakes import message
from tests.support.notify_scenarios import am_config, machine_annotations, machine_labels
from tests.support.smtp_sink import SmtpSink
from tests.support.vendor_receivers import VendorReceiver

pytestmark = pytest.mark.integration


def test_smtp_temporary_refusal_is_retryable_then_delivered() -> None:
    sink = SmtpSink()
    sink.start()
    try:
        sender = EmailSender(EmailChannel.model_validate(
            {"type": "email", "host": "127.0.0.1", "port": sink.port, "security": "none",
             "from": "a@example.com", "to": ["b@example.com"]}))
        sink.refuse = True
        with pytest.raises(RetryableSendError, match="451"):
            sender.send(message("m1", text="停机"))
        sink.refuse = False
        sender.send(message("m1", text="停机"))
        (mail,) = sink.wait_for(1)
        assert mail["X-Seamline-Message-Id"] == "m1" and "停机" in mail.get_content()
    finally:
        sink.stop()


def test_dingtalk_refusals_in_http_200_are_failures_not_deliveries() -> None:
    robot = VendorReceiver("dingtalk", token="t", secret="SECright")
    robot.up()
    try:
        wrong = DingTalkSender(DingTalkChannel.model_validate(
            {"type": "dingtalk", "token": "t", "secret": "SECwrong", "base_url": robot.base_url}))
        with pytest.raises(RetryableSendError, match="310000"):
            wrong.send(message("m1"))
        right = DingTalkSender(DingTalkChannel.model_validate(
            {"type": "dingtalk", "token": "t", "secret": "SECright", "base_url": robot.base_url}))
        right.send(message("m1"))
        assert len(robot.accepted) == 1 and len(robot.refused) == 1
    finally:
        robot.down()


def test_a_peer_that_is_down_does_not_hold_up_the_others(
        tmp_path: Path, alertmanager_factory: Callable[..., AlertmanagerProcess]) -> None:
    up = alertmanager_factory(am_config("http://127.0.0.1:9"))
    down = AlertmanagerClient(f"http://127.0.0.1:{free_port()}", timeout_s=2)
    ledger = AlertLedger(resend_interval_s=0.5)
    sender = AlertSender(ledger, [down, AlertmanagerClient(up.url)], backoff_initial_s=0.2, backoff_max_s=1)
    sender.start()
    try:
        ledger.fire(machine_labels("m003"), machine_annotations("m003"), now=datetime.now(UTC))
        sender.wake()
        client = AlertmanagerClient(up.url)
        deadline = datetime.now(UTC).timestamp() + 15
        while not client.alerts():
            assert datetime.now(UTC).timestamp() < deadline
            time.sleep(0.1)
        dead, alive = sender.stats()
        assert alive.posts_failed == 0
        assert dead.posts_ok == 0
        (held,) = client.alerts()
        assert held.labels["asset"] == "m003" and held.state in ("active", "unprocessed")
    finally:
        sender.close()
    assert sender.stats()[0].posts_failed >= 1 and sender.stats()[0].last_error is not None


def test_notify_check_and_config_errors_exit_2(tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parents[3] / "notify" / "notify.sample.yaml"
    cmd = [sys.executable, "-m", "seamline.cli", "notify", "--config", str(sample), "--check"]
    missing = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin"})
    assert missing.returncode == 2
    assert "SEAMLINE_NOTIFY_TOKEN is not set" in missing.stderr
    env = {"PATH": "/usr/bin"} | {k: "secret-value-xyz" for k in (
        "SEAMLINE_NOTIFY_TOKEN", "F001_DINGTALK_TOKEN", "F001_DINGTALK_SECRET", "F002_WECOM_KEY",
        "PARK_FEISHU_TOKEN", "PARK_FEISHU_SECRET", "SMTP_PASSWORD", "OPS_WEBHOOK_SECRET")}
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert ok.returncode == 0, ok.stderr
    assert "5 channels" in ok.stdout and "secret-value-xyz" not in ok.stdout + ok.stderr
