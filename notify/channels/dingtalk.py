"""DingTalk custom robot (钉钉自定义机器人), 加签 security: a markdown message, signed in the URL.

Request: ``POST {base_url}/robot/send?access_token=T&timestamp=MS&sign=S`` with
``{"msgtype": "markdown", "markdown": {"title", "text"}}``. DingTalk answers HTTP 200 even when
it refuses; the verdict is ``errcode`` (0 = accepted). 130101 is "send too fast" (over 20 a
minute): the robot is muted for a while, so wait a minute before the retry.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from seamline.notify.channels.base import RetryableSendError
from seamline.notify.channels.json_post import JsonPoster
from seamline.notify.channels.signing import dingtalk_sign
from seamline.notify.config import DingTalkChannel
from seamline.notify.message import OutboxMessage

TOO_FAST = 130101
TOO_FAST_WAIT_S = 60.0


class DingTalkSender:
    kind = "dingtalk"

    def __init__(self, cfg: DingTalkChannel, *, clock: Callable[[], float] = time.time) -> None:
        self._cfg = cfg
        self._clock = clock
        self._http = JsonPoster(vendor="dingtalk", timeout_s=cfg.timeout_s)

    def send(self, message: OutboxMessage) -> None:
        body = json.dumps({
            "msgtype": "markdown",
            "markdown": {"title": message.title, "text": f"### {message.title}\n\n{message.markdown}"},
        }, ensure_ascii=False).encode()
        params = {"access_token": self._cfg.token.get_secret_value()}
        if self._cfg.secret is not None:
            ts = int(self._clock() * 1000)
            params |= {"timestamp": str(ts), "sign": dingtalk_sign(self._cfg.secret.get_secret_value(), ts)}
        answer = self._http.answer(self._http.post(f"{self._cfg.base_url.rstrip('/')}/robot/send", body,
                                                   params=params))
        code = answer.get("errcode")
        if code == 0:
            return
        errmsg = str(answer.get("errmsg", ""))[:200]
        raise RetryableSendError(f"dingtalk: errcode {code} {errmsg}",
                                 retry_after_s=TOO_FAST_WAIT_S if code == TOO_FAST else None)

    def close(self) -> None:
        self._http.close()
