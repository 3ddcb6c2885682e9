"""Progress of long work (backfill, quarantine replay) on stderr: a tqdm bar on a terminal, plain
``what: done/total`` lines at every tenth otherwise (a journal or a CI log gets ~10 lines, not a
stream of carriage returns). tqdm is imported only on a terminal."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any, TextIO

# Plain lines at every tenth of the total: ~10 lines per job in a log.
PLAIN_LINES = 10


class Progress:
    """``with Progress(total, "1h windows") as p: p.update(1)``."""

    def __init__(self, total: int | None, what: str, *, unit: str = "it", stream: TextIO | None = None) -> None:
        self.total, self.what, self.unit, self.done = total, what, unit, 0
        self._stream = stream or sys.stderr
        self._bar: Any = None
        self._tenths = 1  # the next plain line is due at this many tenths of the total
        if self._stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=what, unit=unit, file=self._stream, leave=True)

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        if self.total and (self.done * PLAIN_LINES >= self._tenths * self.total or self.done == self.total):
            self._stream.write(f"{self.what}: {self.done}/{self.total} {self.unit}\n")
            self._stream.flush()
            while self._tenths * self.total <= self.done * PLAIN_LINES:
                self._tenths += 1

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.close()
        elif not self.total:
            self._stream.write(f"{self.what}: {self.done} {self.unit}\n")
