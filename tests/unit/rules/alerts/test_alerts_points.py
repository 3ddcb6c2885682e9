"""alert_state points name what the alert is about in the schema's asset tag; the notify ledger
restores an alert with its startsAt (and resolve) and forgets one this replica no longer owns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from seamline.contracts.alerts import AlertAnnotations, AlertLabels, Severity
from seamline.notify.alert_ledger import AlertLedger
from seamline.rules.alerts.points import alert_point

T = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)


def labels(**kw: str | None) -> AlertLabels:
    base: dict[str, object] = {"alertname": "x", "severity": Severity.WARNING, "enterprise": "f001", "site": "s1"}
    return AlertLabels.model_validate({**base, **kw})


def test_asset_tag_is_the_asset_else_the_line_else_the_gateway() -> None:
    assert alert_point(labels(area="line01", asset="m001", gateway="gw1"), True, T).tag("asset") == "m001"
    assert alert_point(labels(area="line01", asset="_line"), True, T).tag("asset") == "line01"
    assert alert_point(labels(gateway="gw1"), False, T).tag("asset") == "gw1"
    p = alert_point(labels(), False, T)
    assert "asset" not in dict(p.tags) and p.get("firing") == 0 and p.ts_ms == int(T.timestamp() * 1000)


def test_ledger_restore_and_forget() -> None:
    ledger = AlertLedger(resend_interval_s=60)
    ann = AlertAnnotations(summary="s")
    a, b = labels(asset="m1", area="l1"), labels(asset="m2", area="l1")
    ledger.restore(a, ann, starts_at=T - timedelta(hours=1))
    ledger.restore(b, ann, starts_at=T - timedelta(hours=2), resolved_at=T - timedelta(minutes=1))
    batch = {p.labels.asset: p for p in ledger.batch(T)}
    assert batch["m1"].starts_at == T - timedelta(hours=1) and batch["m1"].ends_at == T + timedelta(minutes=4)
    assert batch["m2"].ends_at == T - timedelta(minutes=1)
    assert a in ledger and ledger.forget(a) and a not in ledger
    assert [p.labels.asset for p in ledger.batch(T)] == ["m2"]
