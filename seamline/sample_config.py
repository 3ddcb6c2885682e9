"""``seamline <service> sample-config``: the commented sample configuration a service ships with
(every key, its default and its unit), printed from the installed package so an operator can start
from it on a machine without the source tree: ``seamline ingest sample-config > /etc/seamline/ingest.yaml``."""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from typing import Any

# service -> (package, file name) of its sample
SAMPLES = {
    "edge": ("seamline.edge_agent", "edge.sample.yaml"),
    "ingest": ("seamline.ingest", "ingest.sample.yaml"),
    "rules": ("seamline.rules", "rules.sample.yaml"),
}


def sample_text(service: str) -> str:
    package, name = SAMPLES[service]
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")


def add_sample_config(subparsers: Any, service: str) -> None:
    """Register ``sample-config`` under a service's subcommands."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "sample-config", help=f"print the commented sample {service} config (every key, default and unit)")
    p.set_defaults(handler=lambda _args: _print(service))


def _print(service: str) -> int:
    sys.stdout.write(sample_text(service))
    return 0
