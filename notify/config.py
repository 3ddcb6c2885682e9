"""``notify.yaml``: the configuration of ``seamline notify``, validated once at start-up.

Secrets (robot tokens, signing secrets, SMTP passwords, the bearer token) are written as
``{env: NAME}``, ``{file: PATH}`` or ``{value: TEXT}`` (a bare string is a value) and resolved
at load time into ``SecretStr``: never printed, never logged. A missing variable or unreadable
file is an error naming the key and the variable or file, never the value. Every error names
the file and the dotted key; :class:`ConfigError` is a ``UsageError`` (exit code 2).
See ``notify/notify.sample.yaml``.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from seamline.configfile import ConfigFileError, read_yaml_mapping, validation_problems
from seamline.contracts.alerts import Severity
from seamline.errors import UsageError

Language = Literal["zh", "en"]
ChannelName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
# A secret file is a token or a key, not a document.
MAX_SECRET_FILE_BYTES = 16 * 1024


class ConfigError(UsageError):
    """Invalid notify configuration; the message names file, key and expectation."""


def _resolve_secret(raw: Any, info: ValidationInfo) -> Any:
    """``{env: X}`` / ``{file: P}`` / ``{value: V}`` / ``V`` -> the secret's text."""
    if not isinstance(raw, dict):
        return raw
    if len(raw) != 1 or next(iter(raw)) not in ("env", "file", "value"):
        raise ValueError("expected one of {env: NAME}, {file: PATH}, {value: TEXT}")
    (kind, ref), = raw.items()
    if kind == "value":
        return ref
    ctx = info.context or {}
    if kind == "env":
        env: Mapping[str, str] = ctx.get("env", {})
        if str(ref) not in env:
            raise ValueError(f"environment variable {ref} is not set")
        return env[str(ref)]
    path = Path(str(ref)).expanduser()
    if not path.is_absolute() and ctx.get("base_dir") is not None:
        path = Path(ctx["base_dir"]) / path
    try:
        data = path.read_bytes()[: MAX_SECRET_FILE_BYTES + 1]
    except OSError as exc:
        raise ValueError(f"cannot read secret file {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_SECRET_FILE_BYTES:
        raise ValueError(f"secret file {path} is larger than {MAX_SECRET_FILE_BYTES} bytes")
    return data.decode("utf-8", errors="strict").strip()


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Secrets(_Section):
    """Base of sections with secrets: resolves references before type validation."""

    @model_validator(mode="before")
    @classmethod
    def _secrets(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for name, spec in cls.model_fields.items():
            if name in out and "SecretStr" in str(spec.annotation):
                out[name] = _resolve_secret(out[name], info)
        return out


class RateLimit(_Section):
    """At most ``messages`` sends in any ``per_s`` seconds (a sliding window)."""

    messages: int = Field(default=20, ge=1, le=100_000)
    per_s: float = Field(default=60.0, gt=0, le=86_400)


class _Channel(_Secrets):
    language: Language = "zh"
    rate_limit: RateLimit = RateLimit()
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    max_alerts: int = Field(default=10, ge=1, le=1000, description="Alerts listed per message; the rest counted")


class DingTalkChannel(_Channel):
    """A DingTalk custom robot (自定义机器人) with the 加签 (signature) security setting."""

    type: Literal["dingtalk"]
    token: SecretStr = Field(description="access_token from the robot's webhook URL")
    secret: SecretStr | None = Field(default=None, description="SEC... from 加签; None if the robot has none")
    base_url: str = Field(default="https://oapi.dingtalk.com", pattern=r"^https?://")
    # DingTalk: 20 messages a minute per robot, and 10 minutes of silence for the robot beyond that.
    rate_limit: RateLimit = RateLimit(messages=20, per_s=60)


class WeComChannel(_Channel):
    """A WeCom (企业微信) group robot (群机器人)."""

    type: Literal["wecom"]
    key: SecretStr = Field(description="key= from the robot's webhook URL")
    base_url: str = Field(default="https://qyapi.weixin.qq.com", pattern=r"^https?://")
    rate_limit: RateLimit = RateLimit(messages=20, per_s=60)  # WeCom: 20 a minute per robot


class FeishuChannel(_Channel):
    """A Feishu (飞书) or Lark custom bot (自定义机器人) with 签名校验."""

    type: Literal["feishu"]
    token: SecretStr = Field(description="the last part of .../open-apis/bot/v2/hook/<token>")
    secret: SecretStr | None = None
    # Lark (international): https://open.larksuite.com
    base_url: str = Field(default="https://open.feishu.cn", pattern=r"^https?://")
    rate_limit: RateLimit = RateLimit(messages=100, per_s=60)  # Feishu: 100 a minute, 5 a second


class EmailChannel(_Channel):
    type: Literal["email"]
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(alias="from", min_length=3, max_length=320)
    to: list[Annotated[str, Field(min_length=3, max_length=320)]] = Field(min_length=1, max_length=100)
    rate_limit: RateLimit = RateLimit(messages=60, per_s=60)
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class WebhookChannel(_Channel):
    """Any HTTP endpoint; the body is signed with HMAC-SHA256 (see notify/README.md)."""

    type: Literal["webhook"]
    url: SecretStr = Field(description="may hold a token, so it is a secret")
    secret: SecretStr | None = None
    rate_limit: RateLimit = RateLimit(messages=600, per_s=60)


class AppriseChannel(_Channel):
    """Any service Apprise knows (Slack, Telegram, Teams, ...): an Apprise URL."""

    type: Literal["apprise"]
    url: SecretStr
    rate_limit: RateLimit = RateLimit(messages=30, per_s=60)


Channel = Annotated[
    DingTalkChannel | WeComChannel | FeishuChannel | EmailChannel | WebhookChannel | AppriseChannel,
    Field(discriminator="type"),
]


class Route(_Section):
    """Alerts Alertmanager sends to ``/alertmanager/<key>`` with a matching key (shell pattern,
    ``*`` for all) and severity go to ``channels``. Every matching route applies."""

    receiver: str = Field(min_length=1, max_length=200)
    severities: list[Severity] = Field(default_factory=lambda: list(Severity), min_length=1)
    channels: list[ChannelName] = Field(min_length=1)

    def matches(self, key: str, severity: str | None) -> bool:
        sev_ok = severity is None or severity in {s.value for s in self.severities}
        return sev_ok and fnmatch.fnmatchcase(key, self.receiver)


class Listen(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=9095, ge=0, le=65535)
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)


class Auth(_Secrets):
    bearer_token: SecretStr | None = Field(default=None, description="Alertmanager must send it (http_config)")


class Outbox(_Section):
    path: Path = Path("notify-outbox.sqlite")
    max_rows: int = Field(default=10_000, ge=1, le=10_000_000)
    max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024, le=64 * 1024**3)
    # A notification a channel could not take for a day is news no more; dropped, counted, logged.
    max_age_s: float = Field(default=86_400.0, gt=0, le=30 * 86_400)
    # Alertmanager retries a webhook it got no 200 for, and two HA peers may both send: the same
    # notification within this window is taken once. Keep it below the shortest repeat interval.
    dedup_window_s: float = Field(default=600.0, ge=0, le=86_400)


