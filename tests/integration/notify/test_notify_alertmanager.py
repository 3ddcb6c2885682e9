"""Alertmanager does the grouping, silencing, inhibition and HA de-duplication; these tests prove
the generated config and the send side make it do so, end to end through ``seamline notify``.

Absence ("no notification") is shown with a sentinel: an unrelated alert posted *after* the one
that must stay quiet, through the same route timings and the same in-order channel. When the
sentinel's notification has arrived, the quiet one would have arrived before it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from seamline.alertmanager.client import AlertmanagerClient, Matcher
from seamline.alertmanager.ledger import AlertLedger
from seamline.alertmanager.sender import AlertSender
from seamline.contracts.alerts import Severity
from seamline.localstack import AlertmanagerProcess
from tests.support.notify_process import NotifyProcess
from tests.support.notify_scenarios import (
    am_config,
    firing,
    gateway_annotations,
    gateway_labels,
    machine_annotations,
    machine_labels,
    webhook_channel,
)
from tests.support.vendor_receivers import Received, VendorReceiver

pytestmark = pytest.mark.integration


@pytest.fixture
def hook() -> Iterator[VendorReceiver]:
    receiver = VendorReceiver("webhook", secret="whsec-test")
    receiver.up()
    yield receiver
    receiver.down()


@pytest.fixture
def notify(tmp_path: Path, hook: VendorReceiver) -> Iterator[NotifyProcess]:
    process = NotifyProcess(workdir=tmp_path / "notify", config={
        "channels": {"hook": webhook_channel(hook.webhook_url)},
        "routes": [{"receiver": "*", "channels": ["hook"]}],
    })
    process.start()
    yield process
    process.stop()


def _notified(messages: list[Received]) -> list[tuple[str, str, list[str]]]:
    """(receiver key, status, [asset of each alert]) per notification, in arrival order."""
    return [(m.body["receiver"], m.body["status"], sorted(a["labels"].get("asset", "") for a in m.body["alerts"]))
            for m in messages]


def test_a_silence_created_through_the_api_suppresses_the_notification(
        notify: NotifyProcess, hook: VendorReceiver, alertmanager_factory: Callable[..., AlertmanagerProcess]) -> None:
    am = AlertmanagerClient(alertmanager_factory(am_config(notify.url)).url)
    now = datetime.now(UTC)
    silence = am.create_silence([Matcher("enterprise", "f001"), Matcher("asset", "m003")], starts_at=now,
                                ends_at=now + timedelta(hours=1), created_by="test", comment="maintenance on m003")
    am.post_alerts([firing(machine_labels("m003"), machine_annotations("m003"))])
    time.sleep(0.2)  # the silenced alert's group timer starts first
    am.post_alerts([firing(machine_labels("m010", enterprise="f002"), machine_annotations("m010"))])  # sentinel

    got = hook.wait_for(1)
    assert _notified(got) == [("f002", "firing", ["m010"])]
    states = {a.labels["asset"]: a for a in am.alerts()}
    assert states["m003"].state == "suppressed" and states["m003"].silenced_by == (silence,)

    am.expire_silence(silence)  # and without the silence, the same alert is notified
    assert _notified(hook.wait_for(2))[1] == ("f001", "firing", ["m003"])


def test_a_firing_gateway_offline_inhibits_its_assets_alerts(
        notify: NotifyProcess, hook: VendorReceiver, alertmanager_factory: Callable[..., AlertmanagerProcess]) -> None:
    am = AlertmanagerClient(alertmanager_factory(am_config(notify.url)).url)
    am.post_alerts([firing(gateway_labels("gw-f001"), gateway_annotations("gw-f001"))])
    time.sleep(0.1)
    am.post_alerts([
        firing(machine_labels("m003", gateway="gw-f001"), machine_annotations("m003")),
        firing(machine_labels("m004", gateway="gw-f001", severity=Severity.WARNING), machine_annotations("m004")),
        firing(machine_labels("meter01", gateway=None, alertname="grid_import_high"), machine_annotations("meter01")),
    ])
    time.sleep(0.2)
    am.post_alerts([firing(machine_labels("m010", enterprise="f002", gateway="gw-f002"),
                           machine_annotations("m010"))])  # sentinel: another enterprise's gateway is fine

    got = _notified(hook.wait_for(2))
    assert got == [("f001", "firing", ["gw-f001"]), ("f002", "firing", ["m010"])]
    inhibited = {a.labels["asset"] for a in am.alerts() if a.inhibited_by}
    assert inhibited == {"m003", "m004", "meter01"}


def test_two_alertmanager_peers_notify_once(
        notify: NotifyProcess, hook: VendorReceiver, alertmanager_factory: Callable[..., AlertmanagerProcess]) -> None:
    config = am_config(notify.url)
    first = alertmanager_factory(config, cluster=True)
    second = alertmanager_factory(config, cluster=True, peers=(first.cluster_address,))
    deadline = time.monotonic() + 30
    while first.cluster_peers() < 2 or second.cluster_peers() < 2:
        assert time.monotonic() < deadline, "the two Alertmanagers did not form a cluster"
        time.sleep(0.2)

    ledger = AlertLedger(resend_interval_s=1.0)
    sender = AlertSender(ledger, [AlertmanagerClient(first.url), AlertmanagerClient(second.url)])
    sender.start()
    try:
        ledger.fire(machine_labels("m003"), machine_annotations("m003"), now=datetime.now(UTC))
        sender.wake()
        assert _notified(hook.wait_for(1)) == [("f001", "firing", ["m003"])]
        # The second peer would notify after its peer timeout (2 s) had the first one's
        # notification log not reached it; the sentinel goes out after that.
        time.sleep(first.peer_timeout_s + 1.0)
        ledger.fire(machine_labels("m010", enterprise="f002"), machine_annotations("m010"), now=datetime.now(UTC))
        sender.wake()
        got = _notified(hook.wait_for(2))
        assert got == [("f001", "firing", ["m003"]), ("f002", "firing", ["m010"])]
        # Not even a duplicate that notify's own de-duplication would have hidden.
        assert notify.metric("seamline_notify_webhooks_total", result="duplicate") == 0
        assert notify.metric("seamline_notify_webhooks_total", result="accepted") == 2
        assert all(s.posts_ok >= 2 and s.posts_failed == 0 for s in sender.stats())
    finally:
        sender.close()
