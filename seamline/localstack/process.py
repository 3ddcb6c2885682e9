"""A managed server subprocess: start, wait until it listens, stop (TERM, then KILL)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from seamline.localstack.ports import wait_for_port


class ServerProcess:
    """Base for the local servers. Subclasses write their config and build ``argv``."""

    name = "server"
    # (uid, gid) to run the server as, for servers that refuse to run as root (PostgreSQL)
    run_as: tuple[int, int] | None = None

    def __init__(self, *, workdir: Path, port: int) -> None:
        self.workdir = Path(workdir).resolve()
        self.port = port
        self._proc: subprocess.Popen[bytes] | None = None
        self.workdir.mkdir(parents=True, exist_ok=True)

    def argv(self) -> list[str]:
        raise NotImplementedError

    def binary(self, name: str, *candidates: str) -> str:
        found = shutil.which(name)
        for c in candidates:
            if not found and os.access(c, os.X_OK):
                found = c
        if not found:
            raise FileNotFoundError(
                f"{name} not found; run scripts/setup.sh (installs Debian's {self.name} package)"
            )
        return found

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, *, timeout_s: float = 20.0) -> None:
        if self.running:
            return
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        uid, gid = self.run_as if self.run_as else (None, None)
        self._proc = subprocess.Popen(
            self.argv(), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True,
            user=uid, group=gid, extra_groups=[] if self.run_as else None,
        )
        log.close()
        try:
            self.wait_ready(timeout_s=timeout_s)
        except TimeoutError as exc:
            self.stop()
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{self.name} did not start on port {self.port}: {exc}\n{tail}") from exc

    def wait_ready(self, *, timeout_s: float) -> None:
        wait_for_port(self.port, timeout_s=timeout_s)

    def stop(self, *, kill: bool = False, timeout_s: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout_s)

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
