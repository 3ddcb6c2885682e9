"""Build the sender for a configured channel."""

from __future__ import annotations

from seamline.notify.channels.base import Sender
from seamline.notify.config import (
    AppriseChannel,
    Channel,
    DingTalkChannel,
    EmailChannel,
    FeishuChannel,
    WebhookChannel,
    WeComChannel,
)


def make_sender(name: str, cfg: Channel) -> Sender:
    if isinstance(cfg, DingTalkChannel):
        from seamline.notify.channels.dingtalk import DingTalkSender
        return DingTalkSender(cfg)
    if isinstance(cfg, WeComChannel):
        from seamline.notify.channels.wecom import WeComSender
        return WeComSender(cfg)
    if isinstance(cfg, FeishuChannel):
        from seamline.notify.channels.feishu import FeishuSender
        return FeishuSender(cfg)
    if isinstance(cfg, EmailChannel):
        from seamline.notify.channels.email import EmailSender
        return EmailSender(cfg)
    if isinstance(cfg, WebhookChannel):
        from seamline.notify.channels.webhook import WebhookSender
        return WebhookSender(cfg)
    if isinstance(cfg, AppriseChannel):
        from seamline.notify.channels.apprise_sender import AppriseSender
        return AppriseSender(cfg, name=name)
    raise TypeError(f"unknown channel type {type(cfg).__name__}")
