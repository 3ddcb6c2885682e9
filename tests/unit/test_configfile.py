"""seamline.configfile: one way to read a service's YAML config."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from seamline.configfile import (
    MAX_CONFIG_BYTES,
    ConfigFileError,
    key_path,
    read_document,
    read_yaml_mapping,
    validation_problems,
)


def test_reads_a_mapping(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("a: 1\nb: [x, y]\n")
    assert read_yaml_mapping(p) == {"a": 1, "b": ["x", "y"]}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: [1, 2\n", "line 2, column 1: not valid YAML"),
        ("- 1\n- 2\n", "(top level): expected a mapping with gateway, got list"),
        ("", "(top level): expected a mapping with gateway, got NoneType"),
        # found by the atheris config fuzzer: PyYAML lets int()'s ValueError through
        ("a: " + "7" * 4301 + "\n", "not valid YAML: a value cannot be converted (an integer of more than 4300"),
        ("a: 2026-13-01\n", "not valid YAML: a value cannot be converted"),
        ("a: !!float s3cret\n", "not valid YAML: a value cannot be converted"),
        # found by the hypothesis config fuzzer once it wrote such scalars: KeyError, AttributeError
        ("a: !!bool s3cret\n", "not valid YAML: a value cannot be converted"),
        ("a: !!timestamp s3cret\n", "not valid YAML: a value cannot be converted"),
    ],
)
def test_errors_name_the_file_and_what_is_wrong(tmp_path: Path, text: str, problem: str) -> None:
    p = tmp_path / "edge.yaml"
    p.write_text(text)
    with pytest.raises(ConfigFileError) as exc:
        read_yaml_mapping(p, expected="a mapping with gateway")
    assert str(exc.value).startswith(f"{p}: ")
    assert problem in str(exc.value)
    assert "s3cret" not in str(exc.value) and "7777" not in str(exc.value)  # the value is never repeated


def test_empty_file_allowed_when_asked(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("")
    assert read_yaml_mapping(p, empty_ok=True) == {}


def test_missing_and_oversized_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="cannot read"):
        read_yaml_mapping(tmp_path / "nope.yaml")
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_CONFIG_BYTES + 1))
    with pytest.raises(ConfigFileError, match=f"max {MAX_CONFIG_BYTES}"):
        read_yaml_mapping(big)


def test_key_paths() -> None:
    assert key_path(("enterprises", 0, "sites", 1, "lines")) == "enterprises[0].sites[1].lines"
    assert key_path(()) == "(top level)"


class _Cfg(BaseModel):
    port: int
    password: str


def test_validation_problems_never_echo_the_value() -> None:
    with pytest.raises(ValidationError) as exc:
        _Cfg.model_validate({"port": "s3cret-port", "password": 12345})
    problems = validation_problems(exc.value)
    assert problems[0].startswith("port: ")
    assert problems[1].startswith("password: ")
    assert not any("s3cret" in p or "12345" in p for p in problems)


class _InputError(ValueError):
    """A caller's own error type, as the matching readers pass theirs."""


@pytest.mark.parametrize(
    ("name", "body", "yaml_ok", "problem"),
    [
        ("o.yaml", b"- a: 1\n", True, None),
        ("o.JSON", b'[{"a": 1}]', True, None),  # .json is JSON even where YAML is allowed
        ("o.yaml", b'[{"a": 1}]', False, None),  # a JSON-only reader reads any name as JSON
        ("o.yaml", b"a: [1\n", True, "not valid YAML"),
        ("o.yaml", b"a: 1\n", False, "not valid JSON: Expecting value"),
        ("o.json", b'{"n": ' + b"9" * 4301 + b"}", True, "not valid JSON: Exceeds the limit"),
        ("o.json", b"\xff\xfe[]", True, "not UTF-8 text (byte 0); hint"),
        ("o.yaml", b"a: s3cret\nb: !!bool s3cret\n", True, "not valid YAML: a value cannot be converted"),
    ],
)
def test_read_document_gives_the_data_or_one_line_of_the_callers_error(
    tmp_path: Path, name: str, body: bytes, yaml_ok: bool, problem: str | None
) -> None:
    path = tmp_path / name
    path.write_bytes(body)
    if problem is None:
        assert read_document(path, label="order book", error=_InputError, yaml_ok=yaml_ok) == [{"a": 1}]
        return
    with pytest.raises(_InputError) as exc:
        read_document(path, label="order book", error=_InputError, yaml_ok=yaml_ok, hint="; hint")
    line = str(exc.value)
    assert line.startswith(f"order book {path}: ") and problem in line
    assert "\n" not in line and "s3cret" not in line


def test_read_document_names_a_file_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(_InputError, match=r"^profiles .*missing\.yaml: cannot read: No such file"):
        read_document(tmp_path / "missing.yaml", label="profiles", error=_InputError)
