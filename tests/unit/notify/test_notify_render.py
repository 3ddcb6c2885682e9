from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from seamline.contracts.alerts import WebhookPayload
from seamline.notify.render import local_time, render, span

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 5, 4, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def _alert(asset: str, status: str = "firing", **annotations: str) -> dict[str, Any]:
    notes = {"summary": f"机器 {asset} 停机", "summary_en": f"Machine {asset} is down", "value": "25",
             "threshold": "10", "unit": "min", "coverage": "0.92",
             "runbook_url": "https://runbooks.example/machine_down"} | annotations
    return {"status": status, "fingerprint": asset,
            "labels": {"alertname": "machine_down", "severity": "critical", "enterprise": "f001", "site": "s1",
                       "area": "line01", "asset": asset, "gateway": "gw-f001"},
            "annotations": notes, "startsAt": "2026-05-04T00:15:00Z",
            "endsAt": "2026-05-04T00:40:00Z" if status == "resolved" else "0001-01-01T00:00:00Z"}


def _payload(*alerts: dict[str, Any], status: str = "firing", truncated: int = 0) -> WebhookPayload:
    return WebhookPayload.model_validate({
        "version": "4", "groupKey": "{}:{alertname=\"machine_down\"}", "status": status, "receiver": "seamline-f001",
        "groupLabels": {"enterprise": "f001", "alertname": "machine_down"},
        "commonLabels": {"alertname": "machine_down", "severity": "critical", "enterprise": "f001"},
        "commonAnnotations": {}, "externalURL": "http://am", "truncatedAlerts": truncated, "alerts": list(alerts)})


def test_chinese_by_default_what_where_since_figure_coverage_runbook() -> None:
    r = render(_payload(_alert("m003")), language="zh", tz=SHANGHAI, now=NOW)
    assert r.title == "【告警·严重】机器 m003 停机 · f001"
    assert r.markdown.splitlines() == [
        "**机器 m003 停机**",
        "- 位置：f001 / s1 / line01 / m003（网关 gw-f001）",
        "- 开始时间：2026-05-04 08:15 (UTC+08:00)；已持续 45 分钟",
        "- 数值：25 min（阈值 10 min）",
        "- 数据覆盖率：92 %",
        "- [处理手册](https://runbooks.example/machine_down)",
    ]
    assert "处理手册：https://runbooks.example/machine_down" in r.text


def test_english_on_an_english_channel_with_the_english_annotations() -> None:
    r = render(_payload(_alert("m003"), _alert("m004", value="12.5")), language="en", tz=SHANGHAI, now=NOW)
    assert r.title == "[FIRING critical] machine_down (2 alerts) · f001"
    assert "Machine m004 is down" in r.markdown
    assert "- Value: 12.5 min (threshold 10 min)" in r.markdown
    assert "- Since: 2026-05-04 08:15 (UTC+08:00); for 45 min" in r.markdown


def test_a_resolved_group_says_when_and_how_long() -> None:
    r = render(_payload(_alert("m003", "resolved"), status="resolved"), language="zh", tz=SHANGHAI, now=NOW)
    assert r.title.startswith("【已恢复】机器 m003 停机")
    assert "- 恢复时间：2026-05-04 08:40 (UTC+08:00)；持续 25 分钟" in r.markdown


def test_since_annotation_wins_over_starts_at() -> None:
    r = render(_payload(_alert("m003", since="2026-05-04T07:50:00+08:00")), language="zh", tz=SHANGHAI, now=NOW)
    assert "开始时间：2026-05-04 07:50 (UTC+08:00)；已持续 1 小时 10 分钟" in r.markdown


def test_long_groups_list_some_and_count_the_rest_including_truncated_ones() -> None:
    alerts = [_alert(f"m{i:03d}") for i in range(15)]
    r = render(_payload(*alerts, truncated=5), language="zh", tz=SHANGHAI, now=NOW, max_alerts=10)
    assert r.markdown.count("**机器") == 10
    assert r.markdown.endswith("……另有 10 条未列出")
    assert "（20 条）" in r.title


def test_the_message_fits_the_channels_byte_limit() -> None:
    alerts = [_alert(f"m{i:03d}", description="很长的说明" * 40) for i in range(10)]
    r = render(_payload(*alerts), language="zh", tz=SHANGHAI, now=NOW, max_alerts=10, max_bytes=4000)
    assert len((r.title + "\n\n" + r.markdown).encode()) <= 4000
    assert "未列出" in r.markdown


def test_local_time_and_spans() -> None:
    t = datetime(2026, 7, 1, 6, 5, tzinfo=UTC)
    assert local_time(t, SHANGHAI) == "2026-07-01 14:05 (UTC+08:00)"
    assert local_time(t, ZoneInfo("Europe/Berlin")) == "2026-07-01 08:05 (UTC+02:00)"
    assert span(timedelta(minutes=59, seconds=59), "zh") == "59 分钟"
    assert span(timedelta(hours=25, minutes=3), "zh") == "1 天 1 小时"
    assert span(timedelta(hours=2, minutes=3), "en") == "2 h 3 min"
