"""``seamline demo``: the simulated cluster end to end, with a counted summary."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from seamline.demo.plan import DemoOptions
from seamline.errors import UsageError


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "demo", help="run a simulated cluster end to end and print what was produced, stored, lost")
    p.add_argument("--quick", action="store_true", help="a short run: 2 small factories, one morning replayed in ~16 s")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")
    p.add_argument("--factories", type=int, help="factories (each with its own gateway)")
    p.add_argument("--lines", type=int, help="sewing lines per factory")
    p.add_argument("--machines", type=int, help="machines per line")
    p.add_argument("--speed", type=float, help="simulated seconds per wall second")
    p.add_argument("--seed", type=int)
    p.add_argument("--faults", choices=("none", "light", "heavy"), help="sensor-node faults")
    p.add_argument("--no-energy", action="store_true", help="leave out the Modbus energy equipment")
    p.add_argument("--broker-restart", action=argparse.BooleanOptionalAction, default=None,
                   help="restart the central broker mid-replay, then repair with seamline ingest confirm "
                        "(default: on; --no-broker-restart leaves it out)")
    p.add_argument("--insecure", action="store_true",
                   help="no TLS, certificates, ACL or InfluxDB auth (the demo is secured by default)")
    p.add_argument("--workdir", type=Path, help="where servers keep data and logs (default var/demo)")
    p.add_argument("--energy-config", type=Path,
                   help="energy simulation config: loads, tariff, battery dispatch (default: the packaged one)")
    p.set_defaults(handler=_demo)


def options_from(args: argparse.Namespace) -> DemoOptions:
    opts = DemoOptions.quick() if args.quick else DemoOptions()
    changes: dict[str, Any] = {k: getattr(args, k) for k in ("factories", "lines", "machines", "speed", "seed",
                                                            "faults", "workdir", "energy_config")
                               if getattr(args, k) is not None}
    if args.no_energy:
        changes["energy"] = False
    if args.insecure:
        changes["secure"] = False
    if args.broker_restart is not None:
        changes["broker_restart"] = args.broker_restart
    for k in ("factories", "lines", "machines"):
        if k in changes and not 1 <= changes[k] <= 999:
            raise UsageError(f"--{k} must be 1..999, got {changes[k]}")
    if "speed" in changes and not 1 <= changes["speed"] <= 5000:
        raise UsageError(f"--speed must be 1..5000, got {changes['speed']}")
    return replace(opts, **changes)


def _demo(args: argparse.Namespace) -> int:
    from seamline.demo.main import run_demo
    from seamline.demo.report import table

    summary = run_demo(options_from(args), progress=sys.stderr)
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True, default=str))
    else:
        print(table(summary))
    return 0 if summary["lost"] == 0 and summary["duplicates"] == 0 else 1
