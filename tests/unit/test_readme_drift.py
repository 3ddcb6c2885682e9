"""The READMEs cannot drift from the command line (issue 14): every ``seamline ...`` command shown
in README.md or a component's README names a subcommand that exists, and every ``--flag`` it names
is an option of that subcommand; every key a README shows in a config key path exists in the
sample config."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest
import yaml

from seamline.cli import COMMANDS, build_parser

REPO = Path(__file__).resolve().parents[2]
READMES = [REPO / "README.md", *sorted(REPO.glob("*/README.md"))]
# `seamline ...` in backticks, after a shell prompt, or at the start of a code-block line; an
# environment assignment before it is skipped.
_COMMAND = re.compile(r"(?:^\s*|`|\$ )(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(seamline\s[^`\n]*)")
# Where a shown command line ends: a comment, a pipe, a redirection, the next command.
# (a table's description column starts after two spaces).
_END = re.compile(r"\s#|\s\||\s\d?>|\s&&|\s;|\s<|\s{2,}")


def commands() -> list[tuple[str, list[str]]]:
    found = []
    for readme in READMES:
        for no, line in enumerate(readme.read_text(encoding="utf-8").splitlines(), 1):
            for m in _COMMAND.finditer(line):
                text = _END.split(m.group(1))[0].strip()
                try:
                    tokens = shlex.split(text)[1:]
                except ValueError:  # an unbalanced quote in prose
                    continue
                if tokens and tokens[0] in COMMANDS:
                    found.append((f"{readme.relative_to(REPO)}:{no}: {text}", tokens))
    return found


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    out: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            out.update(action.choices)
    return out


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {s: action for action in parser._actions for s in action.option_strings}


def check(tokens: list[str]) -> list[str]:
    """What of ``seamline TOKENS`` the command line does not have. ``a|b`` in a subcommand's place
    shows alternatives (each must exist); ``[--flag]`` an optional flag; upper-case words are
    placeholders."""
    parser = build_parser(tokens[0])
    options = _options(parser)
    problems: list[str] = []
    descending, skip = True, False
    for token in tokens:
        if skip:  # the value of the option before
            skip = False
            continue
        flag = token.strip("[]").split("=", 1)[0].rstrip(":,.")
        if flag.startswith("--") and len(flag) > 2:
            action = options.get(flag)
            if action is None and flag != "--...":
                problems.append(f"no option {flag}")
            skip = action is not None and action.nargs != 0 and "=" not in token
            continue
        subs = _subcommands(parser)
        if descending and subs and not token.startswith("-"):
            names = token.rstrip(":,.").split("|")
            if all(n in subs for n in names):
                parser = subs[names[0]]
                options |= _options(parser)
                continue
            if not token.isupper() and token not in ("...", "ACTION"):
                problems.append(f"no subcommand {token!r} (have {', '.join(sorted(subs))})")
        descending = False
    return problems


COMMANDS_SHOWN = commands()


def test_the_readmes_show_commands() -> None:
    assert len(COMMANDS_SHOWN) > 50  # the extraction finds them (a broken regex would pass everything)


@pytest.mark.parametrize("where,tokens", COMMANDS_SHOWN, ids=[w for w, _ in COMMANDS_SHOWN])
def test_every_command_shown_exists(where: str, tokens: list[str]) -> None:
    assert check(tokens) == [], where


def test_the_check_catches_drift() -> None:
    assert check(["edge", "run", "--config", "x", "--shard", "0/2"]) == ["no option --shard"]
    assert check(["rules", "runn"])[0].startswith("no subcommand 'runn'")
    assert check(["rules", "once", "--config", "x", "[--json]", "[--write]"]) == []


def _keys(data: object, prefix: str = "") -> set[str]:
    out = set()
    if isinstance(data, dict):
        for k, v in data.items():
            out.add(f"{prefix}{k}")
            out |= _keys(v, f"{prefix}{k}.")
    return out


SAMPLES = {"edge": "edge_agent/edge.sample.yaml", "ingest": "ingest/ingest.sample.yaml",
           "rules": "rules/rules.sample.yaml"}


@pytest.mark.parametrize("service", sorted(SAMPLES))
def test_config_keys_named_in_the_component_readme_are_in_the_sample(service: str) -> None:
    """A dotted key path in backticks (``uplink.tls_ca``) whose first part is a section of the sample
    must exist in the sample (with its commented-out keys uncommented)."""
    sample = REPO / SAMPLES[service]
    text = re.sub(r"^(\s*)# ?([a-z_]+:)", r"\1\2", sample.read_text(encoding="utf-8"), flags=re.MULTILINE)
    try:
        keys = _keys(yaml.safe_load(text))
    except yaml.YAMLError:
        keys = _keys(yaml.safe_load(sample.read_text(encoding="utf-8")))
    sections = {k for k in keys if "." not in k}
    readme = (sample.parent / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z_]+(?:\.[a-z_]+)+)(?:[:=][^`]*)?`", readme))
    files = (".py", ".yaml", ".yml", ".md", ".json", ".csv", ".pem", ".sqlite", ".txt", ".service")
    missing = sorted(k for k in named if k.split(".")[0] in sections and k not in keys and not k.endswith(files))
    assert missing == [], f"{sample.parent.name}/README.md names keys the sample lacks"
