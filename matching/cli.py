"""``seamline match``: allocate an order book to measured capacity and print / publish the plan.

    seamline match --orders orders.csv --capacity capacity.json [--profiles profiles.yaml]
                   [--broker mqtt://127.0.0.1:1883] [--publish] [--summary-out plan-summary.json]
                   [--json] [--strict] [--time-limit 20] [--today 2030-01-07]
                   [--carbon carbon.json] [--prefer-grades 1 [--grades grades.json]]

Capacity comes from ``--capacity`` (a JSON file or http(s) URL with a list of CapacityMessage)
or, without it, from the retained capacity topics on ``--broker``. ``--publish`` sends the plan
to ``--broker``, retained, per line: an ``AllocationMessage`` and a ``BookingsMessage`` (the
standard minutes the rules capacity feed subtracts) for every line of the capacity input and
every line with earlier bookings (``matching.publisher``). ``--summary-out`` writes the plan's
``PlanSummary`` (contracts: its id, and every unmet order with its reason) for ``seamline report``;
orders' green requirements use each line's green share and kg CO2e per piece from its capacity
message, else from ``--carbon`` or the broker's retained carbon messages; ``--prefer-grades 1``
prefers A/B-graded factories on ties (grades from ``--grades`` or the broker's retained ones);
with ``--publish`` it is written only once the plan is published. Exit 2 on usage errors, and with
``--strict`` on any rejected order row; exit 1 when the broker fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from seamline.contracts.carbon import CarbonMessage
from seamline.contracts.grades import GradeMessage
from seamline.errors import UsageError
from seamline.matching import capacity_feed, plausibility
from seamline.matching.bookings import PlanTooLargeError, plan_messages, render_table
from seamline.matching.capacity import LineCapacity, LineKey, from_messages, with_carbon
from seamline.matching.grades import with_grades
from seamline.matching.models import AllocationPlan, Order, ProfileBook
from seamline.matching.neighbourhood import SearchOptions, default_search_threads
from seamline.matching.objective import PreferenceWeights
from seamline.matching.order_book import parse_orders, read_rows
from seamline.matching.plan_record import RecordError, record_plan
from seamline.matching.planner import DEFAULT_TIME_BUDGET_S, MatchOptions, plan_orders
from seamline.matching.profiles import load_profiles
from seamline.matching.publisher import MqttPublisher, PublishError, booked_lines, publish_plan
from seamline.matching.retained import BrokerUnavailableError
from seamline.matching.solver import SolveOptions
from seamline.matching.summary import plan_summary, write_summary
from seamline.mqtt_identity import MqttIdentity
from seamline.mqtt_identity_cli import add_identity_options, http_auth, identity_from_args


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("match", help="allocate buyers' orders to measured capacity")
    p.add_argument("--orders", type=_full_path, required=True, help="order book: .csv, .json or .yaml")
    p.add_argument("--capacity", help="capacity: JSON file or http(s) URL (default: retained MQTT)")
    p.add_argument("--broker", help="mqtt://host:port or mqtts://host:port (TLS) for capacity (without --capacity) "
                                    "and --publish")
    add_identity_options(p)
    p.add_argument("--capacity-token-file", metavar="FILE", help="bearer token for an http(s) --capacity URL")
    p.add_argument("--capacity-token-env", metavar="VAR", help="environment variable holding that token")
    p.add_argument("--capacity-ca", metavar="FILE", help="CA of an https --capacity endpoint's certificate")
    p.add_argument("--profiles", type=_full_path, help="factory profiles .yaml/.json (default: neutral)")
    p.add_argument("--publish", action="store_true",
                   help="publish the plan retained on the allocation and bookings topics of every line")
    p.add_argument("--summary-out", type=_full_path, default=None,
                   help="write the plan summary (plan id, unmet orders with reasons) as JSON for seamline report")
    p.add_argument("--json", action="store_true", help="print the plan as JSON instead of a table")
    p.add_argument("--strict", action="store_true", help="exit 2 if any order row was rejected")
    p.add_argument("--check", action="store_true",
                   help="check the inputs only (orders, profiles, a capacity file): print a summary, exit 2 on any "
                        "rejected row or capacity message, solve nothing, connect nowhere")
    p.add_argument("--time-limit", type=float, default=20.0, help="solver seconds (default 20)")
    p.add_argument("--time-budget", type=float, default=DEFAULT_TIME_BUDGET_S,
                   help="seconds the plan aims to take: the neighbourhood search stops early enough for the "
                        f"steps after it (default {DEFAULT_TIME_BUDGET_S:g}; 0: only its own deadline)")
    p.add_argument("--search-threads", type=int, default=default_search_threads(),
                   help="workers of the neighbourhood search at the cluster size (default: 2 where two CPUs are "
                        f"free, else 1; here {default_search_threads()})")
    p.add_argument("--split-penalty", type=float, default=None, help="std-min per factory an order uses")
    p.add_argument("--today", type=date.fromisoformat, default=None, help="plan date (default: today)")
    p.add_argument("--carbon", type=_full_path, default=None,
                   help="JSON list of CarbonMessage (green share, kg CO2e per piece per line) for orders' green "
                        "requirements (default with --broker: the rules carbon feed's retained messages)")
    p.add_argument("--grades", type=_full_path, default=None,
                   help="JSON list of GradeMessage (default with --broker and --prefer-grades: retained grades)")
    p.add_argument("--prefer-grades", default=None, metavar="GRADE_INDEX", type=int,
                   help="prefer factories graded at this grade index or better on ties (1: A and B)")
    p.add_argument("--influx-config", type=_full_path, default=None,
                   help="YAML with an `influx:` block (the rules or ingest config): record the plan's allocated "
                        "and unmet orders in RP kpi (plan_orders) for dashboards")
    p.set_defaults(handler=run)


def _full_path(text: str) -> Path:
    """A file argument made absolute: every message about it names the full path."""
    return Path(text).resolve()


def match_options(args: argparse.Namespace, solve: SolveOptions) -> MatchOptions:
    """The planner's options from the command line."""
    return MatchOptions(solve=solve, weights=PreferenceWeights(prefer_grade_index_max=args.prefer_grades),
                        time_budget_s=args.time_budget if args.time_budget > 0 else None,
                        search=SearchOptions(threads=args.search_threads))


