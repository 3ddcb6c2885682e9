"""The ``influx:`` block, one model for every service that talks to InfluxDB (ingest, rules,
``seamline db``): the same YAML keys everywhere.

1.x: ``database`` and its retention policies (``raw_rp``, ``kpi_rp``), optional user/password
(the password from ``password_file`` or ``password_env`` — one user per service when InfluxDB runs
with ``auth-enabled``, see ``seamline db users``).
2.x/3.x: ``version: 2``, ``org`` and ``token``; each retention policy is a bucket
(``<database>/<rp>`` unless ``raw_bucket``/``kpi_bucket`` name another) that a DBRP mapping
exposes to InfluxQL as ``database``/``rp`` — ``seamline db init`` creates both — so writes go to
the bucket through the v2 API and every read stays InfluxQL.

Older keys still load: ``retention_policy`` (ingest's name for ``raw_rp``) and ``bucket`` (for
``raw_bucket``). Secrets are :class:`pydantic.SecretStr`: never in logs, reprs or errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from seamline.secret_source import resolve_secret, url_problem
from seamline.storage.influxql import duration_s
from seamline.storage.rollups import RollupSpec
from seamline.storage.schema import DEFAULT_DURATION, Retention

__all__ = ["InfluxConfig", "RollupConfig"]


class RollupConfig(BaseModel):
    """One rollup of the raw telemetry (``seamline db init`` creates its RP and continuous queries)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    every: str = Field(description="interval, e.g. 1h or 1d; the RP is rollup_<every>")
    duration: str = Field(description="how long the rollup is kept (INF = forever)")
    offset: str = Field(default="0s", description="shift of the interval boundaries; -8h = local days in UTC+8")
    resample_for: str | None = Field(default=None, description="how far back each run recomputes (default 2 x every)")

    @field_validator("every", "duration", "resample_for")
    @classmethod
    def _duration(cls, v: str | None) -> str | None:
        if v is not None:
            duration_s(v)
        return v

    @field_validator("offset")
    @classmethod
    def _offset(cls, v: str) -> str:
        duration_s(v.removeprefix("-"))
        return v

    @model_validator(mode="after")
    def _spec(self) -> RollupConfig:
        self.spec()  # every > 0, resample_for >= every: RollupSpec's checks, reported as this key's error
        return self

    def spec(self) -> RollupSpec:
        return RollupSpec(every=self.every, duration=self.duration, offset=self.offset, resample_for=self.resample_for)


def _default_rollups() -> tuple[RollupConfig, ...]:
    # Hourly for two years (a month against the same month last year), local days forever: what a
    # dashboard needs once raw samples have expired (raw_duration). Asia/Shanghai is UTC+8, no DST.
    return (RollupConfig(every="1h", duration="730d"), RollupConfig(every="1d", duration="INF", offset="-8h"))


class InfluxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    version: Literal[1, 2] = Field(default=1, description="1 = InfluxDB 1.x; 2 = 2.x/3.x (v2 write API + token)")
    url: str = Field(default="http://127.0.0.1:8086", pattern=r"^https?://")
    database: str = Field(default="seamline", min_length=1)
    raw_rp: str = Field(default=Retention.RAW.value, min_length=1,
                        validation_alias=AliasChoices("raw_rp", "retention_policy"),
                        description="retention policy ingest writes telemetry to")
    kpi_rp: str = Field(default=Retention.KPI.value, min_length=1, description="retention policy of the KPI points")
    raw_duration: str = Field(default=DEFAULT_DURATION[Retention.RAW], description="`seamline db init`: keep raw")
    kpi_duration: str = Field(default=DEFAULT_DURATION[Retention.KPI], description="`seamline db init`: keep KPIs")
    rollups: tuple[RollupConfig, ...] = Field(default_factory=_default_rollups, max_length=8,
                                        description="`seamline db init`: downsampled telemetry (1.x continuous "
                                                    "queries); [] for none")
    username: str | None = Field(default=None, description="1.x user")
    password: SecretStr | None = None
    password_file: Path | None = Field(default=None, description="file holding the 1.x password")
    password_env: str | None = Field(default=None, description="environment variable holding the 1.x password")
    org: str = Field(default="seamline", min_length=1, description="2.x/3.x organization")
    token: SecretStr | None = Field(default=None, description="2.x/3.x API token; 1.8 compatibility: user:password")
    token_file: Path | None = Field(default=None, description="file holding the token")
    token_env: str | None = Field(default=None, description="environment variable holding the token")
    raw_bucket: str | None = Field(default=None, min_length=1, validation_alias=AliasChoices("raw_bucket", "bucket"),
                                   description="2.x/3.x; default <database>/<raw_rp>")
    kpi_bucket: str | None = Field(default=None, min_length=1, description="2.x/3.x; default <database>/<kpi_rp>")
    # A write of 5 000 lines answers in well under a second; 10 s means the server is in trouble.
    timeout_s: float = Field(default=10.0, gt=0, le=600, description="per write request (s)")
    # A daily window of 300 machines is ~430k rows: reads get longer than writes.
    query_timeout_s: float = Field(default=30.0, gt=0, le=600, description="per InfluxQL request (s)")
    gzip: bool = Field(default=False, description="gzip write bodies")

    @model_validator(mode="before")
    @classmethod
    def _secrets(cls, data: Any) -> Any:
        """``password``/``token`` from at most one of the value, its ``_file`` or its ``_env``."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for key in ("password", "token"):
            if any(out.get(k) is not None for k in (key, f"{key}_file", f"{key}_env")):
                out[key] = resolve_secret(value=out.get(key), file=out.get(f"{key}_file"), env=out.get(f"{key}_env"),
                                          what=f"influx.{key}")
        return out

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        # the message never quotes the URL: a user:password@ in it would be printed
        if (problem := url_problem(v, schemes=("http", "https"))) is not None:
            raise ValueError(problem)
        return v

    @field_validator("raw_duration", "kpi_duration")
    @classmethod
    def _duration(cls, v: str) -> str:
        duration_s(v)
        return v

    @model_validator(mode="after")
    def _credentials(self) -> InfluxConfig:
        if self.version == 2 and self.token is None:
            raise ValueError("version 2 needs a token (influx.token)")
        return self

    def rp(self, retention: Retention) -> str:
        """This deployment's name of the retention policy with ``retention``'s role."""
        return self.raw_rp if retention is Retention.RAW else self.kpi_rp

    def bucket(self, retention: Retention) -> str:
        """The 2.x/3.x bucket holding ``retention``'s policy (its DBRP target)."""
        explicit = self.raw_bucket if retention is Retention.RAW else self.kpi_bucket
        return explicit or f"{self.database}/{self.rp(retention)}"

    def duration(self, retention: Retention) -> str:
        return self.raw_duration if retention is Retention.RAW else self.kpi_duration
