"""Progress: tqdm on a terminal, ~10 plain lines otherwise."""

from __future__ import annotations

import io

from seamline.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_at_every_tenth_when_not_a_terminal() -> None:
    out = io.StringIO()
    with Progress(200, "1h windows", unit="windows", stream=out) as p:
        for _ in range(200):
            p.update(1)
    lines = out.getvalue().splitlines()
    assert lines[0] == "1h windows: 20/200 windows" and lines[-1] == "1h windows: 200/200 windows"
    assert len(lines) == 10 and "\r" not in out.getvalue()


def test_big_steps_print_once_and_unknown_total_says_the_count_at_the_end() -> None:
    out = io.StringIO()
    with Progress(10, "replay", stream=out) as p:
        p.update(10)
    assert out.getvalue() == "replay: 10/10 it\n"
    out = io.StringIO()
    with Progress(None, "replay", stream=out) as p:
        p.update(3)
    assert out.getvalue() == "replay: 3 it\n"


def test_a_terminal_gets_a_tqdm_bar() -> None:
    out = Terminal()
    with Progress(5, "demo", stream=out) as p:
        p.update(5)
    assert "\r" in out.getvalue() and "5/5" in out.getvalue()
