"""Coverage-guided fuzzing with atheris (libFuzzer), each target in its own process (libFuzzer
exits the process when done), bounded by ``-runs`` and ``-max_total_time`` (tests/fuzz/budget.py).
A crash fails the test with libFuzzer's report and the input it saved."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.budget import atheris_runs, atheris_seconds
from tests.fuzz.targets import COUNTS

pytest.importorskip("atheris", reason="atheris has wheels for Linux x86_64 only (dev extra)")

REPO = Path(__file__).resolve().parents[2]
_DONE = re.compile(r"Done (\d+) runs in (\d+) second")


@pytest.mark.parametrize("target", ["payload", "topic", "line_protocol", "config", "inputs"])
def test_atheris(target: str, tmp_path: Path) -> None:
    from tests.fuzz.atheris_main import seed_corpus

    corpus, artifacts = tmp_path / "corpus", tmp_path / "artifacts"
    artifacts.mkdir()
    seed_corpus(target, corpus)
    cmd = [sys.executable, "-m", "tests.fuzz.atheris_main", target, f"-runs={atheris_runs()}",
           f"-max_total_time={atheris_seconds()}", f"-artifact_prefix={artifacts}/", "-print_final_stats=1",
           str(corpus)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, errors="replace",
                          timeout=atheris_seconds() + 120, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    crashes = sorted(p.name for p in artifacts.iterdir())
    # atheris prints the uncaught exception's traceback on stdout; libFuzzer then says "fuzz target exited"
    traceback = proc.stdout[proc.stdout.find("=== Uncaught Python exception"):][:4000]
    assert proc.returncode == 0 and not crashes, f"{crashes}\n{traceback}\n{proc.stderr[-3000:]}"
    done = _DONE.findall(proc.stderr)
    assert done, proc.stderr[-2000:]
    COUNTS[f"atheris:{target}"] += int(done[-1][0])
