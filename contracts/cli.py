"""``seamline contracts``: inspect the wire contract."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from seamline.contracts.assets import AssetKind, metric_specs
from seamline.contracts.docs import render
from seamline.contracts.examples import examples
from seamline.contracts.schema import write_file_schemas, write_schemas
from seamline.errors import UsageError


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("contracts", help="the wire contract: schemas, units, topics")
    csub = p.add_subparsers(dest="contracts_command", metavar="ACTION", required=True)
    s = csub.add_parser("schema", help="write the JSON Schema of every message kind and file document")
    s.add_argument("dir", nargs="?", default="schemas", type=Path, help="output directory (default: schemas)")
    s.set_defaults(handler=_schema)
    u = csub.add_parser("units", help="list the metrics and units of each asset kind")
    u.set_defaults(handler=_units)
    e = csub.add_parser("examples", help="print an example topic and payload of every message kind")
    e.set_defaults(handler=_examples)
    d = csub.add_parser("docs", help="print docs/contracts.md (topics, units, examples) from the models")
    d.set_defaults(handler=lambda _a: print(render(), end="") or 0)


def _schema(args: argparse.Namespace) -> int:
    if args.dir.exists() and not args.dir.is_dir():
        raise UsageError(f"{args.dir.resolve()}: expected a directory for the schemas, found a file")
    for path in [*write_schemas(args.dir), *write_file_schemas(args.dir)]:
        print(path)
    return 0


def _units(args: argparse.Namespace) -> int:
    for kind in AssetKind:
        print(kind.value)
        for spec in metric_specs(kind).values():
            print(f"  {spec.name:<24} {spec.unit:<10} {spec.type:<6} {spec.description}")
    return 0


def _examples(args: argparse.Namespace) -> int:
    for topic, payload in examples():
        print(topic)
        print(payload.model_dump_json(indent=2, exclude_none=True))
        print()
    return 0
