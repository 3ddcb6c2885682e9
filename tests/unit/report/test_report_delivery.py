"""The report's e-mail: which notify channel may carry it, and what the mail says."""

from __future__ import annotations

import pytest

from seamline.errors import UsageError
from seamline.notify.config import parse_config
from seamline.report.cluster_model import cluster_report
from seamline.report.delivery import email_channel, report_email, subject_and_body
from seamline.report.model import factory_report
from tests.support import report_inputs as ri


def notify_config() -> object:
    return parse_config({
        "outbox": {"path": "/tmp/unused.sqlite"},
        "channels": {"mail": {"type": "email", "host": "smtp.example.com", "from": "r@example.com",
                              "to": ["a@example.com", "b@example.com"]},
                     "hook": {"type": "webhook", "url": "https://example.com/h"}},
        "routes": [{"receiver": "*", "channels": ["mail"]}]}, source="notify.yaml", env={})


def test_only_an_email_channel_carries_a_report() -> None:
    cfg = notify_config()
    assert email_channel(cfg, "mail").to == ["a@example.com", "b@example.com"]  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="a webhook channel"):
        email_channel(cfg, "hook")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=r"no such channel .* \(channels: hook, mail\)"):
        email_channel(cfg, "fax")  # type: ignore[arg-type]


def test_the_mail_says_the_days_headline_in_both_languages_and_carries_the_page() -> None:
    subject, body = subject_and_body(factory_report(ri.master(), "f001", ri.inputs()))
    assert subject == "【生产日报】测试工厂 f001 2026-05-06 / Daily report f001 2026-05-06"
    assert "产量 480（目标 360），OEE 36.0 %，数据覆盖率 60 %，告警 1 条" in body
    assert "Output 480 (target 360), OEE 36.0 %, data coverage 60 %, 1 alerts" in body
    subject, body = subject_and_body(cluster_report(ri.master(), ri.inputs()))
    assert subject.startswith("【集群日报】2026-05-06") and "2 家企业" in body and "2 unmet orders" in body
    channel = email_channel(notify_config(), "mail")  # type: ignore[arg-type]
    mail = report_email(channel, subject=subject, body=body, html="<p>日报</p>".encode(), filename="c.html")
    assert mail["To"] == "a@example.com, b@example.com" and mail.is_multipart()
    (att,) = mail.iter_attachments()
    assert att.get_filename() == "c.html" and att.get_payload(decode=True) == "<p>日报</p>".encode()
