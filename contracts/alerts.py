"""Alerts on the wire: what seamline posts to Alertmanager, what Alertmanager posts back to
``seamline notify`` (its webhook, version 4), and what ``seamline notify`` posts to a generic
webhook channel. Schema version 1.

Label values that come from topics (enterprise, site, area, asset, gateway) obey the topic
grammar (:func:`seamline.contracts.topic.validate_level`), so a silence or an inhibit rule written
with a topic's names matches the alert. Annotations are strings on the wire (Alertmanager's
type); figures are formatted with :func:`format_figure` so every sender writes them alike.

Times are timezone-aware; Alertmanager answers in UTC with nanoseconds, which are truncated to
microseconds. Alertmanager's "zero" time (``0001-01-01T00:00:00Z``) means "not set".
"""

from __future__ import annotations

import enum
import math
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from seamline.contracts.topic import validate_level

ALERTS_SCHEMA_VERSION = 1
# The alert a gateway's Last Will raises. A firing one inhibits every other alert of its site
# (and gateway): while the gateway is down, its assets' silence is the gateway's fault.
GATEWAY_OFFLINE = "gateway_offline"
# Label names, written once.
ALERTNAME, SEVERITY, ENTERPRISE, SITE, AREA, ASSET, GATEWAY, RULE = (
    "alertname", "severity", "enterprise", "site", "area", "asset", "gateway", "rule",
)
# Alertmanager's "not set" time in webhook payloads.
ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)
# Bounds: an annotation is read by a person on a phone; a group of 10 000 alerts is a bug upstream.
MAX_ANNOTATION_CHARS = 2000
MAX_ALERTS_PER_POST = 10_000

AlertName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
RuleId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
Text = Annotated[str, Field(min_length=1, max_length=MAX_ANNOTATION_CHARS)]
# A decimal number as text: "42", "-0.5", "1.25e+03".
Figure = Annotated[str, Field(max_length=32, pattern=r"^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$")]
Url = Annotated[str, Field(max_length=1000, pattern=r"^https?://")]
Status = Literal["firing", "resolved"]


class Severity(enum.StrEnum):
    CRITICAL = "critical"  # someone must act now (a line stopped, a gateway offline)
    WARNING = "warning"  # act today (efficiency far below plan, coverage low)
    INFO = "info"  # for the record


def format_figure(value: float) -> str:
    """A figure as annotation text: 4 significant digits, no exponent for everyday magnitudes."""
    if not math.isfinite(value):
        raise ValueError(f"figure must be finite, got {value}")
    text = f"{value:.4g}"
    return "0" if text == "-0" else text


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True)


class AlertLabels(_Model):
    """Identity of an alert: Alertmanager groups, silences and inhibits on these."""

    alertname: AlertName
    severity: Severity
    enterprise: str = Field(max_length=64)
    site: str = Field(max_length=64)
    area: str | None = Field(default=None, max_length=64)
    asset: str | None = Field(default=None, max_length=64)
    gateway: str | None = Field(default=None, max_length=64, description="The gateway the data comes through")
    rule: RuleId | None = Field(default=None, description="Id of the rule that raised the alert")

    @field_validator("enterprise", "site", "gateway")
    @classmethod
    def _level(cls, value: str | None) -> str | None:
        return None if value is None else validate_level(value)

    @field_validator("area", "asset")
    @classmethod
    def _reserved_level(cls, value: str | None) -> str | None:
        # Reserved topic names (``_gateway``, ``_line``) are legitimate here: they are what the topic says.
        return None if value is None else validate_level(value, allow_reserved=True)

    def as_dict(self) -> dict[str, str]:
        """The labels as Alertmanager takes them (unset ones left out)."""
        return {k: str(v) for k, v in self.model_dump(mode="json").items() if v is not None}