class Retry(_Section):
    backoff_initial_s: float = Field(default=2.0, gt=0, le=3600)
    backoff_max_s: float = Field(default=300.0, gt=0, le=86_400)


class NotifyConfig(_Section):
    listen: Listen = Listen()
    auth: Auth = Auth()
    timezone: str = "Asia/Shanghai"
    outbox: Outbox = Outbox()
    retry: Retry = Retry()
    channels: dict[ChannelName, Channel] = Field(min_length=1)
    routes: list[Route] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _known_channels(self) -> NotifyConfig:
        for i, route in enumerate(self.routes):
            unknown = sorted(set(route.channels) - set(self.channels))
            if unknown:
                raise ValueError(f"routes[{i}].channels: unknown channels {unknown}, defined: {sorted(self.channels)}")
        if self.retry.backoff_max_s < self.retry.backoff_initial_s:
            raise ValueError("retry.backoff_max_s must be >= retry.backoff_initial_s")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def channels_for(self, key: str, severity: str | None) -> list[str]:
        """Channels of every route matching ``key`` and ``severity``, each once, in route order."""
        out: list[str] = []
        for route in self.routes:
            if route.matches(key, severity):
                out += [c for c in route.channels if c not in out]
        return out


def parse_config(raw: dict[str, Any], *, source: str, env: Mapping[str, str],
                 base_dir: Path | None = None) -> NotifyConfig:
    """Validate a parsed mapping; secrets come from ``env`` and files; relative paths from ``base_dir``."""
    try:
        cfg = NotifyConfig.model_validate(raw, context={"env": env, "base_dir": base_dir})
    except ValidationError as exc:
        lines = [f"{source}: {p}" for p in validation_problems(exc)]
        raise ConfigError("invalid notify config:\n  " + "\n  ".join(lines)) from None
    path = cfg.outbox.path.expanduser()
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    return cfg.model_copy(update={"outbox": cfg.outbox.model_copy(update={"path": path})})


def load_config(path: Path, *, env: Mapping[str, str] | None = None) -> NotifyConfig:
    try:
        raw = read_yaml_mapping(path, expected="a mapping with channels and routes")
    except ConfigFileError as exc:
        raise ConfigError(str(exc)) from None
    return parse_config(raw, source=str(path.resolve()), env=os.environ if env is None else env, base_dir=path.parent)
