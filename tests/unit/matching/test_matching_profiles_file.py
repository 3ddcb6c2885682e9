"""matching.profiles.load_profiles: the sample reads; a broken file is one ProfilesError naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from seamline.matching.errors import ProfilesError
from seamline.matching.profiles import load_profiles

SAMPLE = Path(__file__).resolve().parents[3] / "matching" / "samples" / "profiles.yaml"


def test_the_sample_reads() -> None:
    book = load_profiles(SAMPLE)
    assert book.profiles and all(name == p.enterprise for name, p in book.profiles.items())


@pytest.mark.parametrize(("name", "text", "problem"), [
    ("p.yaml", "factories: [unclosed\n", "line 2, column 1: not valid YAML"),
    ("p.yaml", "factories:\n  - {enterprise: f1, moq_pieces: " + "9" * 4301 + "}\n", "not valid YAML: a value cannot"),
    ("p.json", '{"factories": [{"enterprise": "f1", "moq_pieces": ' + "9" * 4301 + "}]}", "not valid JSON: Exceeds"),
    ("p.yaml", "- f1\n", "expected a mapping with keys 'factories'"),
    ("p.yaml", "factories:\n  - {enterprise: f1}\n  - {enterprise: f1}\n", "factories[2]: duplicate enterprise 'f1'"),
    ("p.yaml", "factories:\n  - {enterprise: 工厂1}\n", "not UTF-8 text (byte 28)"),  # a GBK file
])
def test_a_broken_file_is_one_error_naming_it(tmp_path: Path, name: str, text: str, problem: str) -> None:
    path = tmp_path / name
    path.write_bytes(text.encode("gbk"))
    with pytest.raises(ProfilesError) as exc:
        load_profiles(path)
    assert str(exc.value).startswith(f"profiles {path}: ") and problem in str(exc.value)
