"""Run the real ``seamline notify`` command as a subprocess with a generated notify.yaml, for the
integration tests (SIGKILL and restart included)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from seamline.localstack.ports import free_port


class NotifyProcess:
    def __init__(self, *, workdir: Path, config: dict[str, Any], env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.config = {"listen": {"host": "127.0.0.1", "port": self.port},
                       "outbox": {"path": str(workdir / "outbox.sqlite")}} | config
        self.config_path = workdir / "notify.yaml"
        self.log_path = workdir / "notify.log"
        self.env = env or {}
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout_s: float = 30.0) -> None:
        self.config_path.write_text(yaml.safe_dump(self.config, allow_unicode=True))
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "seamline.cli", "-v", "notify", "--config", str(self.config_path)],
            stdout=log, stderr=subprocess.STDOUT, env=os.environ | self.env, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/-/healthy", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"seamline notify did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no clean-up, no last words."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait(10)
        self._proc = None

    def stop(self, signum: int = signal.SIGTERM) -> int | None:
        """Stop with ``signum`` (SIGTERM, or SIGINT as Ctrl-C); the exit code."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signum)
            try:
                return proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        return proc.returncode

    def metrics(self) -> dict[str, float]:
        """Samples of GET /metrics: ``name{labels}`` -> value."""
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as r:
            text = r.read().decode()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def metric(self, name: str, **labels: str) -> float:
        want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        key = f"{name}{{{want}}}" if labels else name
        return self.metrics().get(key, 0.0)

    def wait_metric(self, name: str, value: float, *, timeout_s: float = 15.0, **labels: str) -> float:
        """Poll /metrics until the sample reaches ``value`` (counters are updated just after the
        vendor answered, so a test that saw the message may be a moment early)."""
        deadline = time.monotonic() + timeout_s
        while (got := self.metric(name, **labels)) < value and time.monotonic() < deadline:
            time.sleep(0.1)
        return got

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")
