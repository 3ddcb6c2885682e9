"""Graceful stop on SIGTERM and SIGINT, and the exit code that says which one stopped a service.

Every long-running service (``edge run``, ``ingest``, ``rules run``, ``notify``) stops the same way:
the first signal sets an event the service's loop waits on, the service drains and closes, and the
process exits ``128 + signal`` (130 for Ctrl-C, 143 for SIGTERM: the shell's convention, and the
value the systemd units list in ``SuccessExitStatus=``). Standard library only: the gateway's
pydantic-free runtime uses it too.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

# The shell's convention for "ended by signal N"; systemd units accept 143 as a clean stop.
SIGNAL_EXIT_BASE = 128


class StopSignals:
    """Install with :meth:`install`; ``event`` is set by the first SIGTERM/SIGINT."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signum: int | None = None

    def install(self) -> StopSignals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        return self

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
        self.event.set()

    def exit_code(self, code: int = 0) -> int:
        """``code`` when no signal stopped the service or it failed (non-zero); else 128 + signal."""
        if code != 0 or self.signum is None:
            return code
        return SIGNAL_EXIT_BASE + self.signum
