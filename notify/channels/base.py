"""What every channel promises: ``send(message)`` returns when the vendor accepted it, or raises
:class:`RetryableSendError` (try again later: down, throttled, misconfigured until someone fixes
it) or :class:`PermanentSendError` (this message will never be taken). Error messages never
contain a token, a secret or a URL with a key in it."""

from __future__ import annotations

from typing import Protocol

from seamline.notify.message import OutboxMessage


class SendError(Exception):
    """A send failed; ``str()`` is safe to log."""


class RetryableSendError(SendError):
    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PermanentSendError(SendError):
    """The vendor refused this message for good (e.g. malformed); the next one may pass."""


class Sender(Protocol):
    kind: str  # dingtalk, wecom, ...; a metrics label

    def send(self, message: OutboxMessage) -> None: ...

    def close(self) -> None: ...
