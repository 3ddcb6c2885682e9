"""Wire ``seamline notify`` together (the component's composition root): outbox, one sender and
worker per channel, intake, HTTP server, metrics."""

from __future__ import annotations

import logging
import threading

from seamline.notify.channels.registry import make_sender
from seamline.notify.config import NotifyConfig
from seamline.notify.delivery import ChannelWorker
from seamline.notify.intake import Intake
from seamline.notify.metrics import Metrics
from seamline.notify.outbox import Outbox
from seamline.notify.server import NotifyHTTPServer

log = logging.getLogger(__name__)


class NotifyService:
    def __init__(self, cfg: NotifyConfig) -> None:
        # Libraries that log request URLs (tokens in query strings) at debug level stay at INFO.
        for name in ("urllib3", "requests", "apprise"):
            logging.getLogger(name).setLevel(max(logging.INFO, logging.getLogger(name).level))
        self.cfg = cfg
        names = sorted(cfg.channels)
        self.metrics = Metrics(names)
        self.outbox = Outbox(cfg.outbox.path, max_rows=cfg.outbox.max_rows, max_bytes=cfg.outbox.max_bytes,
                             dedup_window_s=cfg.outbox.dedup_window_s)
        self.metrics.watch_outbox(self.outbox.depth, names)
        self.workers = {
            name: ChannelWorker(name=name, sender=make_sender(name, ch), outbox=self.outbox, metrics=self.metrics,
                                rate=ch.rate_limit, retry=cfg.retry, max_age_s=cfg.outbox.max_age_s)
            for name, ch in cfg.channels.items()
        }
        token = cfg.auth.bearer_token.get_secret_value() if cfg.auth.bearer_token else None
        intake = Intake(cfg, self.outbox, self.metrics)
        self.server = NotifyHTTPServer((cfg.listen.host, cfg.listen.port), intake=intake, metrics=self.metrics,
                                       token=token, max_body_bytes=cfg.listen.max_body_bytes,
                                       on_enqueued=self._wake)
        self._serving: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        for worker in self.workers.values():
            worker.start()
        self._serving = threading.Thread(target=self.server.serve_forever, name="notify-http", daemon=True)
        self._serving.start()
        log.info("seamline notify on %s:%d, %d channels, outbox %s", self.cfg.listen.host, self.port,
                 len(self.workers), self.cfg.outbox.path)

    def stop(self) -> None:
        """Stop taking webhooks, then stop the workers (undelivered messages stay in the outbox)."""
        self.server.shutdown()
        self.server.server_close()
        for worker in self.workers.values():
            worker.stop()
        self.outbox.close()

    def _wake(self, channels: list[str]) -> None:
        for name in channels:
            self.workers[name].wake()
