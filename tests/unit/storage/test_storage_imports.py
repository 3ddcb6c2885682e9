"""The storage layer depends on the contract and third-party libraries only: never on a component
that uses it (ingest, rules), the CLI or the demo."""

from __future__ import annotations

import ast
from pathlib import Path

STORAGE = Path(__file__).resolve().parents[3] / "storage"
ALLOWED = ("seamline.storage", "seamline.contracts")


def seamline_imports(source: str) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "seamline"}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "seamline":
            out.add(node.module or "")
    return out


def test_storage_imports_only_itself_and_the_contract() -> None:
    modules = sorted(STORAGE.glob("*.py"))
    assert len(modules) >= 12
    bad = {p.name: sorted(m for m in seamline_imports(p.read_text()) if not m.startswith(ALLOWED))
           for p in modules}
    assert {k: v for k, v in bad.items() if v} == {}


def test_the_check_sees_a_forbidden_import() -> None:
    found = seamline_imports("import seamline.errors\nfrom seamline.ingest.points import data_lines\n")
    assert found == {"seamline.errors", "seamline.ingest.points"}
