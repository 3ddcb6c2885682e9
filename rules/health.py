"""What ``seamline rules run`` says on ``/metrics``: each job's last duration and last success,
runs that failed or started late (APScheduler misfires: windows computed late or not at all), and
whether this replica holds the lease. Fed by APScheduler's job events; served by the stdlib
:mod:`seamline.metrics_http` (the rules extra carries no prometheus-client)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from seamline.metrics_http import Family, family


class RulesHealth:
    """Job outcomes by job id (``5m@Asia/Shanghai``, ``capacity``, ``lease``...). Thread-safe."""

    def __init__(self, *, holder: str, clock: Callable[[], float] = time.time) -> None:
        self.holder = holder
        self._clock = clock
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

    def families(self) -> list[Family]:
        with self._lock:
            jobs = sorted({*self.duration_s, *self.last_success, *self.failures, *self.missed})
            return [
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
