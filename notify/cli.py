"""``seamline notify --config FILE``: the Alertmanager webhook receiver (see notify/README.md)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from seamline.stop_signal import StopSignals

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("notify", help="Alertmanager webhook -> DingTalk, WeCom, Feishu, e-mail, webhooks")
    p.add_argument("--config", type=Path, required=True, help="notify.yaml (see notify/notify.sample.yaml)")
    p.add_argument("--check", action="store_true", help="validate the config (secrets included) and exit")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from seamline.notify.config import load_config
    from seamline.notify.service import NotifyService

    cfg = load_config(args.config)
    if args.check:
        print(f"{args.config}: ok ({len(cfg.channels)} channels, {len(cfg.routes)} routes)")
        return 0
    service = NotifyService(cfg)
    signals = StopSignals().install()
    service.start()
    try:
        signals.event.wait()
    finally:
        log.info("seamline notify stopping; undelivered messages stay in %s", cfg.outbox.path)
        service.stop()
    return signals.exit_code(0)
