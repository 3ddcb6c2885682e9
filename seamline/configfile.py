"""Reading a service's YAML config file, the one way every component does it: size-bounded,
parse errors with line and column, a mapping at the top level, and validation errors as
``file: key.path[0]: message`` lines that never echo the offending value (it may be a secret).
Also the one reader of the JSON / YAML documents users hand to matching (:func:`read_document`)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

# A config bigger than this is not a hand-written config; refuse it before YAML parses it.
MAX_CONFIG_BYTES = 1024 * 1024
# libyaml's loader where PyYAML was built with it (every PyPI wheel is): ~10x faster than the
# pure-Python one, the same safe constructors and resolvers (a gateway's start-up reads its config).
SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LoggingConfig(BaseModel):
    """``logging:`` of every service's config; ``-v``/``-q`` move the level from here."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = "text"  # json: one object per line (ts, level, logger, msg)


class ConfigFileError(ValueError):
    """The file cannot be read, is not YAML, or is not a mapping; ``problems`` lists why."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{Path(path).resolve()}: {p}" for p in problems))  # the full path


class YamlError(ValueError):
    """A document that is not YAML, or whose YAML Python cannot hold; one line, no value in it."""


def parse_yaml(raw: bytes | str) -> Any:
    """``raw`` read with the safe loader. Raises :class:`YamlError` for a syntax error (with its
    line and column) and for a scalar the constructors refuse with an exception PyYAML lets
    through: an integer of more than ``sys.get_int_max_str_digits()`` digits, a date like
    2026-13-01, a ``!!float`` that is not a number, ``!!bool maybe``, ``!!timestamp never`` (the
    value is not repeated: it may be a secret)."""
    try:
        return yaml.load(raw, Loader=SafeLoader)  # safe: C or Python SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise YamlError(f"{where}not valid YAML: {getattr(exc, 'problem', exc)}") from None
    except Exception:  # PyYAML's constructors raise ValueError, KeyError (!!bool maybe),
        # AttributeError (!!timestamp never) unwrapped: on untrusted text any of them means "not YAML"
        raise YamlError(f"not valid YAML: a value cannot be converted (an integer of more than "
                        f"{sys.get_int_max_str_digits()} digits, a date that does not exist or a "
                        f"tagged value of the wrong type)") from None


def read_document(path: Path, *, label: str, error: Callable[[str], Exception], yaml_ok: bool = True,
                  encoding: str = "utf-8", hint: str = "") -> Any:
    """The JSON (``.json``, or any file when not ``yaml_ok``) or YAML document at ``path``, for the
    files users hand to matching and grading. Every way it can fail is one line
    ``<label> <path>: <why>`` raised as ``error(line)``: cannot read, not UTF-8 text (with the byte
    and ``hint``), not valid YAML (:func:`parse_yaml`), not valid JSON (``json`` raises
    ``ValueError`` for a syntax error and for an integer of more digits than Python converts)."""
    try:
        text = Path(path).read_text(encoding=encoding)
    except OSError as exc:
        raise error(f"{label} {path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise error(f"{label} {path}: not UTF-8 text (byte {exc.start}){hint}") from None
    if yaml_ok and Path(path).suffix.lower() != ".json":
        try:
            return parse_yaml(text)
        except YamlError as exc:
            raise error(f"{label} {path}: {exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise error(f"{label} {path}: not valid JSON: {exc}") from None


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
        data = parse_yaml(raw)
    except YamlError as exc:
        raise ConfigFileError(path, [str(exc)]) from None
    if data is None and empty_ok:
        return {}
    if not isinstance(data, dict):
        raise ConfigFileError(path, [f"(top level): expected {expected}, got {type(data).__name__}"])
    return data


def env_overrides(service: str, environ: Mapping[str, str], *, legacy_prefix: str | None = None) -> dict[str, Any]:
    """The keys ``SEAMLINE_<SERVICE>__KEY__SUB=value`` sets, as a nested mapping (keys lower-cased).

    Values stay strings (pydantic converts ``"1883"`` to a port, ``"true"`` to a flag, and a
    password of digits stays a password); a value starting with ``[`` or ``{`` is read as YAML
    (a list or a mapping). ``legacy_prefix`` (e.g. ``SEAMLINE_RULES_``) is accepted too, with a
    lower precedence than the documented double-underscore form. An empty value means null."""
    prefix = f"SEAMLINE_{service.upper()}__"
    found: list[tuple[int, list[str], str, str]] = []
    for name, value in environ.items():
        if name.startswith(prefix):
            found.append((1, name[len(prefix):].lower().split("__"), value, name))
        elif legacy_prefix and name.startswith(legacy_prefix) and "__" in name[len(legacy_prefix):]:
            found.append((0, name[len(legacy_prefix):].lower().split("__"), value, name))
    out: dict[str, Any] = {}
    for _, keys, value, name in sorted(found, key=lambda f: f[0]):
        if not all(keys):
            continue
        node = out
        for key in keys[:-1]:
            child = node.get(key)
            node = node.setdefault(key, {}) if isinstance(child, dict) or child is None else {}
        if not value:  # set but empty: the key's default (systemd's Environment=KEY= clears it)
            node[keys[-1]] = None
        else:
            node[keys[-1]] = _env_value(name, value)
    return out


def _env_value(name: str, value: str) -> Any:
    """A list or mapping (YAML) where the value starts with ``[`` or ``{``, else the string."""
    if value.lstrip()[:1] not in ("[", "{"):
        return value
    try:
        return parse_yaml(value)
    except YamlError as exc:  # the variable named, its value not repeated (it may hold a secret)
        raise YamlError(f"environment variable {name}: {exc}") from None


def merged(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``over`` laid on top, mappings merged key by key (``over`` wins)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def load_service_yaml(path: Path, service: str, *, expected: str = "a mapping", empty_ok: bool = False,
                      environ: Mapping[str, str] | None = None, legacy_prefix: str | None = None) -> dict[str, Any]:
    """The one config loader of every service: the YAML mapping of ``path`` with the environment's
    ``SEAMLINE_<SERVICE>__KEY__SUB`` overrides laid on top (the environment wins, secrets included).
    Raises :class:`ConfigFileError`."""
    data = read_yaml_mapping(path, expected=expected, empty_ok=empty_ok)
    env = os.environ if environ is None else environ
    try:
        overrides = env_overrides(service, env, legacy_prefix=legacy_prefix)
    except YamlError as exc:
        raise ConfigFileError(path, [str(exc)]) from None
    return merged(data, overrides)


def key_path(loc: Sequence[int | str]) -> str:
    """pydantic's error location as a key path: ``enterprises[0].sites[1].lines``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def validation_problems(exc: ValidationError) -> list[str]:
    """``key.path: message`` per error, without the input value."""
    return [f"{key_path(e['loc'])}: {e['msg']}" for e in exc.errors()]


def readable_file_problem(key: str, path: Path, expected: str) -> str | None:
    """``key: PATH problem; expected ...`` when ``path`` cannot be read as an input file, else None."""
    if not path.exists():
        why = "does not exist"
    elif not path.is_file():
        why = "is not a file"
    elif not os.access(path, os.R_OK):
        why = "is not readable by this user"
    else:
        return None
    return f"{key}: {path} {why}; expected {expected}"


def writable_folder_problem(key: str, path: Path, *, creates_folder: bool = False) -> str | None:
    """``key: ...`` when the folder of the file ``path`` cannot hold it, else None. With
    ``creates_folder`` (the service makes missing folders) the nearest existing ancestor must be a
    writable folder instead."""
    folder = path.parent
    if not folder.is_dir():
        if not creates_folder:
            return f"{key}: folder {folder} does not exist; expected an existing folder writable by the service"
        ancestor = next(p for p in folder.parents if p.exists() or p == p.parent)
        if not ancestor.is_dir():
            return f"{key}: {ancestor} is not a folder; expected a path under a writable folder"
        folder = ancestor
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{key}: folder {folder} is not writable by this user"
    if path.is_dir():
        return f"{key}: {path} is a folder; expected a file name"
    return None


def relative_to(path: Path, base: Path) -> Path:
    """``path`` with ``~`` expanded, made absolute against ``base`` (a config file's folder)."""
    path = path.expanduser()
    return path if path.is_absolute() else base / path
