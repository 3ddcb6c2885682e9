"""The ``seamline`` command, the one composition root of the command line.

Each component registers its own subcommand from its ``cli`` module, and only the component whose
subcommand runs is imported: a gateway running ``seamline edge run`` never loads numpy, InfluxDB
or the optimiser. A subcommand whose extra is not installed says which extra to install.

Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error (argparse's convention),
130 interrupted (SIGINT), 143 stopped by SIGTERM (services stop gracefully first). Every failure is
one line on stderr; ``--debug`` shows the traceback of an unexpected one.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import re
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass

from seamline import __version__
from seamline.errors import InputError, UnavailableError


@dataclass(frozen=True, slots=True)
class Command:
    module: str  # defines ``register(subparsers)``; each handler returns an exit code
    extra: str | None  # the install extra that brings its dependencies (None: the base install)
    help: str


COMMANDS: dict[str, Command] = {
    "contracts": Command("seamline.contracts.cli", None, "the wire contract: schemas, units, examples, docs"),
    "sim": Command("seamline.firmware_stubs.cli", "sim", "simulated devices (sewing nodes, energy equipment)"),
    "edge": Command("seamline.edge_agent.cli", "edge", "the edge agent that runs on a factory gateway"),
    "ingest": Command("seamline.ingest.cli", "ingest", "MQTT -> InfluxDB with validation and quarantine"),
    "db": Command("seamline.ingest.db_cli", "ingest", "InfluxDB: create databases and retention policies, query"),
    "rules": Command("seamline.rules.cli", "rules", "KPIs with coverage, capacity feed"),
    "match": Command("seamline.matching.cli", "matching", "allocate orders to measured free capacity"),
    "capacity-endpoint": Command("seamline.matching.capacity_endpoint_cli", "matching",
                                 "the capacity HTTP endpoint rules posts to and match reads (bearer token)"),
    "dashboards": Command("seamline.dashboards.cli", "dashboards",
                          "Grafana dashboards: export provisioning files or provision"),
    "grade": Command("seamline.grading.cli", "grading", "per-mu grading (亩均): scores, ranks, grades A-D"),
    "alerts": Command("seamline.notify.alerts_cli", None, "alerts: generate the Alertmanager configuration"),
    "notify": Command("seamline.notify.cli", "notify", "alert delivery: DingTalk, WeCom, Feishu, e-mail, webhooks"),
    "pki": Command("seamline.security.cli", "security", "cluster CA, gateway and service certificates, CRL"),
    "broker-config": Command("seamline.security.broker_config_cli", "security",
                             "broker config, ACL and password file from master data and the PKI"),
    "report": Command("seamline.report.cli", "report", "daily HTML report of a factory or the cluster (offline page)"),
    "systemd": Command("seamline.deploy.cli", None, "systemd units, sysusers.d and tmpfiles.d for the services"),
    "status": Command("seamline.status_cli", None, "a running service's health (its /metrics), for a person"),
    "demo": Command("seamline.demo.cli", "all", "the simulated cluster end to end"),
}


class MissingExtraError(Exception):
    """A subcommand needs a Python package that its extra would have installed."""

    def __init__(self, command: str, missing: str) -> None:
        extra = COMMANDS[command].extra
        target = f"seamline[{extra}]" if extra else "seamline"
        super().__init__(f"seamline {command}: {missing} is not installed; install it with: pip install '{target}'")


# One requirement line of the wheel's METADATA: name, [extras], version, ; extra == "x"
_REQUIRES_DIST = re.compile(
    r'^Requires-Dist:\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?[^;]*(?:;\s*extra\s*==\s*"([^"]+)")?\s*$'
)


def extra_requirements(metadata_headers: str, extra: str) -> list[str]:
    """Distribution names that ``seamline[extra]`` adds to the base install, read from the METADATA
    headers (pyproject.toml's extras as the wheel carries them; ``seamline[a,b]`` entries expanded)."""
    by_extra: dict[str, list[tuple[str, list[str]]]] = {}
    for line in metadata_headers.splitlines():
        m = _REQUIRES_DIST.match(line)
        if m and m.group(3):
            extras = [x.strip() for x in (m.group(2) or "").split(",") if x.strip()]
            by_extra.setdefault(m.group(3), []).append((m.group(1), extras))
    names: list[str] = []
    todo, seen = [extra], set()
    while todo:
        e = todo.pop()
        if e in seen:
            continue
        seen.add(e)
        for name, extras in by_extra.get(e, []):
            if name.lower() == "seamline":
                todo += extras
            elif name not in names:
                names.append(name)
    return names


def _missing_distribution(extra: str) -> str | None:
    """The first distribution of ``seamline[extra]`` that is not installed; None when all are, or when
    seamline runs from a source tree without installed metadata (nothing to compare with).

    Checked before the component is imported, so ``seamline ingest --help`` on a gateway already says
    what to install instead of showing options of a command that cannot run."""
    from importlib import metadata  # pydantic imports it anyway; ~1 ms of lookups here

    try:
        dist = metadata.distribution("seamline")
        text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""  # wheel or egg-info
    except metadata.PackageNotFoundError:
        return None
    for name in extra_requirements(text.split("\n\n", 1)[0], extra):
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            return name
    return None


def _third_party(exc: ModuleNotFoundError) -> str | None:
    """The missing top-level module if it is not one of ours (ours missing is a bug, not an extra)."""
    root = (exc.name or "").split(".")[0]
    return root if root and root != "seamline" else None


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line, found without importing any component."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with ``command``'s component registered (all others listed by name and help only)."""
    parser = argparse.ArgumentParser(
        prog="seamline",
        description="Production telemetry for garment clusters and green-energy parks.",
    )
    parser.add_argument("--version", action="version", version=f"seamline {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="count", default=0, help="less log output (-q warnings, -qq errors)")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an unexpected failure")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, spec in COMMANDS.items():
        if name != command:
            sub.add_parser(name, help=spec.help, add_help=False)
            continue
        package = _missing_distribution(spec.extra) if spec.extra else None
        if package is not None:
            raise MissingExtraError(name, f"Python package {package!r}")
        try:
            module = importlib.import_module(spec.module)
        except ModuleNotFoundError as exc:
            missing = _third_party(exc)
            if missing is None:
                raise
            raise MissingExtraError(name, f"Python module {missing!r}") from None
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _command_of(argv)
    try:
        parser = build_parser(command)
    except MissingExtraError as exc:
        print(exc, file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    configure_logging(verbose=args.verbose, quiet=args.quiet)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args))
    except InputError as exc:  # every component's input errors, UsageError among them
        return _fail(args, exc, 2)
    except UnavailableError as exc:
        return _fail(args, exc, 1)
    except ModuleNotFoundError as exc:
        missing = _third_party(exc)
        if missing is None:
            return _unexpected(args, exc)
        print(MissingExtraError(args.command, f"Python module {missing!r}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        return 0
    except Exception as exc:  # the last line of defence: one line, not a traceback
        return _unexpected(args, exc)


def configure_logging(*, verbose: int, quiet: int) -> None:
    """INFO by default; each -v one step more (DEBUG), each -q one step less (WARNING, ERROR)."""
    level = logging.INFO - 10 * min(verbose, 1) + 10 * min(quiet, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def _fail(args: argparse.Namespace, exc: BaseException, code: int) -> int:
    if args.debug:
        traceback.print_exc()
    print(f"seamline {args.command}: error: {_one_line(str(exc))}", file=sys.stderr)
    return code


def _one_line(text: str) -> str:
    """A multi-line message (several problems of one file) as one line per problem is kept; blank
    lines and trailing spaces go."""
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())


def _unexpected(args: argparse.Namespace, exc: BaseException) -> int:
    """A failure no component mapped to a typed error: its type and message, exit 1; the traceback
    only with --debug (a bug report wants it, an operator does not)."""
    if args.debug:
        traceback.print_exc()
        return 1
    print(f"seamline {args.command}: error: {type(exc).__name__}: {_one_line(str(exc))} "
          "(run with --debug for the traceback)", file=sys.stderr)
    return 1

if __name__ == "__main__":
    raise SystemExit(main())
