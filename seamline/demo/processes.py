"""Child processes of the demo (edge agents, ingest workers): start with a log file, signal, reap.

Every child runs ``python -m seamline.cli ...`` from this interpreter, so the demo exercises the same
entry points an operator uses.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(slots=True)
class Child:
    name: str
    argv: list[str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, env: dict[str, str] | None = None) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            self.argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, **(env or {})},
        )
        log.close()

    def signal(self, sig: int) -> None:
        if self.running and self.proc is not None:
            self.proc.send_signal(sig)

    def wait(self, timeout_s: float) -> int | None:
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, *, timeout_s: float = 20.0) -> int | None:
        """SIGTERM (graceful: flush and say offline), then SIGKILL after ``timeout_s``."""
        if not self.running:
            return self.proc.returncode if self.proc else None
        self.signal(signal.SIGTERM)
        rc = self.wait(timeout_s)
        if rc is None:
            self.signal(signal.SIGKILL)
            rc = self.wait(5.0)
        return rc

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass(slots=True)
class Supervisor:
    """Owns the demo's children; ``close()`` stops them all in reverse start order."""

    logdir: Path
    children: list[Child] = field(default_factory=list)

    def spawn(self, name: str, args: Sequence[str], env: dict[str, str] | None = None) -> Child:
        self.logdir.mkdir(parents=True, exist_ok=True)
        child = Child(name=name, argv=[sys.executable, "-m", "seamline.cli", *args],
                      log_path=self.logdir / f"{name}.log")
        child.start(env)
        self.children.append(child)
        return child

    def check_alive(self) -> list[str]:
        """Names of children that exited on their own."""
        return [c.name for c in self.children if c.proc is not None and c.proc.poll() is not None]

    def close(self, *, timeout_s: float = 20.0) -> dict[str, int | None]:
        codes: dict[str, int | None] = {}
        for child in reversed(self.children):
            codes[child.name] = child.stop(timeout_s=timeout_s)
        return codes


def wait_until(predicate: object, *, timeout_s: float, interval_s: float = 0.2) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout_s`` passes; return the last result."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():  # type: ignore[operator]
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval_s)
