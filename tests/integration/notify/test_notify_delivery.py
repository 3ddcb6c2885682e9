"""Delivery guarantees of the real ``seamline notify`` behind a real Alertmanager: a channel that
is down delays and loses nothing, in order, across a SIGKILL of notify; a rate limit holds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from seamline.alertmanager.client import AlertmanagerClient
from seamline.localstack import AlertmanagerProcess
from tests.support.notify_process import NotifyProcess
from tests.support.notify_scenarios import am_config, firing, machine_annotations, machine_labels, webhook_channel
from tests.support.vendor_receivers import VendorReceiver

pytestmark = pytest.mark.integration


def _post_group(am: AlertmanagerClient, notify: NotifyProcess, i: int, accepted_before: int) -> None:
    """Post alert group ``i`` (its own alert name) and wait until notify has stored it, so the
    outbox order is the posting order."""
    am.post_alerts([firing(machine_labels(f"m{i:03d}", alertname=f"rule_{i:02d}"), machine_annotations(f"m{i:03d}"))])
    got = notify.wait_metric("seamline_notify_webhooks_total", accepted_before + 1, result="accepted")
    assert got == accepted_before + 1


def test_a_channel_down_delays_everything_and_loses_nothing_across_a_sigkill(
        tmp_path: Path, alertmanager_factory: Callable[..., AlertmanagerProcess]) -> None:
    receiver = VendorReceiver("webhook", secret="whsec-test")  # down: nothing listens on its port
    config = {
        # "Five minutes" of outage shortened: retries every 0.2-1 s instead of 2-300 s.
        "retry": {"backoff_initial_s": 0.2, "backoff_max_s": 1.0},
        "channels": {"hook": webhook_channel(receiver.webhook_url)},
        "routes": [{"receiver": "*", "channels": ["hook"]}],
    }
    notify = NotifyProcess(workdir=tmp_path / "notify", config=config)
    notify.start()
    am = alertmanager_factory(am_config(notify.url))
    client = AlertmanagerClient(am.url)
    try:
        for i in range(3):
            _post_group(client, notify, i, accepted_before=i)
        notify.wait_metric("seamline_notify_failed_attempts_total", 3, channel="hook", kind="retryable")
        notify.kill()  # SIGKILL with three messages in the outbox

        notify.start()  # same config, same outbox
        for i in range(3, 5):
            _post_group(client, notify, i, accepted_before=i - 3)
        assert notify.metric("seamline_notify_outbox_messages", channel="hook") == 5

        receiver.up()
        got = receiver.wait_for(5)
        assert notify.wait_metric("seamline_notify_delivered_total", 5, channel="hook") == 5
        assert notify.metric("seamline_notify_outbox_messages", channel="hook") == 0
        # The outbox is empty: nothing more can come. Every message once, in posting order.
        assert len(receiver.accepted) == 5
        names = [m.body["alerts"][0]["labels"]["alertname"] for m in got]
        assert names == [f"rule_{i:02d}" for i in range(5)]
        assert len({m.body["id"] for m in got}) == 5
        assert notify.metric("seamline_notify_dropped_total", channel="hook", reason="expired") == 0
    finally:
        notify.stop()
        receiver.down()


def test_dingtalk_rate_limit_holds_and_nothing_is_refused(
        tmp_path: Path, alertmanager_factory: Callable[..., AlertmanagerProcess]) -> None:
    limit, window_s = 3, 2.0  # DingTalk's 20 a minute, scaled down so the test takes seconds
    robot = VendorReceiver("dingtalk", token="ding-token", secret="SECding", limit=(limit, window_s))
    robot.up()
    notify = NotifyProcess(workdir=tmp_path / "notify", config={
        "channels": {"ding": {"type": "dingtalk", "token": "ding-token", "secret": "SECding",
                              "base_url": robot.base_url,
                              "rate_limit": {"messages": limit, "per_s": window_s}}},
        "routes": [{"receiver": "f001", "channels": ["ding"]}],
    })
    notify.start()
    am = alertmanager_factory(am_config(notify.url))
    try:
        groups = 8
        alerts = [firing(machine_labels(f"m{i:03d}", alertname=f"rule_{i:02d}"), machine_annotations())
                  for i in range(groups)]
        AlertmanagerClient(am.url).post_alerts(alerts)
        got = robot.wait_for(groups, timeout_s=60)
        assert robot.refused == []  # DingTalk never had to say "send too fast" (errcode 130101)
        times = sorted(m.at for m in got)
        for i in range(len(times) - limit):
            assert times[i + limit] - times[i] >= window_s, "more than the limit within one window"
        assert notify.metric("seamline_notify_rate_limited_waits_total", channel="ding") >= 1
    finally:
        notify.stop()
        robot.down()