def run(args: argparse.Namespace) -> int:
    today: date = args.today or date.today()
    if args.time_limit <= 0:
        raise UsageError(f"--time-limit must be > 0, got {args.time_limit}")
    if args.time_budget < 0:
        raise UsageError(f"--time-budget must be >= 0, got {args.time_budget}")
    if args.search_threads < 1:
        raise UsageError(f"--search-threads must be >= 1, got {args.search_threads}")
    if args.publish and not args.broker:
        raise UsageError("--publish needs --broker")
    book = load_profiles(args.profiles)
    rows, source = read_rows(args.orders)
    parsed = parse_orders(rows, source=source, today=today, categories=book.categories)
    if args.check:
        return _check_inputs(args, parsed.orders, parsed.errors, book)
    identity = identity_from_args(args)
    try:
        feed = _capacity(args, identity)
    except BrokerUnavailableError as exc:
        print(f"seamline match: no capacity: {exc}", file=sys.stderr)
        return 1
    screened = plausibility.screen(feed.messages)  # the one gate every capacity source passes
    feed = capacity_feed.Feed(screened.accepted, [*feed.rejected, *screened.refused])
    for msg in feed.rejected:
        print(f"capacity rejected: {msg}", file=sys.stderr)
    solve = SolveOptions(time_limit_s=args.time_limit)
    if args.split_penalty is not None:
        solve = SolveOptions(time_limit_s=args.time_limit, split_penalty_std_min=args.split_penalty)
    try:
        capacity, book = _green_and_grades(args, from_messages(feed.messages, today=today), book,
                                           needs_green=any(o.has_green_requirement for o in parsed.orders),
                                           identity=identity)
    except BrokerUnavailableError as exc:
        print(f"seamline match: no carbon or grade messages: {exc}", file=sys.stderr)
        return 1
    result = plan_orders(
        parsed.orders,
        capacity,
        book,
        options=match_options(args, solve),
        errors=parsed.errors,
        invalid=parsed.invalid,
    )
    plan = result.plan
    if args.json:
        print(json.dumps(plan.model_dump(mode="json"), indent=1))
    else:
        print(render_table(plan))
    for err in plan.errors:
        print(f"seamline match: {err}", file=sys.stderr)
    plan_id, now_ms = uuid.uuid4().hex[:16], int(time.time() * 1000)
    if args.publish:
        lines = {LineKey(enterprise=m.enterprise, site=m.site, line=m.line) for m in feed.messages}
        try:
            _publish(args.broker, plan, parsed.orders, lines, plan_id=plan_id, now_ms=now_ms, identity=identity)
        except (BrokerUnavailableError, PublishError, PlanTooLargeError) as exc:
            print(f"seamline match: plan not published: {exc}", file=sys.stderr)
            return 1
    if args.influx_config is not None:
        try:
            n = record_plan(args.influx_config, plan, parsed.orders)
        except RecordError as exc:
            print(f"seamline match: plan not recorded: {exc}", file=sys.stderr)
            return 1
        print(f"seamline match: recorded the plan's outcome in InfluxDB ({n} plan_orders points)", file=sys.stderr)
    if args.summary_out is not None:
        summary = plan_summary(plan, {o.order_id: o for o in parsed.orders}, plan_id=plan_id, now_ms=now_ms,
                               plan_day=today, published=bool(args.publish), valid_orders=len(parsed.orders))
        write_summary(args.summary_out, summary)
        print(f"seamline match: plan summary {plan_id} written to {args.summary_out} "
              f"({len(summary.unmet)} unmet)", file=sys.stderr)
    return 2 if args.strict and plan.errors else 0