class AlertAnnotations(_Model):
    """What a person reads: Chinese first (``summary``), English beside it (``*_en``)."""

    summary: Text = Field(description="One line, Chinese: what is wrong")
    summary_en: Text | None = None
    description: Text | None = Field(default=None, description="Chinese: why it matters, what to check")
    description_en: Text | None = None
    value: Figure | None = Field(default=None, description="The observed figure, in `unit`")
    threshold: Figure | None = Field(default=None, description="The threshold it crossed, in `unit`")
    unit: str | None = Field(default=None, max_length=16, description="Unit of value and threshold, e.g. %, kW, min")
    coverage: Figure | None = Field(default=None, description="Data coverage of the figure, fraction 0..1")
    since: AwareDatetime | None = Field(default=None, description="When the condition began (may precede startsAt)")
    runbook_url: Url | None = None

    @field_validator("coverage")
    @classmethod
    def _fraction(cls, value: str | None) -> str | None:
        if value is not None and not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"coverage is a fraction in [0, 1], got {value}")
        return value

    def as_dict(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in self.model_dump(mode="json").items():
            if value is not None:
                out[key] = value
        return out


class PostableAlert(_Model):
    """One alert as posted to Alertmanager's ``POST /api/v2/alerts``.

    Firing: ``ends_at`` a few re-send intervals ahead (Alertmanager resolves it by itself if the
    sender dies). Resolved: ``ends_at`` = the resolve time.
    """

    labels: AlertLabels
    annotations: AlertAnnotations
    starts_at: AwareDatetime = Field(alias="startsAt")
    ends_at: AwareDatetime | None = Field(default=None, alias="endsAt")
    generator_url: Url | None = Field(default=None, alias="generatorURL")

    def to_wire(self) -> dict[str, Any]:
        """The JSON object Alertmanager's API expects (UTC times, unset fields left out)."""
        out: dict[str, Any] = {
            "labels": self.labels.as_dict(),
            "annotations": self.annotations.as_dict(),
            "startsAt": _utc(self.starts_at),
        }
        if self.ends_at is not None:
            out["endsAt"] = _utc(self.ends_at)
        if self.generator_url is not None:
            out["generatorURL"] = self.generator_url
        return out


def _utc(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Received(BaseModel):
    # Alertmanager may add fields in a later version; accept and ignore them.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class WebhookAlert(_Received):
    """One alert inside Alertmanager's webhook payload. Labels are free-form here: Alertmanager
    may carry alerts from other senders; :meth:`seamline_labels` reads ours."""

    status: Status
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: AwareDatetime = Field(alias="startsAt")
    ends_at: AwareDatetime = Field(default=ZERO_TIME, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = Field(default="", max_length=64)

    @property
    def ends(self) -> datetime | None:
        """``ends_at`` unless it is Alertmanager's zero time."""
        return None if self.ends_at <= ZERO_TIME else self.ends_at

    def label(self, name: str) -> str | None:
        return self.labels.get(name) or None

    def annotation(self, name: str) -> str | None:
        return self.annotations.get(name) or None


class WebhookPayload(_Received):
    """Alertmanager's webhook body (``version: "4"``): one notification for one alert group."""

    version: Literal["4"]
    group_key: str = Field(alias="groupKey", max_length=10_000)
    truncated_alerts: int = Field(default=0, ge=0, alias="truncatedAlerts")
    status: Status
    receiver: str = Field(max_length=200)
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL", max_length=1000)
    alerts: list[WebhookAlert] = Field(min_length=1, max_length=MAX_ALERTS_PER_POST)

    @property
    def firing(self) -> list[WebhookAlert]:
        return [a for a in self.alerts if a.status == "firing"]

    @property
    def resolved(self) -> list[WebhookAlert]:
        return [a for a in self.alerts if a.status == "resolved"]


class NotificationMessage(BaseModel):
    """What ``seamline notify`` posts to a generic webhook channel, signed (see notify/README.md):
    the rendered text for people and the alerts for machines."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: Literal[1] = 1
    id: str = Field(max_length=64, description="Stable per notification and channel: dedupe on it")
    receiver: str = Field(max_length=200, description="The routing key Alertmanager called us with")
    status: Status
    severity: Severity | None = None
    language: Literal["zh", "en"]
    title: str = Field(max_length=500)
    text: str = Field(description="Plain text, as a person reads it")
    group_key: str = Field(max_length=10_000)
    group_labels: dict[str, str] = Field(default_factory=dict)
    alerts: list[WebhookAlert] = Field(max_length=MAX_ALERTS_PER_POST)
