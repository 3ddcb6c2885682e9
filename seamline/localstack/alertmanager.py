"""A real Prometheus Alertmanager (Debian's ``prometheus-alertmanager``) with its own config and
data dir on free loopback ports; several of them can form an HA cluster (``peers``)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

from seamline.localstack.ports import free_port
from seamline.localstack.process import ServerProcess


class AlertmanagerProcess(ServerProcess):
    """``prometheus-alertmanager`` with web and cluster listeners on 127.0.0.1 only.

    ``cluster=False`` (the default) turns gossip off (``--cluster.listen-address=``), so a test
    instance never looks for peers. ``cluster=True`` listens for gossip on a free loopback port;
    ``peers`` are other instances' ``cluster_address`` values. Gossip timings are shortened from
    the production defaults (peer timeout 15 s, push-pull 1 min, settle 1 min) so an HA pair
    converges within a test; ``peer_timeout_s`` is how long the second peer waits for the first
    one's notification log before notifying itself.
    """

    name = "alertmanager"

    def __init__(self, *, workdir: Path, config_text: str, port: int | None = None, cluster: bool = False,
                 peers: tuple[str, ...] = (), peer_timeout_s: float = 2.0) -> None:
        super().__init__(workdir=workdir, port=port or free_port())
        self.config_text = config_text
        self.cluster_port = free_port() if cluster else None
        self.peers = peers
        self.peer_timeout_s = peer_timeout_s
        self.conf_path = self.workdir / "alertmanager.yml"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def cluster_address(self) -> str:
        if self.cluster_port is None:
            raise RuntimeError("this Alertmanager was started without clustering")
        return f"127.0.0.1:{self.cluster_port}"

    def argv(self) -> list[str]:
        self.conf_path.write_text(self.config_text)
        data = self.workdir / "data"
        data.mkdir(exist_ok=True)
        args = [
            self.binary("prometheus-alertmanager", "/usr/bin/prometheus-alertmanager"),
            f"--config.file={self.conf_path}",
            f"--storage.path={data}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            f"--web.external-url={self.url}",
            "--log.level=info",
        ]
        if self.cluster_port is None:
            return [*args, "--cluster.listen-address="]
        args += [
            f"--cluster.listen-address={self.cluster_address}",
            f"--cluster.advertise-address={self.cluster_address}",
            f"--cluster.peer-timeout={self.peer_timeout_s:g}s",
            "--cluster.gossip-interval=100ms",
            "--cluster.pushpull-interval=2s",
            "--cluster.settle-timeout=5s",
            "--cluster.reconnect-interval=1s",
            "--cluster.probe-interval=500ms",
        ]
        return args + [f"--cluster.peer={p}" for p in self.peers]

    def wait_ready(self, *, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if not self.running:
                raise TimeoutError("alertmanager exited during start-up")
            if time.monotonic() > deadline:
                raise TimeoutError(f"/-/ready did not answer 200 within {timeout_s:.0f} s")
            time.sleep(0.1)

    def cluster_peers(self) -> int:
        """How many cluster members this instance sees (itself included), from ``/api/v2/status``."""
        with urllib.request.urlopen(f"{self.url}/api/v2/status", timeout=5) as r:
            status = json.loads(r.read())
        return len(status.get("cluster", {}).get("peers") or [])

    def reload(self, config_text: str) -> None:
        """Write a new config and ask the running server to load it (``POST /-/reload``)."""
        self.config_text = config_text
        self.conf_path.write_text(config_text)
        req = urllib.request.Request(f"{self.url}/-/reload", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=10) as r:
            if r.status != 200:
                raise RuntimeError(f"alertmanager reload answered {r.status}")
