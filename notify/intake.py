"""From an Alertmanager webhook to outbox rows: validate, route, render per channel, store.

The answer tells Alertmanager what to do: 200 = stored (or already stored: a retry or the other
HA peer), 503 = outbox full (Alertmanager keeps the alerts and retries), 4xx = this request is
wrong and a retry would be too (Alertmanager logs it; we count it and log one line).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError

from seamline.configfile import validation_problems
from seamline.contracts.alerts import SEVERITY, NotificationMessage, Severity, WebhookPayload
from seamline.notify.config import NotifyConfig
from seamline.notify.message import OutboxMessage
from seamline.notify.metrics import Metrics
from seamline.notify.outbox import Enqueued, Outbox
from seamline.notify.render import Rendered, render

log = logging.getLogger(__name__)

# Feishu takes 20 KB per request, DingTalk about as much; WeCom 4 KB (its sender trims to fit).
MAX_MESSAGE_BYTES = {"wecom": 4000, "feishu": 16_000, "dingtalk": 16_000}
DEFAULT_MAX_MESSAGE_BYTES = 32_000


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int  # HTTP status for Alertmanager
    result: str  # metrics label and log word


def dedup_key(receiver: str, payload: WebhookPayload) -> str:
    """Equal for the same notification however often it arrives (retries, HA peers): the
    receiver key, group, status and each alert's identity and times - not the sender's URL."""
    alerts = sorted((a.fingerprint or json.dumps(a.labels, sort_keys=True), a.status,
                     a.starts_at.isoformat(), a.ends_at.isoformat()) for a in payload.alerts)
    raw = json.dumps([receiver, payload.group_key, payload.status, payload.truncated_alerts, alerts])
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


class Intake:
    def __init__(self, cfg: NotifyConfig, outbox: Outbox, metrics: Metrics, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._cfg = cfg
        self._outbox = outbox
        self._metrics = metrics
        self._clock = clock

    def accept(self, receiver: str, body: bytes) -> tuple[Outcome, list[str]]:
        """Handle one webhook; returns the outcome and the channels that got a new message."""
        try:
            payload = WebhookPayload.model_validate_json(body)
        except ValidationError as exc:
            problems = "; ".join(validation_problems(exc)[:5])
            log.warning("webhook /alertmanager/%s refused: not an Alertmanager v4 payload: %s", receiver, problems)
            return self._count(Outcome(400, "invalid")), []
        severity = payload.common_labels.get(SEVERITY)
        channels = self._cfg.channels_for(receiver, severity)
        if not channels:
            log.error("webhook /alertmanager/%s (severity %s): no route in notify.yaml matches; %d alerts not sent",
                      receiver, severity, len(payload.alerts))
            return self._count(Outcome(422, "unrouted")), []
        now = self._clock()
        key = dedup_key(receiver, payload)
        messages = [self._message(receiver, payload, key, name, now) for name in channels]
        rows = [OutboxMessage(channel=name, markdown=md, notification=n) for name, md, n in messages]
        result = self._outbox.enqueue(key, rows, now=now.timestamp())
        if result is Enqueued.FULL:
            log.error("outbox full (%d rows / %d bytes max): webhook refused with 503, Alertmanager will retry",
                      self._outbox.max_rows, self._outbox.max_bytes)
            return self._count(Outcome(503, result.value)), []
        if result is Enqueued.DUPLICATE:
            return self._count(Outcome(200, result.value)), []
        for name in channels:
            self._metrics.enqueued.labels(name).inc()
        log.info("webhook /alertmanager/%s: %s group of %d alerts -> %s", receiver, payload.status,
                 len(payload.alerts), ", ".join(channels))
        return self._count(Outcome(200, result.value)), channels

    def _message(self, receiver: str, payload: WebhookPayload, key: str, channel: str,
                 now: datetime) -> tuple[str, str, NotificationMessage]:
        cfg = self._cfg.channels[channel]
        rendered: Rendered = render(payload, language=cfg.language, tz=self._cfg.tz, now=now,
                                    max_alerts=cfg.max_alerts,
                                    max_bytes=MAX_MESSAGE_BYTES.get(cfg.type, DEFAULT_MAX_MESSAGE_BYTES))
        notification = NotificationMessage(
            id=f"{key[:24]}-{hashlib.sha256(channel.encode()).hexdigest()[:8]}", receiver=receiver,
            status=payload.status, severity=_severity(rendered.severity), language=cfg.language,
            title=rendered.title, text=rendered.text,
            group_key=payload.group_key, group_labels=payload.group_labels, alerts=payload.alerts)
        return channel, rendered.markdown, notification

    def _count(self, outcome: Outcome) -> Outcome:
        self._metrics.webhooks.labels(outcome.result).inc()
        return outcome


def _severity(value: str | None) -> Severity | None:
    try:
        return Severity(value) if value is not None else None
    except ValueError:  # another sender's severity word: the text still says it
        return None
