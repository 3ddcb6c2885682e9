from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from seamline.alertmanager.ledger import AlertLedger
from seamline.contracts.alerts import AlertAnnotations, AlertLabels, Severity

T0 = datetime(2026, 5, 4, 0, 0, tzinfo=UTC)
LABELS = AlertLabels(alertname="machine_down", severity=Severity.CRITICAL, enterprise="f001", site="s1",
                     asset="m003")
NOTE = AlertAnnotations(summary="机器 m003 停机")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_firing_alert_ends_a_few_intervals_ahead_of_each_post() -> None:
    ledger = AlertLedger(resend_interval_s=60, ends_after_intervals=4)
    ledger.fire(LABELS, NOTE, now=at(0))
    (a,) = ledger.batch(at(30))
    assert a.starts_at == at(0) and a.ends_at == at(30 + 240)
    (b,) = ledger.batch(at(90))
    assert b.ends_at == at(90 + 240)


def test_a_resolved_alert_is_posted_with_its_resolve_time_for_the_retention_then_forgotten() -> None:
    ledger = AlertLedger(resend_interval_s=60, resolved_retention_s=900)
    ledger.fire(LABELS, NOTE, now=at(0))
    assert ledger.resolve(LABELS, now=at(100))
    assert not ledger.resolve(LABELS, now=at(101))  # already cleared
    (a,) = ledger.batch(at(500))
    assert a.ends_at == at(100)
    assert ledger.batch(at(100 + 901)) == []
    assert len(ledger) == 0


def test_flaps_within_keep_firing_for_are_one_alert_with_one_start() -> None:
    ledger = AlertLedger(resend_interval_s=30, keep_firing_for_s=120)
    for i in range(20):  # 10 minutes of flapping every 30 s
        if i % 2 == 0:
            ledger.fire(LABELS, NOTE, now=at(30 * i))
        else:
            ledger.resolve(LABELS, now=at(30 * i))
        (a,) = ledger.batch(at(30 * i))
        assert a.starts_at == at(0) and a.ends_at > at(30 * i)  # firing all along
    (last,) = ledger.batch(at(570 + 120))
    assert last.ends_at == at(570 + 120)  # resolved keep_firing_for after it last cleared


def test_without_keep_firing_for_every_flap_is_a_new_episode() -> None:
    ledger = AlertLedger(resend_interval_s=30)
    ledger.fire(LABELS, NOTE, now=at(0))
    ledger.resolve(LABELS, now=at(30))
    assert ledger.batch(at(30))[0].ends_at == at(30)
    ledger.fire(LABELS, NOTE, now=at(60))
    assert ledger.batch(at(60))[0].starts_at == at(60)


def test_the_ledger_is_bounded_and_counts_what_it_refused() -> None:
    ledger = AlertLedger(max_alerts=1)
    assert ledger.fire(LABELS, NOTE, now=at(0))
    other = LABELS.model_copy(update={"asset": "m004"})
    assert not ledger.fire(other, NOTE, now=at(0))
    assert ledger.dropped == 1
    assert ledger.fire(LABELS, NOTE, now=at(1))  # updating an existing one is fine


def test_ends_at_one_interval_ahead_is_refused() -> None:
    with pytest.raises(ValueError):
        AlertLedger(ends_after_intervals=1)
