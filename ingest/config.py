"""The ingest service's configuration tree (one YAML file, validated once at start-up). The
``influx:`` block is :class:`seamline.storage.config.InfluxConfig`, shared with the rules service.

Errors name the file, the key and what was expected (raised as :class:`seamline.errors.UsageError`).
Secrets are :class:`pydantic.SecretStr` so they never show up in logs or reprs.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from seamline.configfile import (
    ConfigFileError,
    LoggingConfig,
    load_service_yaml,
    readable_file_problem,
    relative_to,
    validation_problems,
    writable_folder_problem,
)
from seamline.contracts.topic import validate_level
from seamline.errors import UsageError
from seamline.mqtt_identity import MqttIdentity
from seamline.storage.config import InfluxConfig


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttConfig(MqttIdentity):
    """Broker address and this worker's identity (TLS, client certificate or user name and
    password / password_file / password_env: :class:`seamline.mqtt_identity.MqttIdentity`)."""

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    # Fixed per worker so the broker keeps this worker's persistent session across restarts.
    client_id: str = Field(default_factory=lambda: f"seamline-ingest-{socket.gethostname()}", min_length=1)
    # Shared subscription ($share/<group>/...) so several workers split the load. Mosquitto 2.0.11
    # does not restore $share subscriptions from its persistence file: after a broker restart,
    # messages published before this worker re-subscribes are dropped by the broker. With a
    # single worker, shared: false (a plain persistent subscription) is lossless across restarts.
    shared: bool = True
    share_group: str = "ingest"
    # Shared only: on a graceful stop (SIGTERM) leave the share group first, so the broker sends new
    # messages to the other workers instead of queueing this worker's share for its offline session
    # (Mosquitto 2.0.11 does, until the worker returns). With a single worker what is published
    # while it is away then reaches nobody (the confirmer gets it back from the gateways); a single
    # worker is better off with shared: false.
    leave_share_on_stop: bool = True
    # 3.1.1 measured ~2x cheaper per message in paho than 5 (see README); both do $share on Mosquitto 2.
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    # MQTT 5 only: how long the broker keeps the session (and queues for it) while we are away.
    session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0)
    # MQTT 5 Receive Maximum (un-acked messages the broker may send us). With 3.1.1 the broker's
    # max_inflight_messages applies instead (1000 in our localstack and recommended config).
    receive_maximum: int = Field(default=1000, ge=1, le=65535)
    kinds: tuple[Literal["data", "state", "birth", "status"], ...] = ("data", "state", "birth", "status")
    # Back within a few seconds of the broker: while ingest is away the broker queues (or, for
    # $share on Mosquitto 2.0.11, drops) what gateways publish. Jittered per disconnect.
    reconnect_min_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=4.0, gt=0)

    @model_validator(mode="after")
    def _check(self) -> MqttConfig:
        validate_level(self.share_group, what="share_group")
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be >= reconnect_min_s")
        return self


class JetStreamConfig(MqttIdentity):
    """The clustered-broker source (NATS JetStream): gateways publish MQTT 3.1.1 to any node, a
    replicated stream captures ``seamline.v1.>``, workers fetch from one durable pull consumer
    (they compete for messages) and ack each message only after its points are durably written."""

    # Every node of the cluster: the client fails over between them.
    servers: tuple[str, ...] = Field(default=("nats://127.0.0.1:4222",), min_length=1)
    stream: str = Field(default="SEAMLINE", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    subject: str = Field(default="seamline.v1.>", min_length=1, description="what the stream captures")
    # Created at start-up if missing (file storage, this many replicas); create it before the
    # gateways publish, or what they send before is not captured.
    create_stream: bool = True
    replicas: int = Field(default=3, ge=1, le=5)
    max_age_s: float = Field(default=7 * 86400.0, gt=0, description="stream retention (s)")
    durable: str = Field(default="ingest", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    # Un-acked messages the consumer hands out (to all workers together), like receive_maximum.
    max_ack_pending: int = Field(default=2000, ge=1)
    # Un-acked for this long: redelivered (to any worker). Longer than a slow durable write.
    ack_wait_s: float = Field(default=60.0, gt=0)
    fetch_batch: int = Field(default=250, ge=1, le=10_000)
    reconnect_wait_s: float = Field(default=0.5, gt=0, le=60)
    # Who this worker is to a secured cluster (the MqttIdentity keys): TLS with tls_ca (tls_cert and
    # tls_key when the servers verify clients), username with password_file / password_env, or a
    # NATS credentials file (user JWT + NKey seed, decentralised auth). Secrets are never logged.
    creds_file: Path | None = None

    @model_validator(mode="after")
    def _one_login(self) -> JetStreamConfig:
        if self.creds_file is not None and self.username is not None:
            raise ValueError("creds_file and username are two ways to log in: give one")
        return self

    def connect_options(self) -> dict[str, object]:
        """nats-py's ``connect`` keywords for this identity (TLS context, user and password, credentials
        file); ValueError names a TLS file that is missing or unusable, never its content."""
        from seamline.mqtt_identity import ssl_context

        opts: dict[str, object] = {}
        if (ctx := ssl_context(self)) is not None:
            opts["tls"] = ctx
        if self.username is not None:
            opts["user"] = self.username
            opts["password"] = self.password.get_secret_value() if self.password else ""
        if self.creds_file is not None:
            if not self.creds_file.is_file():
                raise ValueError(f"NATS credentials file {self.creds_file} does not exist or is not a file")
            opts["user_credentials"] = str(self.creds_file)
        return opts


class BatchConfig(_Section):
    # InfluxDB's documented sweet spot is 5 000-10 000 lines per request.
    max_lines: int = Field(default=5000, ge=1, le=100_000)
    max_delay_s: float = Field(default=1.0, gt=0, le=60)
    # Flush early once this many MQTT messages wait: un-acked messages are capped by the broker
    # (receive maximum / max_inflight_messages), so waiting for more than about half of that cap
    # would stall the pipe until max_delay_s. None = receive_maximum // 2.
    max_messages: int | None = Field(default=None, ge=1)
    # Bound of the queue between the MQTT thread and the writer thread, in messages.
    queue_max_messages: int = Field(default=4000, ge=1)


class ValidationConfig(_Section):
    max_payload_bytes: int = Field(default=256 * 1024, ge=64)
    max_past_s: float = Field(default=30 * 86400.0, gt=0, description="oldest accepted sample, s before now")
    max_future_s: float = Field(default=600.0, ge=0, description="newest accepted sample, s after now")


class QuarantineConfig(_Section):
    path: Path = Path("ingest-quarantine.sqlite")
    max_rows: int = Field(default=1_000_000, ge=1)
    max_bytes: int = Field(default=512 * 1024 * 1024, ge=1024, description="payload + detail bytes kept, at most")
    # Lines InfluxDB refused (db_rejected) are retried automatically before they need a person.
    retry_rejected: bool = True
    retry_initial_s: float = Field(default=60.0, gt=0, description="first automatic retry after a refusal, s")
    retry_max_s: float = Field(default=3600.0, gt=0, description="longest wait between automatic retries, s")
    retry_max_attempts: int = Field(default=10, ge=1, description="automatic retries before a person must replay")


class GapsConfig(_Section):
    # Off by default when several workers share a subscription (false gaps, see README).
    enabled: bool = True
    max_assets: int = Field(default=200_000, ge=1)


class MetricsConfig(_Section):
    port: int = Field(default=0, ge=0, le=65535, description="Prometheus /metrics port, 0 = off")
    bind: str = "127.0.0.1"
    interval_s: float = Field(default=10.0, gt=0, description="seamline_ingest points every interval_s")
    worker: str | None = Field(default=None, description="worker tag; default mqtt.client_id")


class IngestConfig(_Section):
    # Where messages come from: the MQTT broker (a shared persistent subscription) or a NATS
    # JetStream stream (a durable pull consumer; see README "A clustered broker").
    source: Literal["mqtt", "jetstream"] = "mqtt"
    mqtt: MqttConfig = MqttConfig()
    jetstream: JetStreamConfig = JetStreamConfig()
    influx: InfluxConfig = InfluxConfig()
    batch: BatchConfig = BatchConfig()
    validation: ValidationConfig = ValidationConfig()
    quarantine: QuarantineConfig = QuarantineConfig()
    gaps: GapsConfig = GapsConfig()
    metrics: MetricsConfig = MetricsConfig()
    logging: LoggingConfig = LoggingConfig()
    shutdown_grace_s: float = Field(default=15.0, gt=0, description="SIGTERM: time to flush before giving up")

    @property
    def worker(self) -> str:
        return self.metrics.worker or self.mqtt.client_id

    @property
    def batch_max_messages(self) -> int:
        window = self.jetstream.max_ack_pending if self.source == "jetstream" else self.mqtt.receive_maximum
        return self.batch.max_messages or max(1, window // 2)


def load_config(path: Path) -> IngestConfig:
    """Read and validate ``path``; raise :class:`UsageError` naming file, key and expectation."""
    try:
        raw = load_service_yaml(Path(path), "ingest", empty_ok=True)
    except ConfigFileError as exc:
        raise UsageError(str(exc)) from None
    try:
        config = IngestConfig.model_validate(raw)
    except ValidationError as exc:
        raise UsageError("\n".join(f"{Path(path).resolve()}: {p}" for p in validation_problems(exc))) from None
    config = _resolve_paths(config, Path(path))
    if problems := file_problems(config):
        raise UsageError("\n".join(f"{Path(path).resolve()}: {p}" for p in problems))
    return config


def _resolve_paths(config: IngestConfig, path: Path) -> IngestConfig:
    """Relative file paths (quarantine, TLS material) are relative to the config file, not to the
    working directory."""
    base = path.resolve().parent
    quarantine = config.quarantine.model_copy(update={"path": relative_to(config.quarantine.path, base)})
    tls = {k: relative_to(v, base) for k in ("tls_ca", "tls_cert", "tls_key") if (v := getattr(config.mqtt, k))}
    return config.model_copy(update={"quarantine": quarantine, "mqtt": config.mqtt.model_copy(update=tls)})


def file_problems(config: IngestConfig) -> list[str]:
    """One ``key: path: problem; expected ...`` per referenced file the service cannot use."""
    problems = [writable_folder_problem("quarantine.path", config.quarantine.path, creates_folder=True)]
    for key, expected in (("tls_ca", "a PEM CA file"), ("tls_cert", "a PEM client certificate"),
                          ("tls_key", "a PEM client key")):
        value: Path | None = getattr(config.mqtt, key)
        if value is not None:
            problems.append(readable_file_problem(f"mqtt.{key}", value, expected))
    return [p for p in problems if p is not None]
