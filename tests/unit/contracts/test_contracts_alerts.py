from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from seamline.contracts.alerts import (
    AlertAnnotations,
    AlertLabels,
    PostableAlert,
    Severity,
    WebhookPayload,
    format_figure,
)


def _labels(**over: str | None) -> AlertLabels:
    base: dict[str, str | None] = {"alertname": "machine_down", "severity": "critical", "enterprise": "f001",
                                   "site": "s1", "area": "line01", "asset": "m003"}
    return AlertLabels.model_validate(base | over)


def test_labels_follow_the_topic_grammar() -> None:
    assert _labels().as_dict() == {"alertname": "machine_down", "severity": "critical", "enterprise": "f001",
                                   "site": "s1", "area": "line01", "asset": "m003"}
    assert _labels(area="_gateway", asset="gw-1", gateway="gw-1").area == "_gateway"  # reserved names from topics
    for bad in ({"enterprise": "f/001"}, {"site": "+"}, {"asset": "a#"}, {"enterprise": "_x"}, {"gateway": " g"},
                {"alertname": "Machine Down"}, {"severity": "page"}):
        with pytest.raises(ValidationError):
            _labels(**bad)


def test_annotations_figures_and_coverage() -> None:
    a = AlertAnnotations(summary="机器停机", value=format_figure(25.0), threshold=format_figure(10),
                         unit="min", coverage=format_figure(0.9234))
    assert a.as_dict() == {"summary": "机器停机", "value": "25", "threshold": "10", "unit": "min",
                           "coverage": "0.9234"}
    with pytest.raises(ValidationError):
        AlertAnnotations(summary="x", coverage="1.5")
    with pytest.raises(ValidationError):
        AlertAnnotations(summary="x", value="25 min")
    assert format_figure(1234567.0) == "1.235e+06" and format_figure(-0.0) == "0"
    with pytest.raises(ValueError):
        format_figure(float("nan"))


def test_postable_alert_on_the_wire() -> None:
    alert = PostableAlert(labels=_labels(), annotations=AlertAnnotations(summary="s"),
                          startsAt=datetime(2026, 5, 4, 8, 15, tzinfo=UTC),
                          endsAt=datetime(2026, 5, 4, 8, 19, 30, 500000, tzinfo=UTC))
    wire = alert.to_wire()
    assert wire["startsAt"] == "2026-05-04T08:15:00.000Z" and wire["endsAt"] == "2026-05-04T08:19:30.500Z"
    assert "generatorURL" not in wire and wire["labels"]["severity"] == Severity.CRITICAL.value


def test_alertmanager_webhook_payload_with_zero_times_and_nanoseconds() -> None:
    p = WebhookPayload.model_validate_json(b"""{"receiver": "seamline-f001", "status": "firing", "alerts": [
        {"status": "firing", "labels": {"alertname": "x", "enterprise": "f001"}, "annotations": {"summary": "s"},
         "startsAt": "2026-12-04T15:16:14.260727055Z", "endsAt": "0001-01-01T00:00:00Z",
         "generatorURL": "", "fingerprint": "688fb849c0068f24"}],
        "groupLabels": {"alertname": "x"}, "commonLabels": {"alertname": "x"}, "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:42199", "version": "4", "groupKey": "{}:{alertname=\\"x\\"}",
        "truncatedAlerts": 0, "newFieldFromAFutureVersion": 1}""")
    (a,) = p.alerts
    assert a.ends is None and a.starts_at.microsecond == 260727
    assert p.firing == [a] and p.resolved == []
