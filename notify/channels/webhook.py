"""A generic webhook: the :class:`~seamline.contracts.alerts.NotificationMessage` as JSON, signed
with HMAC-SHA256 (headers in :mod:`seamline.notify.channels.signing`). A 2xx is accepted; 4xx
other than auth/throttling means this message is refused for good; anything else is retried."""

from __future__ import annotations

import time
from collections.abc import Callable

from seamline.notify.channels.json_post import JsonPoster
from seamline.notify.channels.signing import (
    WEBHOOK_ID_HEADER,
    WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_TIMESTAMP_HEADER,
    webhook_signature,
)
from seamline.notify.config import WebhookChannel
from seamline.notify.message import OutboxMessage


class WebhookSender:
    kind = "webhook"

    def __init__(self, cfg: WebhookChannel, *, clock: Callable[[], float] = time.time) -> None:
        self._cfg = cfg
        self._clock = clock
        self._http = JsonPoster(vendor="webhook", timeout_s=cfg.timeout_s)

    def send(self, message: OutboxMessage) -> None:
        body = message.notification.model_dump_json(by_alias=True).encode()
        headers = {WEBHOOK_ID_HEADER: message.id}
        if self._cfg.secret is not None:
            ts = int(self._clock())
            headers[WEBHOOK_TIMESTAMP_HEADER] = str(ts)
            headers[WEBHOOK_SIGNATURE_HEADER] = webhook_signature(self._cfg.secret.get_secret_value(), ts, body)
        self._http.post(self._cfg.url.get_secret_value(), body, headers=headers)

    def close(self) -> None:
        self._http.close()
