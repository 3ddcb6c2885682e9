"""Send a report as an e-mail attachment through a ``seamline notify`` e-mail channel (the same
``notify.yaml``: server, security, credentials as secrets, sender and recipients).

The mail's body is a short text in both languages (the day's headline figures); the HTML page is
attached and opens offline. A server that refuses for now (4xx, connection lost, login refused)
is retried with jittered, capped backoff ``attempts`` times; a 5xx answer to the message is final.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from seamline.backoff import Backoff
from seamline.errors import UsageError
from seamline.notify.channels.base import PermanentSendError, RetryableSendError
from seamline.notify.channels.email import EmailSender
from seamline.notify.config import EmailChannel, NotifyConfig
from seamline.report.charts import num, pct
from seamline.report.cluster_model import ClusterReport
from seamline.report.model import FactoryReport

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """The report was not delivered; the message is safe to print (no secret in it)."""


def email_channel(cfg: NotifyConfig, name: str) -> EmailChannel:
    """The e-mail channel ``name`` of ``cfg``; a :class:`UsageError` naming what is there otherwise."""
    channel = cfg.channels.get(name)
    if channel is None:
        raise UsageError(f"--send {name!r}: no such channel in the notify config (channels: "
                         f"{', '.join(sorted(cfg.channels)) or 'none'})")
    if not isinstance(channel, EmailChannel):
        raise UsageError(f"--send {name!r}: a {channel.type} channel; a report is sent as an e-mail attachment, "
                         "so it needs an e-mail channel")
    return channel


def subject_and_body(report: FactoryReport | ClusterReport) -> tuple[str, str]:
    """The subject line and the plain-text body (Chinese, then English)."""
    if isinstance(report, FactoryReport):
        t = report.totals
        subject = f"【生产日报】{report.name} {report.day} / Daily report {report.enterprise} {report.day}"
        figures = (f"产量 {num(t.output)}（目标 {num(t.target)}），OEE {pct(t.oee, 1)}，数据覆盖率 {pct(t.coverage)}，"
                   f"告警 {t.alerts} 条",
                   f"Output {num(t.output)} (target {num(t.target)}), OEE {pct(t.oee, 1)}, data coverage "
                   f"{pct(t.coverage)}, {t.alerts} alerts")
    else:
        subject = f"【集群日报】{report.day} / Cluster daily report {report.day}"
        figures = (f"{report.factories_total} 家企业，产量 {num(report.output)}，OEE {pct(report.oee, 1)}，"
                   f"未满足订单 {len(report.orders.unmet)} 个，告警 {report.alerts_total} 条",
                   f"{report.factories_total} enterprises, output {num(report.output)}, OEE {pct(report.oee, 1)}, "
                   f"{len(report.orders.unmet)} unmet orders, {report.alerts_total} alerts")
    body = (f"{figures[0]}\n完整报告见附件（HTML 文件，可离线打开）。\n\n"
            f"{figures[1]}\nThe full report is attached (an HTML file that opens offline).\n")
    return subject, body


def report_email(channel: EmailChannel, *, subject: str, body: str, html: bytes, filename: str) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = subject
    mail["From"] = channel.sender
    mail["To"] = ", ".join(channel.to)
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain="seamline.report")
    mail.set_content(body, charset="utf-8")
    mail.add_attachment(html, maintype="text", subtype="html", filename=filename, params={"charset": "utf-8"})
    return mail


def send(channel: EmailChannel, mail: EmailMessage, *, attempts: int = 5, backoff_s: float = 2.0,
         max_backoff_s: float = 60.0, sleep: Callable[[float], None] = time.sleep,
         rng: random.Random | None = None) -> None:
    """Send ``mail`` through ``channel``; raise :class:`DeliveryError` when it cannot be delivered."""
    sender = EmailSender(channel)
    backoff = Backoff(initial_s=backoff_s, max_s=max_backoff_s, random=(rng or random.Random()).random)
    for attempt in range(1, attempts + 1):
        try:
            sender.send_mail(mail)
            return
        except PermanentSendError as exc:
            raise DeliveryError(f"refused: {exc}") from None
        except RetryableSendError as exc:
            if attempt == attempts:
                raise DeliveryError(f"not delivered after {attempts} attempts: {exc}") from None
            delay = backoff.next_delay_s()
            log.warning("report: %s; retrying in %.1f s", exc, delay)
            sleep(delay)
