"""The rules service configuration: one pydantic-settings tree, loaded once from YAML.

The ``influx:`` block is :class:`seamline.storage.config.InfluxConfig`, the same keys as ingest's.
Secrets may come from the environment instead of the file (``SEAMLINE_RULES_INFLUX__PASSWORD``,
``SEAMLINE_RULES_INFLUX__TOKEN``, ``SEAMLINE_RULES_MQTT__PASSWORD``, ``SEAMLINE_RULES_LEASE__DSN``) or,
for the PostgreSQL DSN, a file (``lease.dsn_file``); values in the file win.
Every error names the file, the dotted key and what was expected, as a :class:`ConfigError`
(``seamline.rules.errors``; an ``InputError``: exit code 2).
See ``rules/rules.sample.yaml``.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from seamline.configfile import (
    ConfigFileError,
    LoggingConfig,
    load_service_yaml,
    readable_file_problem,
    validation_problems,
)
from seamline.mqtt_identity import MqttIdentity
from seamline.rules.errors import ConfigError as ConfigError
from seamline.rules.lease import Shard
from seamline.secret_source import resolve_secret
from seamline.storage.config import InfluxConfig


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttConfig(MqttIdentity):
    """Broker address and this service's identity (TLS, client certificate or user name and
    password / password_file / password_env: :class:`seamline.mqtt_identity.MqttIdentity`)."""

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    client_id: str = Field(default_factory=lambda: f"seamline-rules-{socket.gethostname()}-{os.getpid()}")
    publish_timeout_s: float = Field(default=10.0, gt=0, le=300)


class CapacityConfig(_Section):
    enabled: bool = True
    http_url: str | None = Field(default=None, pattern=r"^https?://")
    # Bookings are the retained BookingsMessage of each line on the `mqtt` broker. MQTT has no
    # end-of-retained marker: the read ends once none arrived for `bookings_quiet_s` (they come in
    # one burst after SUBACK; 0.5 s of silence on a LAN means it is over), at most `bookings_timeout_s`.
    bookings_quiet_s: float = Field(default=0.5, gt=0, le=60)
    bookings_timeout_s: float = Field(default=10.0, gt=0, le=600)
    # One message per line: a cluster has thousands; more is a misrouted publisher, counted and ignored.
    bookings_max_messages: int = Field(default=100_000, ge=1, le=10_000_000)
    interval_min: int = Field(default=60, ge=1, le=1440, description="Publish every N minutes")
    # Bounded retry of the HTTP POST: 5 attempts at 1, 2, 4, 8 s (±jitter) ≈ 15 s worst case.
    http_attempts: int = Field(default=5, ge=1, le=20)
    http_backoff_s: float = Field(default=1.0, gt=0, le=60)
    http_max_backoff_s: float = Field(default=30.0, gt=0, le=600)
    http_timeout_s: float = Field(default=10.0, gt=0, le=120)
    # The capacity endpoint's bearer token (`seamline capacity-endpoint`): from http_token_file or
    # http_token_env (SEAMLINE_RULES_CAPACITY__HTTP_TOKEN also works); CA of an https endpoint.
    http_token: SecretStr | None = None
    http_token_file: Path | None = None
    http_token_env: str | None = None
    http_tls_ca: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_bookings_file(cls, data: Any) -> Any:
        if isinstance(data, dict) and "bookings_path" in data:
            raise ValueError("bookings_path was removed: the feed reads the bookings `seamline match --publish` "
                             "leaves retained on the mqtt broker (seamline/v1/+/+/+/_line/bookings)")
        if isinstance(data, dict) and any(data.get(k) is not None for k in ("http_token_file", "http_token_env")):
            data = {**data, "http_token": resolve_secret(value=data.get("http_token"), file=data.get("http_token_file"),
                                                         env=data.get("http_token_env"), what="capacity.http_token")}
        return data


class JobsConfig(_Section):
    # Run a few seconds after each boundary so edge aggregates of the closing minute have landed.
    delay_s: int = Field(default=30, ge=0, le=3599)
    shift_every_min: int = Field(default=15, ge=1, le=240)
    shift_lookback_days: int = Field(default=1, ge=0, le=31)
    misfire_grace_s: int = Field(default=300, ge=1, le=86400)


class LeaseConfig(_Section):
    kind: Literal["none", "file", "postgres"] = "none"
    path: Path | None = None  # kind file
    # kind postgres: a libpq URI or key=value string (a secret: SEAMLINE_RULES_LEASE__DSN or dsn_file)
    dsn: SecretStr | None = None
    dsn_file: Path | None = None
    name: str = Field(default="rules", pattern=r"^[A-Za-z0-9_.-]{1,64}$")  # lease group: replicas sharing work
    holder: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    ttl_s: float = Field(default=90.0, gt=0, le=3600)
    renew_s: float = Field(default=20.0, gt=0, le=1200)
    # A holder stops writing margin_s before its lease can expire in PostgreSQL: must cover one
    # InfluxDB write request in flight (influx.timeout_s, 10 s by default) plus scheduling jitter.
    margin_s: float = Field(default=15.0, ge=0, le=600)
    connect_timeout_s: float = Field(default=5.0, gt=0, le=60)  # libpq: whole seconds, at least 2
    timeout_s: float = Field(default=5.0, gt=0, le=60)  # statement_timeout and tcp_user_timeout

    @field_validator("path", "dsn_file")
    @classmethod
    def _abs(cls, v: Path | None) -> Path | None:
        return v.expanduser() if v is not None else None

    @model_validator(mode="after")
    def _timing(self) -> LeaseConfig:
        if self.kind == "postgres":
            slowest = max(self.timeout_s, max(2.0, self.connect_timeout_s))
            if not self.renew_s + self.margin_s + slowest < self.ttl_s:
                raise ValueError(f"need renew_s + margin_s + max(timeout_s, connect_timeout_s) < ttl_s, got "
                                 f"{self.renew_s:g} + {self.margin_s:g} + {slowest:g} >= {self.ttl_s:g}: a renewal "
                                 "delayed by one slow call would let the local deadline pass")
        return self


class LedgerConfig(_Section):
    """The window ledger (lease.kind postgres): gap detection and catch-up (see rules/catchup.py)."""

    every_s: float = Field(default=60.0, gt=0, le=3600)
    batch: int = Field(default=50, ge=1, le=10_000)  # windows per run: bounds one run's duration
    horizon_h: float = Field(default=24.0, gt=0, le=24 * 31)  # how far back missing windows are filled
    grace_s: float = Field(default=300.0, ge=0, le=86400)  # the ticks' own time to compute a closed window
    stale_s: float = Field(default=1800.0, gt=0, le=86400)  # a window "running" this long is taken over
    keep_days: float = Field(default=7.0, gt=0, le=366)  # ledger rows kept; must cover horizon_h


class EnergyConfig(_Section):
    max_hold_s: float = Field(default=120.0, gt=0, le=3600)
    max_gap_s: float = Field(default=600.0, gt=0, le=86400)


class RulesMetricsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    port: int = Field(default=0, ge=0, le=65535)  # Prometheus /metrics of `rules run`; 0: off
    bind: str = "127.0.0.1"


class RulesConfig(BaseSettings):
    model_config = SettingsConfigDict(extra="forbid", frozen=True, env_prefix="SEAMLINE_RULES_",
                                      env_nested_delimiter="__")

    master_data: Path
    logging: LoggingConfig = LoggingConfig()
    metrics: RulesMetricsConfig = Field(default_factory=lambda: RulesMetricsConfig())
    influx: InfluxConfig = InfluxConfig()
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    capacity: CapacityConfig = CapacityConfig()
    jobs: JobsConfig = JobsConfig()
    lease: LeaseConfig = Field(default_factory=LeaseConfig)
    ledger: LedgerConfig = LedgerConfig()
    energy: EnergyConfig = EnergyConfig()
    # alert rules, evaluation and Alertmanager peers (rules/alerts/alerts.sample.yaml); none: no alerts
    alerts: Path | None = None
    shard: str = Field(default="0/1", description="i/n: enterprises whose stable hash % n == i")
    # dynamic: enterprises hash into shard_count shards spread over the live replicas (lease.kind postgres)
    shards: Literal["static", "dynamic"] = "static"
    shard_count: int = Field(default=64, ge=1, le=4096)
    batch_machines: int = Field(default=150, ge=1, le=100_000)  # ~1.4 MB of rows per machine-day
    # Sewing KPIs from InfluxQL sums of the edge aggregates where they carry the events' split
    # (edge_agent/stop_split.py); every other machine from its state events, as before. Off: always
    # from the events (the reference path; same KPIs, ~5 ms per machine-hour).
    aggregate_path: bool = True

    @field_validator("shard")
    @classmethod
    def _shard(cls, v: str) -> str:
        Shard.parse(v)
        return v

    @property
    def shard_spec(self) -> Shard:
        return Shard.parse(self.shard)

    @model_validator(mode="after")
    def _coordination(self) -> RulesConfig:
        if self.shards == "dynamic" and self.lease.kind != "postgres":
            raise ValueError("shards: dynamic needs lease.kind: postgres (the live replicas meet there)")
        if self.shards == "dynamic" and self.shard != "0/1":
            raise ValueError("shard: i/n is for shards: static; dynamic shards spread over the live replicas")
        if self.ledger.keep_days * 24 < self.ledger.horizon_h:
            raise ValueError("ledger.keep_days must cover ledger.horizon_h")
        return self


def parse_config(raw: dict[str, Any], *, source: str, base_dir: Path | None = None) -> RulesConfig:
    """Validate a parsed YAML mapping; relative paths are taken relative to ``base_dir``."""
    try:
        cfg = RulesConfig(**raw)
    except ValidationError as exc:
        raise ConfigError("\n".join(f"{source}: {p}" for p in validation_problems(exc))) from None
    if base_dir is None:
        return cfg
    updates: dict[str, Any] = {"master_data": _resolve(cfg.master_data, base_dir)}
    if cfg.alerts is not None:
        updates["alerts"] = _resolve(cfg.alerts, base_dir)
    lease_paths = {k: _resolve(v, base_dir) for k in ("path", "dsn_file") if (v := getattr(cfg.lease, k)) is not None}
    if lease_paths:
        updates["lease"] = cfg.lease.model_copy(update=lease_paths)
    tls = {k: _resolve(v, base_dir) for k in ("tls_ca", "tls_cert", "tls_key") if (v := getattr(cfg.mqtt, k))}
    updates["mqtt"] = cfg.mqtt.model_copy(update=tls)
    if cfg.capacity.http_tls_ca is not None:
        updates["capacity"] = cfg.capacity.model_copy(
            update={"http_tls_ca": _resolve(cfg.capacity.http_tls_ca, base_dir)})
    if cfg.lease.kind == "file" and cfg.lease.path is None:
        raise ConfigError(f"{source}: lease.path: required when lease.kind is 'file'")
    if cfg.lease.kind == "postgres" and cfg.lease.dsn is None and cfg.lease.dsn_file is None:
        raise ConfigError(f"{source}: lease.dsn: required when lease.kind is 'postgres' (or lease.dsn_file, "
                          "or SEAMLINE_RULES_LEASE__DSN)")
    cfg = cfg.model_copy(update=updates)
    if problems := file_problems(cfg):
        raise ConfigError("\n".join(f"{source}: {p}" for p in problems))
    return cfg


def file_problems(cfg: RulesConfig) -> list[str]:
    """``key: path problem; expected ...`` per TLS file the service could not read (paths resolved).
    Checked whenever the config loads (``db init`` with the rules config too)."""
    wanted = [(f"mqtt.{k}", getattr(cfg.mqtt, k), what) for k, what in (
        ("tls_ca", "a PEM CA file"), ("tls_cert", "a PEM client certificate"), ("tls_key", "a PEM client key"))]
    wanted.append(("capacity.http_tls_ca", cfg.capacity.http_tls_ca, "a PEM CA file"))

    found = (readable_file_problem(key, path, what) for key, path, what in wanted if path is not None)
    return [p for p in found if p is not None]


def input_problems(cfg: RulesConfig) -> list[str]:
    """The master data and alert rules files ``rules run`` and ``check-config`` read (``db init`` and
    other users of the ``influx:`` block do not need them)."""
    wanted = [("master_data", cfg.master_data, "the master data YAML (rules/master_data.sample.yaml)"),
              ("alerts", cfg.alerts, "the alert rules YAML (rules/alerts/alerts.sample.yaml)")]
    found = (readable_file_problem(key, path, what) for key, path, what in wanted if path is not None)
    return [p for p in found if p is not None]


def lease_dsn(cfg: RulesConfig) -> SecretStr:
    """The PostgreSQL DSN: ``lease.dsn`` (file or environment), else the contents of ``lease.dsn_file``."""
    if cfg.lease.dsn is not None:
        return cfg.lease.dsn
    if cfg.lease.dsn_file is None:
        raise ConfigError("lease.dsn: not set")
    try:
        return SecretStr(cfg.lease.dsn_file.read_text(encoding="utf-8").strip())
    except OSError as exc:
        raise ConfigError(f"lease.dsn_file: {cfg.lease.dsn_file}: cannot read: {exc.strerror}") from None


def _resolve(path: Path, base: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else (base / path)


def load_config(path: Path) -> RulesConfig:
    try:
        raw = load_service_yaml(path, "rules", expected="a mapping with at least master_data",
                                legacy_prefix="SEAMLINE_RULES_")
    except ConfigFileError as exc:
        raise ConfigError(str(exc)) from None
    return parse_config(raw, source=str(path.resolve()), base_dir=path.resolve().parent)


def load_service_config(path: Path) -> RulesConfig:
    """:func:`load_config` plus the files the service itself reads (master data, alert rules)."""
    cfg = load_config(path)
    if problems := input_problems(cfg):
        raise ConfigError("\n".join(f"{path.resolve()}: {p}" for p in problems))
    return cfg
