"""The InfluxDB data source every dashboard queries, for Grafana's file provisioning and its HTTP
API. InfluxDB 1.x: database + user (password from an environment variable Grafana expands).
InfluxDB 2.x/3.x: the same InfluxQL through DBRP mappings (``seamline db init`` creates them),
authenticated with a token in an ``Authorization: Token ...`` header. No secret is ever written:
the files hold ``$VAR`` references that Grafana resolves from its own environment."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from seamline.dashboards.settings import DashboardSettings
from seamline.dashboards.target import INFLUXDB_PLUGIN

__all__ = ["DataSource"]

_ENV = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# The edge sends 60 s aggregates: a finer $__interval would only draw gaps.
MIN_INTERVAL = "60s"


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSource:
    """``url`` as Grafana's server reaches InfluxDB; ``version`` 1 (user + ``password_env``) or 2
    (``token_env``: the InfluxDB 2.x/3.x token, read by Grafana from its environment)."""

    url: str = "http://localhost:8086"
    version: Literal[1, 2] = 1
    user: str | None = None
    password_env: str = "SEAMLINE_INFLUX_PASSWORD"
    token_env: str = "SEAMLINE_INFLUX_TOKEN"

    def __post_init__(self) -> None:
        if not re.match(r"^https?://[^\s/]+", self.url):
            raise ValueError(f"InfluxDB url must be http(s)://host:port, got {self.url!r}")
        for name in (self.password_env, self.token_env):
            if not _ENV.match(name):
                raise ValueError(f"environment variable names are A-Z, 0-9 and _, got {name!r}")

    def body(self, settings: DashboardSettings) -> dict[str, Any]:
        """The data source as Grafana's API and provisioning files describe it (secrets as ``$VAR``)."""
        json_data: dict[str, Any] = {"dbName": settings.database, "httpMode": "POST", "timeInterval": MIN_INTERVAL}
        secure: dict[str, str] = {}
        out: dict[str, Any] = {"name": settings.datasource_name, "uid": settings.datasource_uid,
                               "type": INFLUXDB_PLUGIN, "access": "proxy", "url": self.url, "isDefault": False}
        if self.version == 1:
            json_data["version"] = "InfluxQL"
            if self.user:
                out["user"] = self.user
                secure["password"] = f"${{{self.password_env}}}"
        else:
            json_data |= {"version": "InfluxQL", "httpHeaderName1": "Authorization"}
            secure["httpHeaderValue1"] = f"Token ${{{self.token_env}}}"
        out["jsonData"] = json_data
        if secure:
            out["secureJsonData"] = secure
        return out

    def provisioning(self, settings: DashboardSettings) -> dict[str, Any]:
        """``provisioning/datasources/seamline.yaml``."""
        return {"apiVersion": 1, "datasources": [{**self.body(settings), "editable": False, "orgId": 1}]}
