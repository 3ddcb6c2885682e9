"""The benchmark commands the READMEs show cannot drift from the benchmarks: every
``python -m bench.NAME ...`` names a module of ``bench/``, and every ``--flag`` it shows is in the
``--help`` of that module's ``main(argv)``."""

from __future__ import annotations

import contextlib
import importlib
import io
import re
from pathlib import Path

import pytest

from tests.unit.test_readme_drift import READMES, REPO

# the command runs to a comment, a backtick, a pipe, a table cell or two spaces (a description)
_COMMAND = re.compile(r"python -m (bench\.[a-z_]+)((?:[ \t](?! )[^`#|\n]*?)?)(?=\s{2,}|\s#|`|\||$)", re.MULTILINE)
_FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def shown() -> list[tuple[str, str, tuple[str, ...]]]:
    found = []
    for readme in READMES:
        for no, line in enumerate(readme.read_text(encoding="utf-8").splitlines(), 1):
            for m in _COMMAND.finditer(line):
                found.append((f"{readme.relative_to(REPO)}:{no}", m.group(1), tuple(_FLAG.findall(m.group(2)))))
    return found


def help_text(module: str) -> str:
    """What ``python -m MODULE --help`` prints, from its ``main(argv)``."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as done:
        importlib.import_module(module).main(["--help"])
    assert done.value.code == 0, module
    return out.getvalue()


def test_the_readmes_show_benchmark_commands() -> None:
    modules = {m for _, m, _ in shown()}
    assert {"bench.matching", "bench.rules_kpi", "bench.cluster_sustained"} <= modules, modules


@pytest.mark.parametrize(("where", "module", "flags"), shown(), ids=lambda v: v if isinstance(v, str) else None)
def test_every_benchmark_flag_shown_exists(where: str, module: str, flags: tuple[str, ...]) -> None:
    assert (REPO / Path(*module.split("."))).with_suffix(".py").is_file(), f"{where}: no {module}"
    if not flags:  # some benchmarks take none (or positional arguments only)
        return
    text = help_text(module)
    missing = [f for f in flags if not re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", text)]
    assert not missing, f"{where}: python -m {module} has no {missing}"


def test_the_check_catches_a_flag_that_does_not_exist() -> None:
    text = help_text("bench.rules_kpi")
    assert "--settle-s" in text and "--no-such-flag" not in text
    line = "`.venv/bin/python -m bench.rules_kpi --machines 4000 --no-such-flag`  a description"
    (module, args), = ((m.group(1), m.group(2)) for m in _COMMAND.finditer(line))
    assert module == "bench.rules_kpi" and _FLAG.findall(args) == ["--machines", "--no-such-flag"]
