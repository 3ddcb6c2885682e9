"""Fixtures shared by the ingest integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from seamline.localstack import MosquittoProcess
from tests.support.ingest_harness import Publisher


@pytest.fixture
def publisher(mosquitto: MosquittoProcess) -> Iterator[Publisher]:
    """A QoS 1 test publisher on the test's broker."""
    pub = Publisher("127.0.0.1", mosquitto.port)
    yield pub
    pub.close()
