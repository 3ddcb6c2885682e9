"""The edge agent's one config tree: a YAML file validated by pydantic, loaded once at start-up.

Errors name the file, the key path and what was expected, e.g.
``edge.yaml: uplink.port: expected an integer 1..65535, got 'abc'``. Secrets (the uplink password)
are ``SecretStr`` and may come from the environment instead of the file:
``SEAMLINE_EDGE_UPLINK_PASSWORD`` overrides ``uplink.password``. Every key may be set from the
environment as ``SEAMLINE_EDGE__SECTION__KEY`` (``SEAMLINE_EDGE__UPLINK__PORT=8883``), over the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from seamline.configfile import ConfigFileError, LoggingConfig, load_service_yaml
from seamline.contracts.topic import TopicError, validate_level
from seamline.edge_agent import settings as rt
from seamline.edge_agent.state import Thresholds

PASSWORD_ENV = "SEAMLINE_EDGE_UPLINK_PASSWORD"


class ConfigError(ValueError):
    """The config file is missing or invalid; ``str()`` lists every problem, one per line."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{path.resolve()}: {p}" for p in problems))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _level(value: str, what: str) -> str:
    try:
        return validate_level(value, what=what)
    except TopicError as exc:
        raise ValueError(str(exc)) from exc



class GatewaySettings(_Section):
    id: str = Field(description="Gateway id, the asset level of the gateway's own topics")
    enterprise: str
    site: str

    @field_validator("id", "enterprise", "site")
    @classmethod
    def _valid_level(cls, v: str) -> str:
        return _level(v, "name")


class LocalBrokerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    # Fixed so that the broker keeps our persistent session (and the samples queued in it)
    # while the agent is down.
    client_id: str = Field(default="seamline-edge", min_length=1, max_length=64)
    subscription: str = Field(default="seamline/v1/+/+/+/+/+", min_length=1)
    keepalive_s: int = Field(default=30, ge=5, le=3600)


