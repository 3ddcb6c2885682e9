"""``AlertmanagerClient.alerts()`` answers: labels, state, annotations and times as Alertmanager writes them."""

from __future__ import annotations

from datetime import UTC, datetime

from seamline.alertmanager.client import _alert_state


def test_an_alert_as_alertmanager_answers_it() -> None:
    s = _alert_state({
        "labels": {"alertname": "machine_down", "enterprise": "f001"},
        "annotations": {"summary": "机器 m3 停机", "value": "25"},
        "startsAt": "2026-05-06T01:15:00.123456789Z", "endsAt": "2026-05-06T02:19:00Z",
        "status": {"state": "suppressed", "silencedBy": ["s1"], "inhibitedBy": []},
    })
    assert s.annotations == {"summary": "机器 m3 停机", "value": "25"}
    assert s.starts_at == datetime(2026, 5, 6, 1, 15, 0, 123456, tzinfo=UTC)
    assert s.ends_at == datetime(2026, 5, 6, 2, 19, tzinfo=UTC)
    assert (s.state, s.silenced_by) == ("suppressed", ("s1",))
    bare = _alert_state({"labels": {}, "endsAt": "2026-05-06T02:19:00.5+08:00", "status": {}})
    assert bare.starts_at is None and bare.annotations == {} and bare.ends_at.utcoffset() is not None
