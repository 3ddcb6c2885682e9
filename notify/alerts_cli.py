"""``seamline alerts alertmanager-config``: Alertmanager's config from master data (base install
only: master data and YAML)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from seamline.contracts.alerts import Severity
from seamline.errors import UsageError
from seamline.notify.am_config import DEFAULT_TIMINGS, ConfigOptions, Timings, render_config

_DEFAULTS = ConfigOptions()


def _seconds(text: str) -> float:
    """``90``, ``90s``, ``5m``, ``1h``, ``500ms`` -> seconds."""
    factors = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
    suffix = "ms" if text.endswith("ms") else (text[-1:] if text[-1:] in factors else "")
    try:
        value = float(text[: len(text) - len(suffix)]) * factors.get(suffix, 1.0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a duration like 30s, 5m, 1h, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"duration must be > 0, got {text!r}")
    return value


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("alerts", help="alerts: Alertmanager configuration")
    asub = p.add_subparsers(dest="alerts_command", metavar="SUBCOMMAND", required=True)
    c = asub.add_parser("alertmanager-config", help="generate alertmanager.yml from master data")
    c.add_argument("--master", type=Path, required=True, help="master data YAML (rules/master_data.sample.yaml)")
    c.add_argument("--out", type=Path, help="write here instead of stdout")
    c.add_argument("--notify-url", default=_DEFAULTS.notify_url,
                   help="where `seamline notify` listens (default %(default)s)")
    c.add_argument("--bearer-token-file", type=Path,
                   help="file with the token `seamline notify` expects (auth.bearer_token in notify.yaml)")
    c.add_argument("--resolve-timeout", type=_seconds, default=_DEFAULTS.resolve_timeout_s, metavar="DURATION")
    for severity in Severity:
        t = DEFAULT_TIMINGS[severity]
        for name, value in (("group-wait", t.group_wait_s), ("group-interval", t.group_interval_s),
                            ("repeat-interval", t.repeat_interval_s)):
            c.add_argument(f"--{severity.value}-{name}", type=_seconds, default=value, metavar="DURATION",
                           help=f"default {value:g} s")
    c.set_defaults(handler=_config)


def _config(args: argparse.Namespace) -> int:
    from seamline.rules.master_data import load_master_data

    master = load_master_data(args.master)
    try:
        timings = {s: Timings(group_wait_s=getattr(args, f"{s.value}_group_wait"),
                              group_interval_s=getattr(args, f"{s.value}_group_interval"),
                              repeat_interval_s=getattr(args, f"{s.value}_repeat_interval"))
                   for s in Severity}
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not args.notify_url.startswith(("http://", "https://")):
        raise UsageError(f"--notify-url: expected http:// or https://, got {args.notify_url!r}")
    options = replace(ConfigOptions(), notify_url=args.notify_url, bearer_token_file=args.bearer_token_file,
                      timings=timings, resolve_timeout_s=args.resolve_timeout)
    text = render_config(master, options, source=str(args.master))
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0
