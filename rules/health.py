"""What ``seamline rules run`` says on ``/metrics``: each job's last duration and last success,
runs that failed or started late (APScheduler misfires: windows computed late or not at all), the
windows late per window job (closed windows past due that no tick has covered), alert evaluations
that failed, and whether this replica holds the lease. Fed by APScheduler's job events; served by
the stdlib :mod:`seamline.metrics_http` (the rules extra carries no prometheus-client)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from seamline.metrics_http import Family, family
from seamline.rules.windows import WindowSize, windows_ending_in

# Window jobs are ``<size>@<zone>`` (rules.jobs.schedule): 5m, 1h, 1d windows aligned in that zone.
_WINDOW_SIZES = {s.value for s in WindowSize}


@dataclass(frozen=True, slots=True)
class LateWindows:
    """When a closed window is late: its end + ``delay_s`` (the tick's cron offset) + ``grace_s``
    (a tick may start that much late, APScheduler's misfire grace, and still cover it)."""

    delay_s: float
    grace_s: float


def window_jobs(job_ids: list[str]) -> dict[str, tuple[WindowSize, ZoneInfo]]:
    """The window jobs among ``job_ids``: id -> (size, zone)."""
    out = {}
    for job in job_ids:
        size, _, zone = job.partition("@")
        if size in _WINDOW_SIZES and zone:
            out[job] = (WindowSize(size), ZoneInfo(zone))
    return out


class RulesHealth:
    """Job outcomes by job id (``5m@Asia/Shanghai``, ``capacity``, ``lease``...). Thread-safe."""

    def __init__(self, *, holder: str, clock: Callable[[], float] = time.time,
                 windows: Mapping[str, tuple[WindowSize, ZoneInfo]] | None = None,
                 late: LateWindows | None = None, alert_failures: Callable[[], int] | None = None) -> None:
        """``windows``: the window jobs (:func:`window_jobs`); each covers its windows up to its
        last good run's due time, from start-up on (older windows are the ledger's or a backfill's).
        ``alert_failures``: evaluations that failed on InfluxDB (the alerts job itself returns)."""
        self.holder = holder
        self._clock = clock
        self._windows = dict(windows or {})
        self._late = late or LateWindows(delay_s=0.0, grace_s=0.0)
        self._alert_failures = alert_failures
        started = clock()
        self.covered_until: dict[str, float] = {job: started for job in self._windows}  # unix s
        self._lock = threading.Lock()
        self.duration_s: dict[str, float] = {}
        self.last_success: dict[str, float] = {}  # unix seconds
        self.failures: dict[str, int] = {}
        self.missed: dict[str, int] = {}
        self.lease_held = False

    def finished(self, job_id: str, *, ok: bool, retval: object = None, scheduled_s: float | None = None) -> None:
        """A run ended; ``scheduled_s`` (unix seconds) is when it was due: the duration counts from
        there (APScheduler reports no start time; a run that waited for a worker thread is slower)."""
        with self._lock:
            now = self._clock()
            if scheduled_s is not None:
                self.duration_s[job_id] = max(0.0, now - scheduled_s)
            if ok:
                self.last_success[job_id] = now
                if job_id == "lease":
                    self.lease_held = retval is not None
                if job_id in self._windows and not getattr(retval, "fenced", False):
                    # a tick covers every window closed by its due time (skipped: another replica's)
                    self.covered_until[job_id] = max(self.covered_until[job_id], scheduled_s or now)
            else:
                self.failures[job_id] = self.failures.get(job_id, 0) + 1

    def missed_run(self, job_id: str) -> None:
        with self._lock:
            self.missed[job_id] = self.missed.get(job_id, 0) + 1

    def listen(self, scheduler: Any) -> None:
        """Follow an APScheduler 3.x scheduler's job events."""
        from apscheduler import events as ev

        def on_event(event: Any) -> None:
            scheduled = getattr(event, "scheduled_run_time", None)
            scheduled_s = scheduled.timestamp() if scheduled is not None else None
            if event.code == ev.EVENT_JOB_EXECUTED:
                self.finished(event.job_id, ok=True, retval=event.retval, scheduled_s=scheduled_s)
            elif event.code == ev.EVENT_JOB_ERROR:
                self.finished(event.job_id, ok=False, scheduled_s=scheduled_s)
            elif event.code == ev.EVENT_JOB_MISSED:
                self.missed_run(event.job_id)

        scheduler.add_listener(on_event, ev.EVENT_JOB_EXECUTED | ev.EVENT_JOB_ERROR | ev.EVENT_JOB_MISSED)

    def windows_late(self) -> dict[str, int]:
        """Per window job: closed windows past due (end + delay + grace <= now) not covered by a tick."""
        until = datetime.fromtimestamp(self._clock() - self._late.delay_s - self._late.grace_s, UTC)
        with self._lock:
            covered = dict(self.covered_until)
        return {job: windows_ending_in(datetime.fromtimestamp(covered[job], UTC), until, size, tz)
                for job, (size, tz) in sorted(self._windows.items())}

    def families(self) -> list[Family]:
        late = self.windows_late()
        extra = [family("seamline_rules_windows_late", "gauge",
                        "Closed windows past due (end + jobs.delay_s + jobs.misfire_grace_s) no tick has covered",
                        by=[({"job": j}, n) for j, n in late.items()])]
        if self._alert_failures is not None:
            extra.append(family("seamline_rules_alert_evaluation_failures_total", "counter",
                                "Alert evaluations that failed (InfluxDB away or refusing)",
                                self._alert_failures()))
        with self._lock:
            jobs = sorted({*self.duration_s, *self.last_success, *self.failures, *self.missed})
            return [
                *extra,
                family("seamline_rules_job_duration_seconds", "gauge",
                       "Seconds from each job's last due time to its end (run plus any wait for a worker)",
                       by=[({"job": j}, v) for j, v in sorted(self.duration_s.items())]),
                family("seamline_rules_job_last_success_timestamp_seconds", "gauge",
                       "Unix time of each job's last successful run",
                       by=[({"job": j}, v) for j, v in sorted(self.last_success.items())]),
                family("seamline_rules_job_failures_total", "counter", "Runs that raised, by job",
                       by=[({"job": j}, self.failures.get(j, 0)) for j in jobs]),
                family("seamline_rules_job_missed_total", "counter",
                       "Runs started too late (past misfire_grace_s) and skipped: their windows are late",
                       by=[({"job": j}, self.missed.get(j, 0)) for j in jobs]),
                family("seamline_rules_lease_held", "gauge", "1 while this replica holds the lease",
                       by=[({"holder": self.holder}, float(self.lease_held))]),
            ]
