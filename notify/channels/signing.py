"""Request signatures, one function per scheme (pure: secret and time are arguments).

* DingTalk custom robot (加签): ``sign = base64(HmacSHA256(key=secret, msg=f"{timestamp}\\n{secret}"))``
  with ``timestamp`` in epoch milliseconds; both go in the query string (URL-encoded once).
* Feishu/Lark custom bot (签名校验): ``sign = base64(HmacSHA256(key=f"{timestamp}\\n{secret}", msg=b""))``
  with ``timestamp`` in epoch seconds; both go in the JSON body.
* seamline's generic webhook: ``X-Seamline-Signature: sha256=<hex HmacSHA256(key=secret,
  msg=f"{timestamp}.".encode() + body)>`` with ``X-Seamline-Timestamp: <epoch seconds>``; the
  receiver recomputes it over the raw body and refuses timestamps older than a few minutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

WEBHOOK_TIMESTAMP_HEADER = "X-Seamline-Timestamp"
WEBHOOK_SIGNATURE_HEADER = "X-Seamline-Signature"
WEBHOOK_ID_HEADER = "X-Seamline-Message-Id"


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_signature(secret: str, timestamp_s: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_s}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"