def _publish(broker: str, plan: AllocationPlan, orders: Sequence[Order], lines: set[LineKey], *, plan_id: str,
             now_ms: int, identity: MqttIdentity | None) -> None:
    """Publish the plan for ``lines`` and every line with earlier bookings on ``broker``."""
    earlier = booked_lines(broker, identity)
    messages = plan_messages(plan, {o.order_id: o for o in orders}, lines=lines | earlier,
                             plan_id=plan_id, now_ms=now_ms)
    pub = MqttPublisher(broker, identity)
    try:
        publish_plan(messages, pub)
    finally:
        pub.close()
    emptied = sum(1 for b in messages.bookings if not b.days)
    print(f"seamline match: published plan {messages.plan_id}: allocation and bookings of "
          f"{len(messages.bookings)} lines ({emptied} without bookings)", file=sys.stderr)


def _green_and_grades(args: argparse.Namespace, lines: list[LineCapacity], book: ProfileBook, *,
                      needs_green: bool, identity: MqttIdentity | None) -> tuple[list[LineCapacity], ProfileBook]:
    """Lines with the carbon feed's figures filled in (from the broker only when an order has a
    green requirement), and profiles with grades (only read when the grade preference is on)."""
    if args.prefer_grades is not None and args.prefer_grades < 0:
        raise UsageError(f"--prefer-grades must be >= 0, got {args.prefer_grades}")
    sides: list[tuple[str, capacity_feed.Side]] = []
    if args.carbon is not None:
        sides.append(("carbon", capacity_feed.side_from_file(args.carbon, CarbonMessage, key="carbon")))
    elif args.broker and needs_green:
        sides.append(("carbon", capacity_feed.carbon_from_mqtt(args.broker, identity=identity)))
    if args.prefer_grades is not None:
        if args.grades is not None:
            sides.append(("grades", capacity_feed.side_from_file(args.grades, GradeMessage, key="grades")))
        elif args.broker:
            sides.append(("grades", capacity_feed.grades_from_mqtt(args.broker, identity=identity)))
    for kind, side in sides:
        for msg in side.rejected:
            print(f"{kind} rejected: {msg}", file=sys.stderr)
        if kind == "carbon":
            lines = with_carbon(lines, side.messages)
        else:
            book = with_grades(book, side.messages)
    return lines, book


def _check_inputs(args: argparse.Namespace, orders: list[Any], errors: list[Any], book: Any) -> int:
    """``match --check``: the order book, the profiles and a capacity file, validated; no solve."""
    for err in errors:
        print(f"seamline match: {err}", file=sys.stderr)
    print(f"{Path(args.orders).resolve()}: {len(orders)} orders valid, {len(errors)} problems")
    print(f"profiles: {args.profiles.resolve() if args.profiles else '(neutral)'}: "
          f"{len(book.categories) if book.categories is not None else 'any'} categories")
    rejected = 0
    if args.capacity and not args.capacity.startswith(("http://", "https://")):
        feed = plausibility.screen(capacity_feed.from_file(Path(args.capacity).resolve()).messages)
        rejected = len(feed.refused)
        for msg in feed.refused:
            print(f"capacity rejected: {msg}", file=sys.stderr)
        print(f"{Path(args.capacity).resolve()}: {len(feed.accepted)} capacity messages, {rejected} refused")
    elif args.capacity or args.broker:
        print("capacity: from the network, not checked here (--check connects nowhere)")
    return 2 if errors or rejected else 0


def _capacity(args: argparse.Namespace, identity: MqttIdentity | None) -> capacity_feed.Feed:
    if args.capacity:
        if args.capacity.startswith(("http://", "https://")):
            return capacity_feed.from_http(args.capacity, **http_auth(args))
        return capacity_feed.from_file(Path(args.capacity).resolve())
    if args.broker:
        return capacity_feed.from_mqtt(args.broker, identity=identity)
    raise UsageError("give --capacity FILE|URL or --broker mqtt://host:port")