def parse_address(text: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` for an IPv6 literal) as ``(host, port)``; ValueError otherwise."""
    host, sep, port = str(text).strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or any(c.isspace() for c in host) or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port with a port 1..65535, got {text!r}")
    return host, int(port)


class UplinkSection(_Section):
    # One central broker (host, port), or a failover list (brokers) of a broker cluster's nodes.
    host: str | None = None
    port: int = Field(default=8883, ge=1, le=65535)
    # Tried in order; after a failed or lost connection the next one, round the list, with the
    # uplink's backoff between attempts. host/port or brokers, not both.
    brokers: tuple[str, ...] = Field(default=(), max_length=32)
    # MQTT 5 (PUBACK reason codes: refused publishes are quarantined), or 3.1.1 for brokers whose
    # MQTT listener has no 5 (NATS): a refusal then shows as a dropped connection, not a reason code.
    protocol: Literal["5", "3.1.1"] = "5"
    client_id: str | None = Field(default=None, max_length=64, description="Defaults to edge-<gateway id>")
    username: str | None = None
    password: SecretStr | None = None
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    # Broker-side bound on un-acked QoS 1 publishes; 100 keeps a slow link full without
    # letting a reconnect resend a huge window.
    max_inflight: int = Field(default=100, ge=1, le=65535)
    backoff_initial_s: float = Field(default=1.0, gt=0, le=3600)
    backoff_max_s: float = Field(default=120.0, gt=0, le=86400)
    # birth + online status again every this many seconds (0: only on connect), so a platform that
    # lost a birth can map and confirm this gateway's assets again
    rebirth_s: float = Field(default=600.0, ge=0, le=86400)

    @field_validator("brokers")
    @classmethod
    def _addresses(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for text in v:
            parse_address(text)
        if len(set(v)) != len(v):
            raise ValueError("a broker address is listed twice")
        return v

    @property
    def addresses(self) -> tuple[tuple[str, int], ...]:
        """Where to connect, in order of preference."""
        if self.brokers:
            return tuple(parse_address(b) for b in self.brokers)
        assert self.host is not None  # checked by _tls_pair
        return ((self.host, self.port),)

    @model_validator(mode="after")
    def _tls_pair(self) -> Self:
        if (self.host is None) == (not self.brokers):
            raise ValueError("give uplink.host (and port) or uplink.brokers: [host:port, ...], one of the two")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key must be given together")
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError("backoff_max_s must be >= backoff_initial_s")
        return self


class SpoolSection(_Section):
    path: Path = Path("/var/lib/seamline-edge/spool.sqlite")
    # 256 MiB: about a week of aggregates for 200 machines, small next to a gateway's SD card.
    max_bytes: int = Field(default=256 * 1024 * 1024, ge=64 * 1024)
    # What the broker acknowledged is kept (inside max_bytes, forgotten first when room is needed)
    # until the platform confirms it stored it, at most this long; 0 turns the history off.
    history_retention_s: float = Field(default=86_400.0, ge=0)
    # Free space left on the spool's filesystem: below it the spool stops growing (drop policy).
    reserve_bytes: int = Field(default=8 * 1024 * 1024, ge=0)
    # A sent message no confirm covered this long after its PUBACK is published again (a tail the
    # broker dropped leaves no hole the platform could ask for). Above the confirmer's interval.
    replay_unconfirmed_s: float = Field(default=300.0, gt=0)


class MachineTypeSettings(_Section):
    """Thresholds of one machine type (a motor current transformer, 1 s RMS samples)."""

    off_below_a: float = Field(default=0.05, ge=0, description="Below this the machine is unpowered (A)")
    idle_current_a: float = Field(default=0.45, ge=0, description="Typical current powered but not sewing (A)")
    run_current_a: float = Field(default=3.2, gt=0, description="Typical current while sewing (A)")
    running_above_a: float = Field(default=0.8, gt=0, description="Running when above this (A)")
    hysteresis_a: float = Field(default=0.1, ge=0, description="Band around the thresholds (A)")
    min_running_s: float = Field(default=0.3, ge=0, le=10, description="Shorter bursts are not running (s)")
    idle_after_s: float = Field(default=3.0, ge=0, le=600, description="Running->idle event after this long (s)")
    off_after_s: float = Field(default=2.0, ge=0, le=600, description="->off event after this long unpowered (s)")
    max_gap_s: float = Field(default=5.0, gt=0, le=3600, description="Longer sample gaps are missing data (s)")
    # A Wi-Fi blip of a minute or two does not hide how a machine worked: pieces counted across it
    # are credited to the minute they were counted. A longer gap is an outage: the counter's
    # increase across it is reported apart as *_unobserved (real output, unobserved time).
    outage_gap_s: float = Field(default=300.0, gt=0, le=86400, description="Longer counter gaps: unobserved (s)")
    # A lost "repaired" andon press must not keep a machine down all day: this much sewing during
    # a breakdown ends it (a mechanic's test stitches stay well below a minute).
    repair_inferred_after_s: float = Field(default=60.0, gt=0, le=3600, description="Sewing that ends a breakdown (s)")
    # The rules' kpi.stop_threshold_s: aggregates split idle time there so the rules can sum them
    # instead of reading every state event (they read the events when the two differ).
    stop_threshold_s: float = Field(default=300.0, gt=0, le=1800, description="Idle periods >= this are stops (s)")

    def thresholds(self) -> Thresholds:
        """These settings as the state tracker's thresholds."""
        return Thresholds(**self.model_dump())

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.off_below_a < self.running_above_a < self.run_current_a:
            raise ValueError("expected off_below_a < running_above_a < run_current_a")
        if not self.idle_current_a < self.run_current_a:
            raise ValueError("expected idle_current_a < run_current_a")
        return self


class MachineSettings(_Section):
    id: str
    line: str
    type: str = "default"

    @field_validator("id", "line")
    @classmethod
    def _valid_level(cls, v: str) -> str:
        return _level(v, "name")


class SimulatedClockSettings(_Section):
    """Demos and tests only: device time runs ``speed`` times faster than the wall clock, starting
    at ``start_ms`` (UTC ms) at wall time ``anchor_unix_s``. Leave unset on a real gateway."""

    start_ms: int = Field(ge=0)
    speed: float = Field(gt=0, le=100_000)
    anchor_unix_s: float = Field(gt=0)


class MetricsSection(_Section):
    port: int = Field(default=0, ge=0, le=65535)  # Prometheus /metrics; 0: off
    bind: str = "127.0.0.1"  # a scraper elsewhere: the gateway's LAN address, behind its firewall


class EdgeConfig(_Section):
    gateway: GatewaySettings
    local: LocalBrokerSettings = LocalBrokerSettings()
    uplink: UplinkSection
    spool: SpoolSection = SpoolSection()
    logging: LoggingConfig = LoggingConfig()
    metrics: MetricsSection = Field(default_factory=lambda: MetricsSection())
    machine_types: dict[str, MachineTypeSettings] = Field(
        default_factory=lambda: {"default": MachineTypeSettings()}
    )
    machines: list[MachineSettings] = Field(default_factory=list, max_length=10_000)
    # Machines seen on the local broker but not listed get the default type.
    auto_discover: bool = True
    aggregate_period_s: int = Field(default=60, ge=1, le=3600)
    # On a graceful stop, emit open periods as partial aggregates (period_s says how long) instead
    # of keeping them in the checkpoint until the machine's next sample.
    flush_on_stop: bool = True
    telemetry_interval_s: float = Field(default=60.0, ge=1, le=86400)
    # Bounds one processing batch so a redelivered backlog is committed in pieces.
    batch_max_messages: int = Field(default=500, ge=1, le=100_000)
    # Device profiles of edge_agent.modbus; validated by that package when it is loaded.
    modbus: list[dict[str, Any]] = Field(default_factory=list)
    simulated_clock: SimulatedClockSettings | None = None

    @model_validator(mode="after")
    def _references(self) -> Self:
        if "default" not in self.machine_types:
            raise ValueError("machine_types must define 'default'")
        seen: set[tuple[str, str]] = set()
        for m in self.machines:
            if m.type not in self.machine_types:
                raise ValueError(f"machine {m.id!r} has unknown type {m.type!r}")
            if (m.line, m.id) in seen:
                raise ValueError(f"machine {m.id!r} is listed twice on line {m.line!r}")
            seen.add((m.line, m.id))
        return self

    def machine_type(self, machine_id: str, line: str | None = None) -> MachineTypeSettings:
        """The thresholds of ``machine_id`` on ``line`` (the default type for discovered machines).
        Machine ids need only be unique per line: small factories number each line m001, m002..."""
        for m in self.machines:
            if m.id == machine_id and (line is None or m.line == line):
                return self.machine_types[m.type]
        return self.machine_types["default"]

    @property
    def uplink_client_id(self) -> str:
        return self.uplink.client_id or f"edge-{self.gateway.id}"

    def settings(self, *, config_dir: Path = Path(".")) -> rt.EdgeSettings:
        """The validated config as the running agent's plain data. Validates the ``modbus:``
        entries too (relative map files against ``config_dir``); raises ``ModbusConfigError``."""
        from seamline.edge_agent.modbus.config import load_devices

        g, lo, u, sp, clock = self.gateway, self.local, self.uplink, self.spool, self.simulated_clock
        return rt.EdgeSettings(
            gateway=rt.Gateway(id=g.id, enterprise=g.enterprise, site=g.site),
            local=rt.LocalBroker(host=lo.host, port=lo.port, client_id=lo.client_id, subscription=lo.subscription,
                                 keepalive_s=lo.keepalive_s),
            uplink=rt.UplinkBroker(
                host=u.addresses[0][0], port=u.addresses[0][1], brokers=u.addresses, protocol=u.protocol,
                client_id=u.client_id, username=u.username,
                password=u.password.get_secret_value() if u.password else None,
                tls_ca=u.tls_ca, tls_cert=u.tls_cert, tls_key=u.tls_key, keepalive_s=u.keepalive_s,
                max_inflight=u.max_inflight, backoff_initial_s=u.backoff_initial_s, backoff_max_s=u.backoff_max_s,
                rebirth_s=u.rebirth_s,
            ),
            spool=rt.Spool(path=sp.path, max_bytes=sp.max_bytes, history_retention_s=sp.history_retention_s,
                           reserve_bytes=sp.reserve_bytes, replay_unconfirmed_s=sp.replay_unconfirmed_s),
            machine_types={name: t.thresholds() for name, t in self.machine_types.items()},
            machines=tuple(rt.Machine(id=m.id, line=m.line, type=m.type) for m in self.machines),
            auto_discover=self.auto_discover, aggregate_period_s=self.aggregate_period_s,
            flush_on_stop=self.flush_on_stop, telemetry_interval_s=self.telemetry_interval_s,
            batch_max_messages=self.batch_max_messages,
            modbus=tuple(load_devices(self.modbus, base_dir=config_dir)) if self.modbus else (),
            metrics_port=self.metrics.port, metrics_bind=self.metrics.bind,
            simulated_clock=None if clock is None else rt.SimulatedClock(
                start_ms=clock.start_ms, speed=clock.speed, anchor_unix_s=clock.anchor_unix_s),
        )


def thresholds_of(t: MachineTypeSettings) -> Thresholds:
    return t.thresholds()


_EXPECT = {
    "int_parsing": "expected an integer",
    "int_type": "expected an integer",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "bool_parsing": "expected true or false",
    "missing": "required key is missing",
    "extra_forbidden": "unknown key",
    "string_type": "expected a string",
    "dict_type": "expected a mapping",
    "list_type": "expected a list",
}


# Keys whose values are secrets: an error names the key and what was expected, never the value.
_SECRET_KEYS = frozenset({"password", "token", "secret"})


def _describe(err: Mapping[str, Any]) -> str:
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    kind = str(err["type"])
    ctx = err.get("ctx") or {}
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than") and ctx:
        msg = f"expected a value {kind.replace('_', ' ')} {next(iter(ctx.values()))}"
    else:
        msg = _EXPECT.get(kind, str(err["msg"]).removeprefix("Value error, "))
    secret = any(str(part).lower() in _SECRET_KEYS for part in err["loc"])
    if secret:  # never echo a secret, whatever its type: `password: 98765432109` is a password
        msg = msg.removesuffix(f", got {err.get('input')!r}")
    elif kind not in ("missing", "model_type", "dict_type") and not isinstance(err.get("input", {}), dict | list):
        shown = repr(err["input"])
        msg += f", got {shown[:60]}"
    return f"{loc}: {msg}"


def _port_message(loc: str, msg: str) -> str:
    # Ports are the most common typo; say the whole range at once.
    if loc.endswith(".port") and "expected" in msg:
        got = msg.split(", got ", 1)
        return f"{loc}: expected an integer 1..65535" + (f", got {got[1]}" if len(got) > 1 else "")
    return f"{loc}: {msg}"


def parse_config(data: object, *, path: Path, env: Mapping[str, str] | None = None) -> EdgeConfig:
    """Validate already-parsed YAML ``data``; ``env`` (default: none) may carry the uplink password."""
    if not isinstance(data, dict):
        raise ConfigError(path, ["(top level): expected a mapping of sections"])
    password = (env or {}).get(PASSWORD_ENV)
    if password and isinstance(data.get("uplink"), dict):
        data = {**data, "uplink": {**data["uplink"], "password": password}}
    try:
        return EdgeConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc, _, msg = _describe(err).partition(": ")
            problems.append(_port_message(loc, msg))
        raise ConfigError(path, problems) from None


def load_config(path: Path, *, env: Mapping[str, str] | None = None) -> EdgeConfig:
    """Read and validate the YAML file at ``path``. ``env`` defaults to ``os.environ``."""
    path = Path(path)
    try:
        data = load_service_yaml(path, "edge", expected="a mapping with gateway and uplink", environ=env)
    except ConfigFileError as exc:
        raise ConfigError(path, exc.problems) from None
    return parse_config(data, path=path, env=os.environ if env is None else env)
