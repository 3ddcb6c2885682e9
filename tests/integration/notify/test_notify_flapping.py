"""A condition flapping for 10 simulated minutes -> at most one notification per repeat interval,
then one "resolved" when it stops: the send-side ledger (keep_firing_for) and a real Alertmanager
with the generated config, through the real ``seamline notify``.

Time is scaled 60:1 (one simulated minute is one real second) in every duration alike: the
condition flips every 30 s, the ledger re-sends every 30 s and keeps an alert firing for 2 min
after it clears, Alertmanager groups for 30 s / 1 min and repeats after 4 min.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from seamline.alertmanager.client import AlertmanagerClient
from seamline.alertmanager.ledger import AlertLedger
from seamline.alertmanager.sender import AlertSender
from seamline.localstack import AlertmanagerProcess
from tests.support.notify_process import NotifyProcess
from tests.support.notify_scenarios import am_config, machine_annotations, machine_labels, webhook_channel
from tests.support.vendor_receivers import VendorReceiver

pytestmark = pytest.mark.integration

MINUTE = 1.0  # real seconds per simulated minute


def test_a_flapping_condition_notifies_at_most_once_per_repeat_interval(
        tmp_path: Path, alertmanager_factory: Callable[..., AlertmanagerProcess]) -> None:
    hook = VendorReceiver("webhook", secret="whsec-test")
    hook.up()
    notify = NotifyProcess(workdir=tmp_path / "notify", config={
        "channels": {"hook": webhook_channel(hook.webhook_url)},
        "routes": [{"receiver": "*", "channels": ["hook"]}],
    })
    notify.start()
    repeat_s = 4 * MINUTE
    am = alertmanager_factory(am_config(notify.url, group_wait_s=0.5 * MINUTE, group_interval_s=1 * MINUTE,
                                        repeat_interval_s=repeat_s))
    ledger = AlertLedger(resend_interval_s=0.5 * MINUTE, keep_firing_for_s=2 * MINUTE)
    sender = AlertSender(ledger, [AlertmanagerClient(am.url)])
    sender.start()
    labels, annotations = machine_labels("m003"), machine_annotations("m003")
    try:
        started = time.monotonic()
        flips = 0
        while time.monotonic() - started < 10 * MINUTE:
            now = datetime.now(UTC)
            changed = ledger.fire(labels, annotations, now=now) if flips % 2 == 0 else ledger.resolve(labels, now=now)
            assert changed
            flips += 1
            sender.wake()
            time.sleep(0.5 * MINUTE)
        flapped_s = time.monotonic() - started
        if flips % 2 == 1:  # it ended firing: let it clear for good
            ledger.resolve(labels, now=datetime.now(UTC))
            sender.wake()

        # Exactly one "resolved" arrives once keep_firing_for has passed; everything before it
        # is the flapping period's notifications.
        deadline = time.monotonic() + 30
        while not any(m.body["status"] == "resolved" for m in hook.accepted):
            assert time.monotonic() < deadline, "no resolved notification"
            time.sleep(0.1)
        statuses = [m.body["status"] for m in hook.accepted]
        assert flips >= 19
        firing_count = statuses.index("resolved")
        assert 1 <= firing_count <= 1 + int(flapped_s // repeat_s), statuses
        # one episode: every notification names the same start
        starts = {m.body["alerts"][0]["startsAt"] for m in hook.accepted}
        assert len(starts) == 1
    finally:
        sender.close()
        notify.stop()
        hook.down()
