"""``seamline grade``: per-mu grading of a period — the county's figures (``--inputs``), its method
(``--method``), the energy the meters measured (the rules engine's daily points in InfluxDB,
``--config`` is the rules service's config) — printed, written as ``grade`` points and published
retained per enterprise. See grading/README.md."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "grade", help="per-mu grading (亩均): the county's figures, its method and the metered energy")
    p.add_argument("--period", required=True, help="2026, 2026H1, 2026Q3 or 2026-09")
    p.add_argument("--inputs", type=Path, required=True, help="county figures: .csv (UTF-8 or GBK) or .xlsx")
    p.add_argument("--method", type=Path, required=True, help="the county's method (YAML, see grading/samples)")
    p.add_argument("--config", type=Path, required=True, help="the rules config (influx, mqtt, master_data)")
    p.add_argument("--encoding", help="encoding of a CSV (default: UTF-8, else GB18030)")
    p.add_argument("--sheet", help="sheet of an .xlsx (default: the first)")
    p.add_argument("--json", action="store_true", help="print the grades as JSON")
    p.add_argument("--no-write", action="store_true", help="do not write the grade points to InfluxDB")
    p.add_argument("--no-publish", action="store_true", help="do not publish the grade messages on MQTT")
    p.set_defaults(handler=_grade)


def _grade(args: argparse.Namespace) -> int:
    from seamline.grading.run import GradeRun, grade_period
    from seamline.rules.mqtt_publisher import PublishError
    from seamline.storage.query_errors import QueryError

    try:
        run: GradeRun = grade_period(period=args.period, inputs=args.inputs, method=args.method, config=args.config,
                                     encoding=args.encoding, sheet=args.sheet, write=not args.no_write,
                                     publish=not args.no_publish)
    except (QueryError, PublishError) as exc:
        print(f"seamline grade: {exc}", file=sys.stderr)
        return 1
    for line in run.problems:
        print(line, file=sys.stderr)
    if args.json:
        json.dump(run.as_json(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(run.table())
    return 0

