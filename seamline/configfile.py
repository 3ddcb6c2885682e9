"""Reading a service's YAML config file, the one way every component does it: size-bounded,
parse errors with line and column, a mapping at the top level, and validation errors as
``file: key.path[0]: message`` lines that never echo the offending value (it may be a secret)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

# A config bigger than this is not a hand-written config; refuse it before YAML parses it.
MAX_CONFIG_BYTES = 1024 * 1024
# libyaml's loader where PyYAML was built with it (every PyPI wheel is): ~10x faster than the
# pure-Python one, the same safe constructors and resolvers (a gateway's start-up reads its config).
SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ConfigFileError(ValueError):
    """The file cannot be read, is not YAML, or is not a mapping; ``problems`` lists why."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{path}: {p}" for p in problems))


def read_yaml_mapping(path: Path, *, expected: str = "a mapping", empty_ok: bool = False) -> dict[str, Any]:
    """The top-level mapping of the YAML file at ``path``; raises :class:`ConfigFileError`.
    ``expected`` says what the top level should hold, for the error message."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigFileError(path, [f"cannot read: {exc.strerror or exc}"]) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigFileError(path, [f"file is {len(raw)} bytes, max {MAX_CONFIG_BYTES}"])
    try:
        data = yaml.load(raw, Loader=SafeLoader)  # safe: C or Python SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigFileError(path, [f"{where}not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    if data is None and empty_ok:
        return {}
    if not isinstance(data, dict):
        raise ConfigFileError(path, [f"(top level): expected {expected}, got {type(data).__name__}"])
    return data


def key_path(loc: Sequence[int | str]) -> str:
    """pydantic's error location as a key path: ``enterprises[0].sites[1].lines``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def validation_problems(exc: ValidationError) -> list[str]:
    """``key.path: message`` per error, without the input value."""
    return [f"{key_path(e['loc'])}: {e['msg']}" for e in exc.errors()]
