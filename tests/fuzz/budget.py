"""How much the fuzz tests run. CI runs the defaults (about a minute in all); the longer job sets
``SEAMLINE_FUZZ_EXAMPLES`` (inputs per atheris target; hypothesis runs a share of it per target,
its generators being 100x slower per input) and ``SEAMLINE_FUZZ_SECONDS`` (wall-clock cap per
atheris target), see README "Fuzzing"."""

from __future__ import annotations

import os

# 4 atheris targets x 35 000 runs: the 100 000 inputs in every CI run, when the machine
# keeps up; the time cap below is what bounds CI on a slow or busy machine.
DEFAULT_EXAMPLES = 35_000
DEFAULT_SECONDS = 7
# Hypothesis inputs per target as a share of the atheris runs, by what one costs (measured: topic
# ~5 ms, line protocol ~8 ms, payload ~19 ms, config ~32 ms with the default generators).
HYPOTHESIS_SHARE = {"topic": 1 / 30, "line_protocol": 1 / 30, "payload": 1 / 60, "config": 1 / 150}


def atheris_runs() -> int:
    return int(os.environ.get("SEAMLINE_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))


def atheris_seconds() -> int:
    return int(os.environ.get("SEAMLINE_FUZZ_SECONDS", DEFAULT_SECONDS))


def hypothesis_examples(target: str) -> int:
    return max(100, int(atheris_runs() * HYPOTHESIS_SHARE[target]))


def test_timeout_s() -> int:
    """pytest-timeout for one fuzz test: the suite's 300 s in CI, hours for the long job."""
    return 300 if "SEAMLINE_FUZZ_EXAMPLES" not in os.environ else 6 * 3600
