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


def test_the_demo_replay_follows_the_simulated_clock_in_plain_lines() -> None:
    from seamline.demo.replay_progress import ReplayProgress, replayed_min

    assert replayed_min(0, 60_000, 600_000) == 0  # before the window
    assert replayed_min(179_999, 60_000, 600_000) == 1
    assert replayed_min(10**9, 60_000, 600_000) == 9  # clamped at the window's end
    now = [0]
    out = io.StringIO()
    start, end = 1_000_000, 1_000_000 + 100 * 60_000  # 100 simulated minutes
    with ReplayProgress(now_ms=lambda: now[0], start_ms=start, end_ms=end, stream=out, every_s=3600):
        for minute in (5, 37, 64, 100):  # the follower thread sleeps: the exit catches up once
            now[0] = start + minute * 60_000
    assert out.getvalue() == "replay: 100/100 simulated min\n"
    out = io.StringIO()
    with ReplayProgress(now_ms=lambda: now[0], start_ms=start, end_ms=end, stream=out, every_s=0.01) as p:
        for minute in range(0, 101):
            now[0] = start + minute * 60_000
            p._catch_up()  # what the follower thread does every second
    lines = out.getvalue().splitlines()
    assert len(lines) == 10 and lines[0] == "replay: 10/100 simulated min" and lines[-1].startswith("replay: 100/100")
