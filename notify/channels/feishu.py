"""Feishu / Lark custom bot (飞书自定义机器人), 签名校验: an interactive card whose body is
Feishu markdown (lark_md), signed in the JSON body.

Request: ``POST {base_url}/open-apis/bot/v2/hook/<token>`` with ``{"timestamp": "<s>", "sign",
"msg_type": "interactive", "card": {...}}``. Feishu answers ``{"code": 0, ...}`` on success
(older answers carry ``StatusCode``); 19021 is a bad signature or a clock more than an hour off,
9499/11232 are rate limits.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from seamline.notify.channels.base import RetryableSendError
from seamline.notify.channels.json_post import JsonPoster
from seamline.notify.channels.signing import feishu_sign
from seamline.notify.config import FeishuChannel
from seamline.notify.message import OutboxMessage

RATE_LIMITED = frozenset({9499, 11232})
# Card header colours by status and severity (Feishu's template names).
COLOURS = {"critical": "red", "warning": "orange", "info": "blue"}


def card(message: OutboxMessage) -> dict[str, Any]:
    n = message.notification
    colour = "green" if n.status == "resolved" else COLOURS.get(n.severity or "", "blue")
    return {
        "config": {"wide_screen_mode": True},
        "header": {"title": {"tag": "plain_text", "content": message.title}, "template": colour},
        "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": message.markdown}}],
    }


class FeishuSender:
    kind = "feishu"

    def __init__(self, cfg: FeishuChannel, *, clock: Callable[[], float] = time.time) -> None:
        self._cfg = cfg
        self._clock = clock
        self._http = JsonPoster(vendor="feishu", timeout_s=cfg.timeout_s)

    def send(self, message: OutboxMessage) -> None:
        body: dict[str, Any] = {}
        if self._cfg.secret is not None:
            ts = int(self._clock())
            body |= {"timestamp": str(ts), "sign": feishu_sign(self._cfg.secret.get_secret_value(), ts)}
        body |= {"msg_type": "interactive", "card": card(message)}
        url = f"{self._cfg.base_url.rstrip('/')}/open-apis/bot/v2/hook/{self._cfg.token.get_secret_value()}"
        answer = self._http.answer(self._http.post(url, json.dumps(body, ensure_ascii=False).encode()))
        code = answer.get("code", answer.get("StatusCode"))
        if code == 0:
            return
        msg = str(answer.get("msg", answer.get("StatusMessage", "")))[:200]
        raise RetryableSendError(f"feishu: code {code} {msg}", retry_after_s=60.0 if code in RATE_LIMITED else None)

    def close(self) -> None:
        self._http.close()
