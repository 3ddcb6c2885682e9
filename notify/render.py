"""One Alertmanager notification (an alert group) -> one message people read.

Per alert: what (the summary), where (enterprise / site / area / asset, and the gateway), since
when (local time, and for how long), the figure against its threshold with the unit, the data
coverage behind the figure, the runbook. Resolved groups say so, with when and how long.
Chinese by default, English per channel. Long groups list ``max_alerts`` alerts and count the
rest; the text is shortened further until it fits the channel's byte limit.

Pure: ``now`` and the time zone are arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from seamline.contracts.alerts import (
    ALERTNAME,
    AREA,
    ASSET,
    ENTERPRISE,
    GATEWAY,
    SEVERITY,
    SITE,
    WebhookAlert,
    WebhookPayload,
)
from seamline.notify.wording import word

TITLE_MAX_CHARS = 120


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message in two forms: markdown for the robots, plain text for e-mail and webhooks."""

    title: str  # one line
    markdown: str  # body without the title
    text: str  # body without the title
    status: str  # firing | resolved
    severity: str | None


def local_time(t: datetime, tz: ZoneInfo) -> str:
    """``2026-05-04 08:15 (UTC+08:00)``: local wall-clock time with its offset."""
    local = t.astimezone(tz)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def span(d: timedelta, language: str) -> str:
    """A duration as people say it: minutes, hours and minutes, days and hours."""
    minutes = max(0, int(d.total_seconds() // 60))
    if minutes < 60:
        return word(language, "minutes", n=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return word(language, "hours", h=hours, m=minutes)
    days, hours = divmod(hours, 24)
    return word(language, "days", d=days, h=hours)


def _pick(alert: WebhookAlert, key: str, language: str) -> str | None:
    """The annotation in the channel's language, falling back to the other one."""
    zh, en = alert.annotation(key), alert.annotation(f"{key}_en")
    return (en or zh) if language == "en" else (zh or en)


def _figure(value: str, unit: str | None) -> str:
    return f"{value} {unit}" if unit else value


def _percent(fraction: str) -> str:
    try:
        return f"{float(fraction) * 100:.0f} %"
    except ValueError:
        return fraction


def _since(alert: WebhookAlert) -> datetime:
    text = alert.annotation("since")
    if text:
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
    return alert.starts_at


def _where(alert: WebhookAlert, language: str) -> str:
    parts = [alert.label(k) for k in (ENTERPRISE, SITE, AREA, ASSET)]
    where = " / ".join(p for p in parts if p)
    gateway = alert.label(GATEWAY)
    if gateway:
        where += f" ({word(language, 'gateway')} {gateway})" if language == "en" else f"（网关 {gateway}）"
    return where or "-"


def alert_lines(alert: WebhookAlert, *, language: str, tz: ZoneInfo, now: datetime) -> tuple[str, list[str]]:
    """(headline, detail lines) of one alert; the lines are ``label: value`` pairs."""
    c = word(language, "colon")
    headline = _pick(alert, "summary", language) or alert.label(ALERTNAME) or "?"
    lines = [f"{word(language, 'where')}{c}{_where(alert, language)}"]
    since = _since(alert)
    if alert.status == "resolved" and alert.ends is not None:
        lines.append(f"{word(language, 'ended')}{c}{local_time(alert.ends, tz)}"
                     f"{word(language, 'list_sep')}{word(language, 'lasted')} {span(alert.ends - since, language)}")
    else:
        lines.append(f"{word(language, 'since')}{c}{local_time(since, tz)}"
                     f"{word(language, 'list_sep')}{word(language, 'for')} {span(now - since, language)}")
    value, threshold, unit = alert.annotation("value"), alert.annotation("threshold"), alert.annotation("unit")
    if value is not None:
        figure = f"{word(language, 'value')}{c}{_figure(value, unit)}"
        if threshold is not None:
            t = f"{word(language, 'threshold')} {_figure(threshold, unit)}"
            figure += f" ({t})" if language == "en" else f"（{t}）"
        lines.append(figure)
    coverage = alert.annotation("coverage")
    if coverage is not None:
        lines.append(f"{word(language, 'coverage')}{c}{_percent(coverage)}")
    description = _pick(alert, "description", language)
    if description:
        lines.append(description)
    return headline, lines


def title(payload: WebhookPayload, language: str) -> str:
    severity = payload.common_labels.get(SEVERITY)
    sev = word(language, severity) if severity in ("critical", "warning", "info") else None
    alerts = payload.alerts
    first = alerts[0]
    what = (_pick(first, "summary", language) if len(alerts) == 1 else None) \
        or (payload.common_annotations.get("summary_en" if language == "en" else "summary")) \
        or payload.group_labels.get(ALERTNAME) or first.label(ALERTNAME) or "?"
    enterprise = payload.common_labels.get(ENTERPRISE)
    status = word(language, payload.status)
    head = f"[{status}{' ' + sev if sev and payload.status == 'firing' else ''}] " if language == "en" \
        else f"【{status}{'·' + sev if sev and payload.status == 'firing' else ''}】"
    count = len(alerts) + payload.truncated_alerts
    text = f"{head}{what}"
    if count > 1:
        n = word(language, "alerts", n=count)
        text += f" ({n})" if language == "en" else f"（{n}）"
    if enterprise:
        text += f" · {enterprise}"
    text = " ".join(text.split())
    return text if len(text) <= TITLE_MAX_CHARS else text[: TITLE_MAX_CHARS - 1] + "…"


def _bodies(payload: WebhookPayload, shown: list[WebhookAlert], *, language: str, tz: ZoneInfo,
            now: datetime) -> tuple[str, str]:
    md: list[str] = []
    plain: list[str] = []
    for alert in shown:
        headline, lines = alert_lines(alert, language=language, tz=tz, now=now)
        runbook = alert.annotation("runbook_url")
        c = word(language, "colon")
        md.append(f"**{headline}**\n" + "\n".join(f"- {x}" for x in lines)
                  + (f"\n- [{word(language, 'runbook')}]({runbook})" if runbook else ""))
        plain.append(f"* {headline}\n" + "\n".join(f"  {x}" for x in lines)
                     + (f"\n  {word(language, 'runbook')}{c}{runbook}" if runbook else ""))
    hidden = len(payload.alerts) - len(shown) + payload.truncated_alerts
    if hidden > 0:
        md.append(word(language, "more", n=hidden))
        plain.append(word(language, "more", n=hidden))
    return "\n\n".join(md), "\n\n".join(plain)


def render(payload: WebhookPayload, *, language: str, tz: ZoneInfo, now: datetime, max_alerts: int = 10,
           max_bytes: int = 4000) -> Rendered:
    """The group as one message whose title + markdown body fit ``max_bytes`` (UTF-8).

    Firing alerts are listed before resolved ones, each newest first."""
    ordered = sorted(payload.alerts, key=lambda a: (a.status != "firing", -a.starts_at.timestamp()))
    head = title(payload, language)
    n = min(max_alerts, len(ordered))
    while True:
        md, plain = _bodies(payload, ordered[:n], language=language, tz=tz, now=now)
        if n == 0 or len((head + "\n\n" + md).encode()) <= max_bytes:
            break
        n -= 1
    md, plain = _clip(md, max_bytes - len(head.encode()) - 2), _clip(plain, max_bytes - len(head.encode()) - 2)
    return Rendered(title=head, markdown=md, text=plain, status=payload.status,
                    severity=payload.common_labels.get(SEVERITY))


def _clip(text: str, max_bytes: int) -> str:
    """Cut at a character boundary so the UTF-8 form fits ``max_bytes`` (an ellipsis marks the cut)."""
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    return data[: max(0, max_bytes - 3)].decode(errors="ignore") + "…"
