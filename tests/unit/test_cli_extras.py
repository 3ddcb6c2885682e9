"""seamline.cli: a subcommand whose extra is not installed says which extra to install, before its
component is imported (so ``--help`` says it too)."""

from __future__ import annotations

from importlib import metadata

import pytest

from seamline import cli

HEADERS = """Metadata-Version: 2.4
Name: seamline
Requires-Dist: pydantic==2.14.4
Provides-Extra: edge
Requires-Dist: paho-mqtt==2.2.0; extra == "edge"
Requires-Dist: orjson==3.13.0; extra == "edge"
Provides-Extra: ingest
Requires-Dist: paho-mqtt==2.2.0; extra == "ingest"
Requires-Dist: influxdb-client==1.50.0; extra == "ingest"
Provides-Extra: all
Requires-Dist: seamline[edge, ingest]; extra == "all"
"""


def test_extra_requirements_are_read_from_the_metadata() -> None:
    assert cli.extra_requirements(HEADERS, "edge") == ["paho-mqtt", "orjson"]
    assert cli.extra_requirements(HEADERS, "ingest") == ["paho-mqtt", "influxdb-client"]


def test_nested_extras_are_expanded_once() -> None:
    assert sorted(cli.extra_requirements(HEADERS, "all")) == ["influxdb-client", "orjson", "paho-mqtt"]


def test_unknown_extra_requires_nothing() -> None:
    assert cli.extra_requirements(HEADERS, "toaster") == []


def test_the_installed_extras_match_the_commands() -> None:
    dist = metadata.distribution("seamline")
    headers = (dist.read_text("METADATA") or dist.read_text("PKG-INFO") or "").split("\n\n", 1)[0]
    for name, spec in cli.COMMANDS.items():
        if spec.extra is not None:
            assert cli.extra_requirements(headers, spec.extra), f"seamline {name}: extra {spec.extra!r} is empty"


def test_missing_package_of_the_extra_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = metadata.distribution

    def distribution(name: str) -> metadata.Distribution:  # a dev venv without influxdb-client
        if name == "influxdb-client":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(metadata, "distribution", distribution)
    assert cli.main(["ingest", "--help"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "seamline ingest: Python package 'influxdb-client' is not installed; "
        "install it with: pip install 'seamline[ingest]'"
    ]


def test_installed_extra_runs_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["edge", "--help"])
    assert exit_.value.code == 0
    assert "check-config" in capsys.readouterr().out
