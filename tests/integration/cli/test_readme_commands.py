"""The README's cheap commands, run as shown (issue 14): every complete ``seamline`` command line
in README.md or a component README that connects nowhere — ``--help``, ``sample-config``,
``check-config``, ``contracts docs|units|examples``, ``match`` on files — runs in a temp dir with
the repository's paths made absolute and ``/etc/seamline`` as a folder of the temp dir (filled by
the ``sample-config > /etc/seamline/...`` lines the README shows first). It exits 0, or 2 with one
line per problem naming the config's full path; never a traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_readme_drift import commands

SEAMLINE = str(Path(sys.executable).parent / "seamline")
REPO = Path(__file__).resolve().parents[3]
ETC = "/etc/seamline/"
_PLACEHOLDER = re.compile(r"^[A-Z][A-Z_]*$|…|\.\.\.|\|")  # FILE, DIR, alternatives: not a runnable line
_CHEAP = ("sample-config", "check-config", "--help", "--check")


def runnable(tokens: list[str]) -> bool:
    if any(_PLACEHOLDER.search(t) for t in tokens) or any(t.startswith(("mqtt", "http")) for t in tokens):
        return False
    if tokens[:2] in (["contracts", "docs"], ["contracts", "units"], ["contracts", "examples"]):
        return len(tokens) == 2
    if tokens[0] == "match":
        return "--capacity" in tokens and not {"--broker", "--publish", "--influx-config"} & set(tokens)
    return any(t in _CHEAP for t in tokens) and (
        "sample-config" in tokens or any(t.endswith(".yaml") for t in tokens))


def localised(tokens: list[str], tmp: Path) -> list[str]:
    """Repository paths made absolute; /etc/seamline/ moved into ``tmp``."""
    out = []
    for t in tokens:
        if t.startswith(ETC):
            t = str(tmp / "etc-seamline" / t.removeprefix(ETC))
        elif (REPO / t).exists() and "/" in t:
            t = str(REPO / t)
        out.append(t)
    return out


RUNNABLE = sorted({(where.split(": ", 1)[1], tuple(tokens)) for where, tokens in commands() if runnable(tokens)})


def test_the_readmes_show_runnable_commands() -> None:
    shown = {text for text, _ in RUNNABLE}
    assert any("match --orders matching/samples/orders.csv" in t and "--check" not in t for t in shown), shown
    assert any("sample-config" in t for t in shown) and any("check-config" in t for t in shown), shown


def _etc(tmp: Path) -> None:
    """What the README's ``seamline <service> sample-config > /etc/seamline/<service>.yaml`` leaves."""
    (tmp / "etc-seamline").mkdir()
    for service in ("edge", "ingest", "rules"):
        done = subprocess.run([SEAMLINE, service, "sample-config"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        (tmp / "etc-seamline" / f"{service}.yaml").write_text(done.stdout)


@pytest.mark.parametrize("text,tokens", RUNNABLE, ids=[t for t, _ in RUNNABLE])
def test_readme_command_runs_as_shown(text: str, tokens: tuple[str, ...], tmp_path: Path) -> None:
    tmp = tmp_path.resolve()
    _etc(tmp)
    argv = localised(list(tokens), tmp)
    done = subprocess.run([SEAMLINE, *argv], capture_output=True, text=True, timeout=120, cwd=tmp)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 2), f"{text}: exit {done.returncode}\n{done.stderr}"
    if done.returncode == 2:  # a sample copied to a fresh host names what is missing there: one line each
        config = next(a for a in argv if a.endswith(".yaml"))
        assert all(config in line for line in done.stderr.splitlines()), done.stderr
        assert tokens[-1] != "--help"


def test_the_readme_match_example_shows_the_plan_and_its_unmet_order(tmp_path: Path) -> None:
    tokens = next(t for text, t in RUNNABLE if text.startswith("seamline match --orders matching/samples"))
    done = subprocess.run([SEAMLINE, *localised(list(tokens), tmp_path)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "PO-1001" in done.stdout and "PO-1002" in done.stdout  # planned on the sample capacity
    assert "PO-1003" in done.stdout and "insufficient_capacity_before_due" in done.stdout  # unmet, with its reason
