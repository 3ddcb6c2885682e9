"""What the demo simulates: the cluster's size, the shift replayed, and how fast."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
WORKDAYS = frozenset(range(6))  # Mon-Sat, as the simulated factories' shift pattern


@dataclass(frozen=True, slots=True)
class GatewayOutage:
    """A factory gateway down (power cut) from ``start`` (local time) for ``minutes``: what its
    nodes send meanwhile reaches nothing, as with a real ESP32 whose gateway is gone."""

    enterprise: str
    start: time
    minutes: float


@dataclass(frozen=True, slots=True)
class IdleTwin:
    """``enterprise`` runs as the twin of ``twin_of`` (same styles, machines, operators and seeds)
    except that its ``line`` has no work from ``start`` (local time) for ``minutes``: machines
    powered and idle, nothing to press. The pair shows what an idle line does to the energy."""

    enterprise: str
    twin_of: str
    line: str
    start: time
    minutes: float


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoOptions:
    factories: int = 4
    lines: int = 2
    machines: int = 8
    # Local wall-clock window replayed: the whole working day around the 08:00-17:00 shift.
    window_start: time = time(7, 30)
    window_end: time = time(17, 30)
    speed: float = 400.0  # simulated seconds per wall second
    seed: int = 7
    faults: str = "light"  # sensor-node faults: none | light | heavy
    ingest_workers: int = 2
    energy: bool = True
    upstream_garbage: int = 300  # malformed messages a rogue client publishes to the central broker
    workdir: Path = Path("var/demo")
    day: date | None = None  # default: the most recent working day whose window has ended
    energy_poll_s: float = 0.25  # wall seconds between Modbus polls (x speed = simulated seconds)
    record: bool = False  # keep every node message in memory (end-to-end tests on small runs)
    gateway_outage: GatewayOutage | None = None
    # restart the central broker a third into the replay, then repair with `seamline ingest confirm`
    # (the summary's `repaired` and `definitively_lost`); False: `seamline demo --no-broker-restart`
    broker_restart: bool = True
    # f004 is f003's twin with line01 idle 09:00-11:00 (left out when the cluster has no f004)
    idle_twin: IdleTwin | None = IdleTwin("f004", "f003", "line01", time(9, 0), 120.0)
    energy_config: Path | None = None  # energy simulation config; default the packaged one
    # TLS, client certificates and the ACL on the central broker, InfluxDB auth (seamline.demo.secured);
    # False = the open broker and database of `seamline demo --insecure`
    secure: bool = True

    @classmethod
    def quick(cls, **kw: object) -> DemoOptions:
        """About 40 s: two small factories, a morning replayed at 1 000x."""
        base = cls(factories=2, lines=1, machines=6, window_start=time(7, 50), window_end=time(12, 10),
                   speed=1000.0, ingest_workers=2, upstream_garbage=100)
        return replace(base, **kw)  # type: ignore[arg-type]

    @property
    def enterprises(self) -> list[str]:
        return [f"f{i:03d}" for i in range(1, self.factories + 1)]


def replay_day(opts: DemoOptions, now: datetime) -> date:
    """The most recent working day whose window ended before ``now`` (local time)."""
    if opts.day is not None:
        return opts.day
    local = now.astimezone(TZ)
    day = local.date()
    if local.time() < opts.window_end:
        day -= timedelta(days=1)
    while day.weekday() not in WORKDAYS:
        day -= timedelta(days=1)
    return day


def outage_ms(opts: DemoOptions, day: date) -> tuple[str, int, int] | None:
    """(enterprise, start, end) of the gateway outage, UTC epoch ms."""
    o = opts.gateway_outage
    if o is None:
        return None
    start = int(datetime.combine(day, o.start, tzinfo=TZ).timestamp() * 1000)
    return o.enterprise, start, start + int(o.minutes * 60_000)


def idle_twin_ms(opts: DemoOptions, day: date) -> tuple[IdleTwin, int, int] | None:
    """The idle twin and its idle span (UTC epoch ms), when both its factories are simulated."""
    t = opts.idle_twin
    lines = {f"line{i:02d}" for i in range(1, opts.lines + 1)}
    if t is None or not {t.enterprise, t.twin_of} <= set(opts.enterprises) or t.line not in lines:
        return None
    start = int(datetime.combine(day, t.start, tzinfo=TZ).timestamp() * 1000)
    return t, start, start + int(t.minutes * 60_000)


def window_ms(opts: DemoOptions, day: date) -> tuple[int, int]:
    """(start, end) of the replayed window, UTC epoch ms."""
    start = datetime.combine(day, opts.window_start, tzinfo=TZ)
    end = datetime.combine(day, opts.window_end, tzinfo=TZ)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)
