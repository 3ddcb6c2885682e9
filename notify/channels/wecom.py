"""WeCom group robot (企业微信群机器人): ``POST {base_url}/cgi-bin/webhook/send?key=K`` with
``{"msgtype": "markdown", "markdown": {"content"}}`` (content at most 4096 bytes, UTF-8).
WeCom answers HTTP 200 with ``errcode`` (0 = accepted; 45009 = over the 20-a-minute limit)."""

from __future__ import annotations

import json

from seamline.notify.channels.base import RetryableSendError
from seamline.notify.channels.json_post import JsonPoster
from seamline.notify.config import WeComChannel
from seamline.notify.message import OutboxMessage

MAX_CONTENT_BYTES = 4096
FREQ_LIMIT = 45009


def _fit(text: str, max_bytes: int) -> str:
    data = text.encode()
    return text if len(data) <= max_bytes else data[: max_bytes - 3].decode(errors="ignore") + "…"


class WeComSender:
    kind = "wecom"

    def __init__(self, cfg: WeComChannel) -> None:
        self._cfg = cfg
        self._http = JsonPoster(vendor="wecom", timeout_s=cfg.timeout_s)

    def send(self, message: OutboxMessage) -> None:
        content = _fit(f"**{message.title}**\n\n{message.markdown}", MAX_CONTENT_BYTES)
        body = json.dumps({"msgtype": "markdown", "markdown": {"content": content}}, ensure_ascii=False).encode()
        resp = self._http.post(f"{self._cfg.base_url.rstrip('/')}/cgi-bin/webhook/send", body,
                               params={"key": self._cfg.key.get_secret_value()})
        answer = self._http.answer(resp)
        code = answer.get("errcode")
        if code == 0:
            return
        raise RetryableSendError(f"wecom: errcode {code} {str(answer.get('errmsg', ''))[:200]}",
                                 retry_after_s=60.0 if code == FREQ_LIMIT else None)

    def close(self) -> None:
        self._http.close()
