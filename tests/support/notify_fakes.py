"""In-memory stand-ins for the notify unit tests: a sender that keeps what it was given and fails
on command the way a real channel does, and builders of outbox messages."""

from __future__ import annotations

from seamline.contracts.alerts import NotificationMessage
from seamline.notify.channels.base import PermanentSendError, RetryableSendError
from seamline.notify.message import OutboxMessage


class FakeSender:
    kind = "fake"

    def __init__(self) -> None:
        self.sent: list[str] = []  # message ids, in order
        self.fail_next: list[Exception] = []  # raised one per send, first first

    def send(self, message: OutboxMessage) -> None:
        if self.fail_next:
            raise self.fail_next.pop(0)
        self.sent.append(message.id)

    def close(self) -> None:
        pass


def retryable(after_s: float | None = None) -> RetryableSendError:
    return RetryableSendError("fake: down", retry_after_s=after_s)


def permanent() -> PermanentSendError:
    return PermanentSendError("fake: refused")


def message(ident: str, channel: str = "c1", text: str = "hello") -> OutboxMessage:
    return OutboxMessage(channel=channel, markdown=text, notification=NotificationMessage(
        id=ident, receiver="f001", status="firing", language="zh", title=f"title {ident}", text=text,
        group_key="g", alerts=[]))
