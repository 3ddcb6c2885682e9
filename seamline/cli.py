"""The ``seamline`` command. Each component registers its own subcommand from its ``cli`` module.

Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error (argparse's convention),
130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from seamline import __version__
from seamline.errors import UsageError

# subcommand -> module that defines ``register(subparsers)``; each handler returns an exit code.
COMMANDS: dict[str, str] = {
    "contracts": "contracts.cli",
    "sim": "firmware_stubs.cli",
    "edge": "edge_agent.cli",
    "ingest": "ingest.cli",
    "db": "ingest.db_cli",
    "rules": "rules.cli",
    "match": "matching.cli",
    "dashboards": "dashboards.cli",
    "demo": "seamline.demo.cli",
    "bench": "bench.cli",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seamline",
        description="Production telemetry for garment clusters and green-energy parks.",
    )
    parser.add_argument("--version", action="version", version=f"seamline {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS.values():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # component not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2) if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args))
    except UsageError as exc:
        print(f"seamline {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
