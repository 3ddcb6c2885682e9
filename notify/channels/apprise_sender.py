"""Any service Apprise supports, by Apprise URL (Slack, Telegram, Teams, ntfy, ...).

Apprise reports a bool only, so every failure is retried (capped backoff, up to the outbox's
max age). The five vendors seamline is built for have their own senders: Apprise 2.3's DingTalk
plugin URL-encodes the signature twice (DingTalk then answers "sign not match") and, like its
WeCom plugin, takes DingTalk's HTTP 200 + ``errcode`` refusals (throttled, bad signature) for
success - a message lost; its Feishu plugin cannot sign. See notify/README.md.
"""

from __future__ import annotations

import logging

import apprise

from seamline.errors import UsageError
from seamline.notify.channels.base import RetryableSendError
from seamline.notify.config import AppriseChannel
from seamline.notify.message import OutboxMessage


class AppriseSender:
    kind = "apprise"

    def __init__(self, cfg: AppriseChannel, *, name: str) -> None:
        # Apprise logs request URLs (with tokens) at debug level.
        logging.getLogger("apprise").setLevel(max(logging.INFO, logging.getLogger("apprise").level))
        self._apprise = apprise.Apprise()
        if not self._apprise.add(cfg.url.get_secret_value()):
            raise UsageError(f"channels.{name}.url: Apprise does not understand this URL (value not shown)")

    def send(self, message: OutboxMessage) -> None:
        ok = self._apprise.notify(body=message.markdown, title=message.title,
                                  body_format=apprise.NotifyFormat.MARKDOWN)
        if not ok:
            raise RetryableSendError("apprise: the service did not take the message")

    def close(self) -> None:
        pass
