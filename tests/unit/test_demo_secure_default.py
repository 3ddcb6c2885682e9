"""`seamline demo` is secured unless told --insecure, and gives every process its own identity
(the broker binds the client id to the identity: two processes sharing one would kick each other)."""

from __future__ import annotations

import argparse

from seamline.demo.cli import options_from, register
from seamline.demo.cluster import services
from seamline.demo.plan import DemoOptions


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser.parse_args(["demo", *argv])


def test_secured_by_default_insecure_on_request() -> None:
    assert options_from(_args("--quick")).secure is True
    assert options_from(_args("--quick", "--insecure")).secure is False


def test_broker_restart_is_on_by_default_and_can_be_left_out() -> None:
    assert options_from(_args("--quick")).broker_restart is True
    assert options_from(_args()).broker_restart is True
    assert options_from(_args("--quick", "--no-broker-restart")).broker_restart is False
    assert options_from(_args("--quick", "--broker-restart")).broker_restart is True


def test_one_identity_per_process() -> None:
    got = services(DemoOptions.quick(ingest_workers=3))
    assert got is not None
    assert [n for n, role in got.items() if role == "ingest"] == ["ingest-1", "ingest-2", "ingest-3", "demo-observer",
                                                                  "confirm"]
    assert got["rules"] == "rules" and got["matching"] == "matching"
    assert services(DemoOptions.quick(secure=False)) is None
