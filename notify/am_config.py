"""Generate a working ``alertmanager.yml`` from master data.

* Route tree: the root groups by enterprise and alert name; one child route per enterprise
  (receiver ``seamline-<enterprise>``), and under it one per severity with its own timings
  (critical repeats sooner than warning, warning sooner than info). Alerts of an enterprise that
  is not in master data go to ``seamline-default``.
* Receivers: webhooks to ``seamline notify`` at ``<notify_url>/alertmanager/<key>``; the key (the
  enterprise id, or ``_default``) is what notify.yaml's routes match. ``send_resolved`` on, so
  people are told when it is over.
* Inhibition: a firing ``gateway_offline`` silences every other alert of its enterprise and site
  that came through that gateway (alerts with a ``gateway`` label), and every alert of the site
  that names no gateway; a critical alert silences the warning with the same alert name on the
  same asset.

Master data has no gateways: the inhibit rules match on labels, so any gateway id works.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from seamline.contracts.alerts import (
    ALERTNAME,
    ASSET,
    ENTERPRISE,
    GATEWAY,
    GATEWAY_OFFLINE,
    SEVERITY,
    SITE,
    Severity,
)
from seamline.errors import UsageError
from seamline.rules.master_data import MasterData

DEFAULT_KEY = "_default"
GROUP_BY = [ENTERPRISE, ALERTNAME]


@dataclass(frozen=True, slots=True)
class Timings:
    """Alertmanager's notification timings for one severity, in seconds."""

    group_wait_s: float  # wait this long for more alerts before the first notification of a group
    group_interval_s: float  # then batch changes to the group for this long
    repeat_interval_s: float  # re-notify a group that did not change after this long

    def __post_init__(self) -> None:
        if min(self.group_wait_s, self.group_interval_s, self.repeat_interval_s) <= 0:
            raise ValueError("timings must be > 0 s")
        if self.repeat_interval_s < self.group_interval_s:
            raise ValueError("repeat_interval must be >= group_interval (Alertmanager repeats on a group flush)")


# Critical: a stopped line costs money by the minute - tell again every hour while it lasts.
# Warning: once per working morning and afternoon. Info: once a day.
DEFAULT_TIMINGS: dict[Severity, Timings] = {
    Severity.CRITICAL: Timings(group_wait_s=10, group_interval_s=60, repeat_interval_s=3600),
    Severity.WARNING: Timings(group_wait_s=30, group_interval_s=300, repeat_interval_s=4 * 3600),
    Severity.INFO: Timings(group_wait_s=60, group_interval_s=600, repeat_interval_s=24 * 3600),
}


@dataclass(frozen=True, slots=True)
class ConfigOptions:
    notify_url: str = "http://127.0.0.1:9095"  # where `seamline notify` listens
    bearer_token_file: Path | None = None  # Alertmanager reads the token notify expects from here
    timings: dict[Severity, Timings] = field(default_factory=lambda: dict(DEFAULT_TIMINGS))
    # Alerts that are not updated for this long resolve (only alerts posted without endsAt;
    # seamline always sets endsAt, other senders may not).
    resolve_timeout_s: float = 300.0
    max_alerts: int = 0  # alerts per webhook call (0 = all; notify shortens long groups itself)


def duration(seconds: float) -> str:
    """Seconds in Alertmanager's duration syntax: 90 -> ``1m30s``, 0.5 -> ``500ms``."""
    ms = round(seconds * 1000)
    if ms <= 0:
        raise ValueError(f"duration must be > 0, got {seconds}")
    out = ""
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        n, ms = divmod(ms, size)
        if n:
            out += f"{n}{unit}"
    return out


def _receiver(key: str, options: ConfigOptions) -> dict[str, Any]:
    hook: dict[str, Any] = {
        "url": f"{options.notify_url.rstrip('/')}/alertmanager/{key}",
        "send_resolved": True,
        "max_alerts": options.max_alerts,
    }
    if options.bearer_token_file is not None:
        hook["http_config"] = {"authorization": {"type": "Bearer",
                                                 "credentials_file": str(options.bearer_token_file)}}
    return {"name": f"seamline-{key}", "webhook_configs": [hook]}


def _severity_routes(options: ConfigOptions) -> list[dict[str, Any]]:
    routes = []
    for severity in Severity:
        t = options.timings[severity]
        routes.append({
            "matchers": [f'{SEVERITY}="{severity.value}"'],
            "group_wait": duration(t.group_wait_s),
            "group_interval": duration(t.group_interval_s),
            "repeat_interval": duration(t.repeat_interval_s),
        })
    return routes


def inhibit_rules() -> list[dict[str, Any]]:
    not_gateway = f'{ALERTNAME}!="{GATEWAY_OFFLINE}"'
    source = [f'{ALERTNAME}="{GATEWAY_OFFLINE}"']
    return [
        {"source_matchers": source, "target_matchers": [not_gateway, f'{GATEWAY}=~".+"'],
         "equal": [ENTERPRISE, SITE, GATEWAY]},
        {"source_matchers": source, "target_matchers": [not_gateway, f'{GATEWAY}=""'],
         "equal": [ENTERPRISE, SITE]},
        {"source_matchers": [f'{SEVERITY}="{Severity.CRITICAL.value}"'],
         "target_matchers": [f'{SEVERITY}="{Severity.WARNING.value}"'],
         "equal": [ENTERPRISE, SITE, ASSET, ALERTNAME]},
    ]


def build_config(master: MasterData, options: ConfigOptions = ConfigOptions()) -> dict[str, Any]:
    """The Alertmanager configuration as a mapping (see the module docstring)."""
    ids = [e.id for e in master.enterprises]
    if DEFAULT_KEY in ids:
        raise UsageError(f"enterprise id {DEFAULT_KEY!r} is reserved for alerts of unknown enterprises")
    default = options.timings[Severity.WARNING]
    return {
        "global": {"resolve_timeout": duration(options.resolve_timeout_s)},
        "route": {
            "receiver": f"seamline-{DEFAULT_KEY}",
            "group_by": GROUP_BY,
            "group_wait": duration(default.group_wait_s),
            "group_interval": duration(default.group_interval_s),
            "repeat_interval": duration(default.repeat_interval_s),
            "routes": [
                {"matchers": [f'{ENTERPRISE}="{eid}"'], "receiver": f"seamline-{eid}",
                 "routes": _severity_routes(options)}
                for eid in ids
            ] + [{"matchers": [f'{ENTERPRISE}!=""'], "receiver": f"seamline-{DEFAULT_KEY}",
                  "routes": _severity_routes(options)}],
        },
        "inhibit_rules": inhibit_rules(),
        "receivers": [_receiver(DEFAULT_KEY, options)] + [_receiver(eid, options) for eid in ids],
    }


def render_config(master: MasterData, options: ConfigOptions = ConfigOptions(), *, source: str = "") -> str:
    """The configuration as YAML text, with a header saying where it came from."""
    header = (
        "# Generated by `seamline alerts alertmanager-config`"
        + (f" from {source}" if source else "") + ". Do not edit: regenerate.\n"
        "# Routes per enterprise and severity, webhooks to `seamline notify`, gateway -> asset inhibition.\n"
    )
    return header + yaml.dump(build_config(master, options), Dumper=_NoAliasDumper, sort_keys=False,
                              allow_unicode=True, width=120)


class _NoAliasDumper(yaml.SafeDumper):
    """Spell every repeated list out: an operator reads this file, anchors (&id001) confuse."""

    def ignore_aliases(self, data: Any) -> bool:
        return True
