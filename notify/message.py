"""A rendered notification for one channel: what the outbox stores and a sender sends."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from seamline.contracts.alerts import NotificationMessage


class OutboxMessage(BaseModel):
    """``notification`` carries the plain text and the alerts; ``markdown`` is the robots' body."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    channel: str = Field(max_length=64)
    markdown: str
    notification: NotificationMessage

    @property
    def id(self) -> str:
        return self.notification.id

    @property
    def title(self) -> str:
        return self.notification.title

    @property
    def text(self) -> str:
        return self.notification.text
