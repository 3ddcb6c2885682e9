"""Fixtures: secured brokers (see tests/support/secure_cluster.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.secure_cluster import SecureBroker, cli, make_pki, start_broker


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    """Client certificates required (the default `--auth cert`); shared by a module's tests, which
    use distinct topics or sentinels so they don't see each other's messages."""
    b = start_broker(tmp_path_factory.mktemp("secure"))
    yield b
    b.broker.stop()


@pytest.fixture(scope="module")
def password_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    """`--auth password`: server-authenticated TLS plus user name and password."""
    tmp = tmp_path_factory.mktemp("password")
    pki = make_pki(tmp / "pki")
    cli("pki", "revoke", "--dir", pki, "svc/notify")
    b = start_broker(tmp, "--auth", "password", pki=pki)
    yield b
    b.broker.stop()
