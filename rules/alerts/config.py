"""The alerts configuration (``alerts.yaml``, sample ``alerts.sample.yaml``): evaluation timing,
the Alertmanager peers, where the state is kept, overrides of the built-in rules and own rules.

Durations are seconds or Prometheus-style text (``90s``, ``5m``, ``1h30m``). Every error names the
file, the dotted key and what was expected (:class:`AlertsConfigError`, exit code 2). Each rule's
condition is checked against the storage schema (the measurement and field exist) and its
annotation templates against the names :mod:`~seamline.rules.alerts.templates` knows.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from seamline.configfile import ConfigFileError, read_yaml_mapping, validation_problems
from seamline.contracts.alerts import AlertName, RuleId, Severity, Url
from seamline.errors import UsageError
from seamline.rules.alerts.builtin import BUILTIN_RULES
from seamline.rules.alerts.conditions import Condition
from seamline.rules.alerts.schema_check import condition_problem
from seamline.rules.alerts.templates import template_problem


class AlertsConfigError(UsageError):
    """Invalid alerts configuration; the message names file, key and expectation."""


_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$")


def parse_duration(value: Any) -> Any:
    """``90``, ``90.0``, ``"90s"``, ``"1h30m"`` -> seconds; other values are left to pydantic."""
    if not isinstance(value, str):
        return value
    m = _DURATION.match(value.strip())
    if not value.strip() or m is None or not any(m.groups()):
        raise ValueError(f"expected seconds or a duration like 90s, 5m, 1h30m; got {value!r}")
    d, h, mi, s, ms = (int(g) if g else 0 for g in m.groups())
    return d * 86400 + h * 3600 + mi * 60 + s + ms / 1000


Seconds = Annotated[float, BeforeValidator(parse_duration), Field(ge=0, le=31 * 86400)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True)


class Annotations(_Section):
    """Templates (module :mod:`~seamline.rules.alerts.templates`); Chinese first, English beside it."""

    summary: str = Field(min_length=1, max_length=500)
    summary_en: str | None = Field(default=None, max_length=500)
    description: str | None = Field(default=None, max_length=1500)
    description_en: str | None = Field(default=None, max_length=1500)

    @model_validator(mode="after")
    def _templates(self) -> Annotations:
        for name in ("summary", "summary_en", "description", "description_en"):
            text = getattr(self, name)
            if text is not None and (problem := template_problem(text)) is not None:
                raise ValueError(f"{name}: {problem}")
        return self


class AlertRule(_Section):
    id: RuleId
    alertname: AlertName
    severity: Severity
    condition: Condition
    for_s: Seconds = Field(default=0.0, alias="for", description="Condition must hold this long before firing")
    keep_firing_for_s: Seconds = Field(default=0.0, alias="keep_firing_for",
                                       description="Keep firing this long after the condition cleared")
    annotations: Annotations
    runbook_url: Url | None = None
    enabled: bool = True

    @field_validator("condition")
    @classmethod
    def _schema(cls, c: Condition) -> Condition:
        problem = condition_problem(c)
        if problem is not None:
            raise ValueError(problem)
        return c


class AlertmanagerPeers(_Section):
    peers: list[Annotated[str, Field(pattern=r"^https?://")]] = Field(default_factory=list)
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    bearer_token_env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]*$",
                                         description="Environment variable holding a bearer token")


class Platform(_Section):
    """Labels of alerts about the platform itself (ingest), which belong to no enterprise."""

    enterprise: str = Field(default="platform", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    site: str = Field(default="ingest", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class AlertsConfig(_Section):
    enabled: bool = True
    interval_s: Seconds = Field(default=30.0, gt=0)
    # Data of the last evaluation_delay_s is not judged yet: edge aggregates and spool replays land late.
    evaluation_delay_s: Seconds = 60.0
    resend_interval_s: Seconds = Field(default=60.0, gt=0)
    state_path: Path = Path("alerts_state.sqlite3")
    alertmanager: AlertmanagerPeers = AlertmanagerPeers()
    platform: Platform = Platform()
    builtin: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Overrides by built-in rule id")
    rules: list[dict[str, Any]] = Field(default_factory=list, description="Own rules (AlertRule)")

    @field_validator("builtin")
    @classmethod
    def _known(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        unknown = sorted(set(v) - set(BUILTIN_RULES))
        if unknown:
            raise ValueError(f"unknown built-in rule(s) {unknown}; known: {sorted(BUILTIN_RULES)}")
        return v


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def resolve_rules(cfg: AlertsConfig, *, source: str = "alerts config") -> list[AlertRule]:
    """The enabled rules: the built-ins with their overrides, then the own rules (ids unique)."""
    problems: list[str] = []
    rules: list[AlertRule] = []
    raw = [(f"builtin.{rid}", _merge(d, cfg.builtin.get(rid, {}))) for rid, d in BUILTIN_RULES.items()]
    raw += [(f"rules[{i}]", d) for i, d in enumerate(cfg.rules)]
    for where, data in raw:
        try:
            rules.append(AlertRule.model_validate(data))
        except ValidationError as exc:
            problems += [f"{source}: {where}.{p}" for p in validation_problems(exc)]
    seen: set[str] = set()
    for r in rules:
        if r.id in seen:
            problems.append(f"{source}: rules: duplicate rule id {r.id!r}")
        seen.add(r.id)
    if problems:
        raise AlertsConfigError("invalid alerts config:\n  " + "\n  ".join(problems))
    return [r for r in rules if r.enabled]


def parse_alerts_config(raw: dict[str, Any], *, source: str, base_dir: Path | None = None) -> AlertsConfig:
    try:
        cfg = AlertsConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{source}: {p}" for p in validation_problems(exc)]
        raise AlertsConfigError("invalid alerts config:\n  " + "\n  ".join(lines)) from None
    resolve_rules(cfg, source=source)
    if base_dir is not None and not cfg.state_path.expanduser().is_absolute():
        cfg = cfg.model_copy(update={"state_path": base_dir / cfg.state_path})
    return cfg


def load_alerts_config(path: Path) -> AlertsConfig:
    try:
        raw = read_yaml_mapping(path, expected="a mapping (interval_s, alertmanager, builtin, rules...)",
                                empty_ok=True)
    except ConfigFileError as exc:
        raise AlertsConfigError(str(exc)) from None
    return parse_alerts_config(raw, source=str(path), base_dir=path.parent)
