"""free_port never hands out the same port twice in a process (the kernel may, once a probe closes)."""

from __future__ import annotations

import socket

import pytest

from seamline.localstack import ports


def test_a_port_offered_again_by_the_kernel_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    offered = iter([41001, 41001, 41002])

    class FakeSocket:
        """socket.socket with a scripted bind(0): the kernel offering 41001 twice."""

        def __init__(self, *_: object) -> None:
            self.port = 0

        def __enter__(self) -> FakeSocket:
            return self

        def __exit__(self, *_: object) -> None:
            return None

        def bind(self, _: tuple[str, int]) -> None:
            self.port = next(offered)

        def getsockname(self) -> tuple[str, int]:
            return ("127.0.0.1", self.port)

    monkeypatch.setattr(ports, "_RECENT", type(ports._RECENT)(maxlen=8))
    monkeypatch.setattr(ports.socket, "socket", FakeSocket)
    assert [ports.free_port(), ports.free_port()] == [41001, 41002]


def test_real_ports_are_distinct_and_bindable() -> None:
    got = [ports.free_port() for _ in range(200)]
    assert len(set(got)) == 200
    with socket.socket() as s:
        s.bind(("127.0.0.1", got[-1]))
