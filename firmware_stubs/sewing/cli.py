"""``seamline sim sewing``: run a simulated sewing floor against an MQTT broker."""

from __future__ import annotations

import argparse
import re
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from seamline.errors import UsageError
from seamline.firmware_stubs.clock import SimClock
from seamline.firmware_stubs.sewing.floor import FAULT_PRESETS, FloorSpec, run_floor
from seamline.firmware_stubs.sewing.publisher import MqttPublisher, PublishError, parse_broker_url
from seamline.firmware_stubs.sewing.shift import ShiftPattern

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")

def parse_duration_ms(text: str) -> int:
    """``8h``, ``90m``, ``1h30m``, ``3600s`` → milliseconds."""
    m = _DURATION.match(text.strip())
    if not m or not any(m.groups()):
        raise UsageError(f"--duration {text!r}: expected e.g. 8h, 90m, 1h30m or 3600s")
    h, mi, s = (int(g) if g else 0 for g in m.groups())
    ms = ((h * 60 + mi) * 60 + s) * 1000
    if ms <= 0:
        raise UsageError(f"--duration {text!r} must be positive")
    return ms

def parse_start_ms(text: str | None, *, tz: str) -> int:
    """ISO 8601 (naive = local ``tz``), ``now``, or None = today 07:30 local (before the first shift)."""
    zone = ZoneInfo(tz)
    if text is None:
        today = datetime.now(zone).date()
        return int(datetime.combine(today, time(7, 30), tzinfo=zone).timestamp() * 1000)
    if text == "now":
        return int(datetime.now(zone).timestamp()) * 1000
    try:
        dt = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"--start {text!r}: expected ISO 8601 like 2025-03-03T07:30:00+08:00, or 'now'") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone)
    return int(dt.timestamp() * 1000)

def add_sewing_command(sim_sub: Any) -> None:
    p: argparse.ArgumentParser = sim_sub.add_parser("sewing", help="simulated sewing-machine nodes over MQTT")
    p.add_argument("--factories", type=int, default=1, help="number of enterprises f001.. (default 1)")
    p.add_argument("--lines", type=int, default=1, help="lines per factory, line01.. (default 1)")
    p.add_argument("--machines", type=int, default=5, help="machines per line, m001.. (default 5)")
    p.add_argument("--speed", type=float, default=0.0, help="simulated seconds per wall second; 0 = max (default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--broker", default="mqtt://127.0.0.1:1883", help="the gateway's local broker, mqtt://HOST:PORT")
    p.add_argument("--start", default=None, help="ISO start time (naive = Asia/Shanghai), 'now'; default today 07:30")
    p.add_argument("--duration", default="8h", help="simulated duration, e.g. 8h, 90m (default 8h)")
    p.add_argument("--faults", choices=FAULT_PRESETS, default="none", help="fault injection preset")
    p.add_argument("--no-shift", action="store_true", help="ignore the shift calendar: all time is working time")
    p.add_argument("--truth-out", type=Path, default=None, help="write the true state timelines and faults here")
    p.set_defaults(handler=_sewing)

def _sewing(args: argparse.Namespace) -> int:
    shift = ShiftPattern()
    start_ms = parse_start_ms(args.start, tz=shift.tz)
    try:
        parse_broker_url(args.broker)
        spec = FloorSpec(
            factories=args.factories, lines=args.lines, machines=args.machines, seed=args.seed,
            start_ms=start_ms, end_ms=start_ms + parse_duration_ms(args.duration), speed=args.speed,
            shift=None if args.no_shift else shift, faults=args.faults,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if args.speed < 0:
        raise UsageError("--speed must be >= 0")
    publisher = MqttPublisher(args.broker, client_id=f"seamline-sim-sewing-{args.seed}")
    try:
        publisher.connect()
        report = run_floor(spec, publisher=publisher, clock=SimClock(start_ms, args.speed))
    except PublishError as exc:
        print(f"seamline sim sewing: {exc}")
        return 1
    finally:
        publisher.close()
    for key, value in report.totals().items():
        print(f"{key:<20} {value}")
    if args.truth_out:
        args.truth_out.write_bytes(orjson.dumps(report.truth_json()))
        print(f"truth written to {args.truth_out}")
    return 0
