"""``seamline dashboards``: the Grafana dashboards as code.

    seamline dashboards export DIR [--influx-url URL] [--influx-version 1|2] [settings...]
    seamline dashboards provision --url URL --token-env VAR [--folder seamline] [settings...]
    seamline dashboards list

``export`` writes Grafana file provisioning into DIR (copy it to /etc/grafana/provisioning);
``provision`` creates the folder, the data source and the dashboards through Grafana's HTTP API,
saving a dashboard only when it changed. Secrets are read from environment variables named on the
command line and never printed."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path, PurePosixPath
from typing import Any

from seamline.errors import UsageError

_DEFAULT_URL = "http://localhost:8086"


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("dashboards", help="Grafana dashboards: export files or provision")
    cmds = p.add_subparsers(dest="dashboards_command", metavar="ACTION", required=True)

    exp = cmds.add_parser("export", help="write Grafana provisioning files (dashboards, data source, provider)")
    exp.add_argument("directory", type=Path, help="output directory (its layout is /etc/grafana/provisioning's)")
    exp.add_argument("--grafana-root", default="/etc/grafana/provisioning",
                     help="where Grafana will see DIR (the provider file names the JSON folder by it)")
    _settings_args(exp)
    exp.set_defaults(handler=_export)

    prov = cmds.add_parser("provision", help="create/update folder, data source and dashboards via Grafana's API")
    prov.add_argument("--url", required=True, help="Grafana base URL, e.g. https://grafana.example:3000")
    prov.add_argument("--token-env", required=True, metavar="VAR",
                      help="environment variable holding a Grafana service-account token")
    prov.add_argument("--timeout", type=float, default=10.0, help="seconds per HTTP request (default 10)")
    _settings_args(prov)
    prov.set_defaults(handler=_provision)

    lst = cmds.add_parser("list", help="print the dashboards, their panels and queries")
    _settings_args(lst)
    lst.set_defaults(handler=_list)


def _settings_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("dashboard settings")
    g.add_argument("--folder", default="seamline", help="folder uid and title (default seamline)")
    g.add_argument("--datasource-uid", default="seamline-influxdb", help="uid shared by every panel")
    g.add_argument("--database", default="seamline", help="InfluxDB database (2.x/3.x: the DBRP database)")
    g.add_argument("--raw-rp", default="raw", help="retention policy of the telemetry (influx.raw_rp)")
    g.add_argument("--kpi-rp", default="kpi", help="retention policy of the KPIs (influx.kpi_rp)")
    g.add_argument("--timezone", default="Asia/Shanghai", help="the cluster's local time zone")
    g.add_argument("--influx-url", default=_DEFAULT_URL, help="InfluxDB URL as Grafana's server reaches it")
    g.add_argument("--influx-version", type=int, choices=(1, 2), default=1,
                   help="1: InfluxDB 1.x; 2: 2.x/3.x InfluxQL through DBRP with a token")
    g.add_argument("--influx-user", help="InfluxDB 1.x user (password from --influx-password-env)")
    g.add_argument("--influx-password-env", default="SEAMLINE_INFLUX_PASSWORD", metavar="VAR")
    g.add_argument("--influx-token-env", default="SEAMLINE_INFLUX_TOKEN", metavar="VAR")


def _settings(args: argparse.Namespace) -> Any:
    from seamline.dashboards.datasource import DataSource
    from seamline.dashboards.settings import DashboardSettings

    try:
        settings = DashboardSettings(folder_uid=args.folder, folder_title=args.folder, database=args.database,
                                     datasource_uid=args.datasource_uid, raw_rp=args.raw_rp, kpi_rp=args.kpi_rp,
                                     timezone=args.timezone)
        source = DataSource(url=args.influx_url, version=args.influx_version, user=args.influx_user,
                            password_env=args.influx_password_env, token_env=args.influx_token_env)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return settings, source


def _export(args: argparse.Namespace) -> int:
    from seamline.dashboards.catalog import panels_of
    from seamline.dashboards.export import export

    settings, source = _settings(args)
    out = export(args.directory, settings, source, grafana_root=PurePosixPath(args.grafana_root))
    panels = sum(len(list(panels_of(b.model))) for b in out.dashboards)
    print(f"wrote {len(out.dashboards)} dashboards ({panels} panels), the data source and the provider to "
          f"{out.directory}")
    for f in out.files:
        print(f"  {f}")
    return 0


def _secret_body(source: Any, settings: Any) -> dict[str, Any]:
    """The data source body with the ``${VAR}`` placeholders replaced by this process's environment
    (the HTTP API stores what it is sent; only provisioning files are expanded by Grafana)."""
    body: dict[str, Any] = source.body(settings)
    secure = body.get("secureJsonData", {})
    for key, value in secure.items():
        name = value[value.index("${") + 2: value.index("}")]
        if name not in os.environ:
            raise UsageError(f"environment variable {name} (InfluxDB secret for the data source) is not set")
        secure[key] = value.replace(f"${{{name}}}", os.environ[name])
    return body


def _provision(args: argparse.Namespace) -> int:
    from grafana_client.api import GrafanaApi

    from seamline.dashboards.catalog import build_all
    from seamline.dashboards.provision import Provisioner, ProvisionError

    token = os.environ.get(args.token_env)
    if not token:
        raise UsageError(f"environment variable {args.token_env} (the Grafana token) is not set or empty")
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be > 0, got {args.timeout}")
    settings, source = _settings(args)
    api = GrafanaApi.from_url(args.url, credential=token, timeout=args.timeout)
    try:
        report = Provisioner(api, settings).run(build_all(settings), _secret_body(source, settings))
    except ProvisionError as exc:
        print(f"seamline dashboards provision: {exc}", file=sys.stderr)
        return 1
    print(f"folder {settings.folder_uid}: {report.folder}; data source {settings.datasource_uid}: {report.datasource}")
    for uid, outcome in report.dashboards.items():
        print(f"  {uid}: {outcome}")
    for uid in report.unknown_in_folder:
        print(f"  {uid}: in the folder but not in the set (left alone)")
    return 0


def _list(args: argparse.Namespace) -> int:
    from seamline.dashboards.catalog import build_all, panels_of

    settings, _ = _settings(args)
    doc = [{"uid": b.uid, "title": b.title, "panels": [
        {"title": p.title, "type": p.type_val, "queries": [t.query for t in p.targets or [] if hasattr(t, "query")]}
        for p in panels_of(b.model)]} for b in build_all(settings)]
    print(json.dumps(doc, indent=1, ensure_ascii=False))
    return 0
