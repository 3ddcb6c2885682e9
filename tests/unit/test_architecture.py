"""The import directions between components (README, "Layout"), checked on the source: each test
fails when one module crosses a line it must not cross."""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PACKAGE_DIRS: dict[str, str] = PYPROJECT["tool"]["setuptools"]["package-dir"]
COMPONENTS = [name.split(".")[1] for name in PACKAGE_DIRS if name != "seamline"]

# component -> the components it may import (the arrows of the README's "Import directions"
# diagram); every other component is forbidden. A new component must be added here.
ALLOWED: dict[str, set[str]] = {
    "contracts": set(),
    "storage": {"contracts"},
    "edge_agent": {"contracts"},
    "firmware_stubs": {"contracts"},
    "ingest": {"contracts", "storage"},
    "rules": {"contracts", "storage"},  # alerts go to Alertmanager through seamline.alertmanager (shared)
    "matching": {"contracts", "storage"},  # bookings reach rules through the contract, not an import
    "dashboards": {"contracts", "storage"},
    # grading reads the rules config, master data and KPI points, and writes through storage
    "grading": {"contracts", "rules", "storage"},
    # alert delivery reads master data (rules) to generate the Alertmanager config; rules posts alerts over HTTP
    "notify": {"contracts", "rules"},
    "security": {"contracts", "rules"},
    # the report reads what the platform keeps (KPIs, retained capacity and plans, alerts), never the data path
    "report": {"contracts", "storage", "rules", "matching", "notify", "grading"},
}
FORBIDDEN: dict[str, set[str]] = {
    c: {o for o in COMPONENTS if o != c and o not in allowed} for c, allowed in ALLOWED.items()
}
FORBIDDEN["contracts"] |= {"demo", "cli", "localstack"}
# Nothing but the command line imports the demo or the command line itself.
APPLICATION = {"demo", "cli"}


@dataclass(frozen=True, slots=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module, dotted (absolute)
    line: int


def _module_name(package: str, root: Path, path: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join([package, *parts])


def _sources() -> Iterator[tuple[str, Path]]:
    for package, folder in PACKAGE_DIRS.items():
        root = REPO / folder
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(root)
            if package == "seamline" and rel.parts[0] in {c for c in COMPONENTS}:
                continue
            yield _module_name(package, root, path), path


def _imports(module: str, path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text(), filename=str(path))
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing package
                base = module.split(".")
                base = base if is_pkg else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield Import(module, target, node.lineno)


ALL_IMPORTS = [imp for module, path in _sources() for imp in _imports(module, path)]


def _component(dotted: str) -> str | None:
    """``seamline.rules.engine`` -> ``rules``; ``seamline.demo.x`` -> ``demo``; ``seamline`` -> None."""
    parts = dotted.split(".")
    return parts[1] if parts[0] == "seamline" and len(parts) > 1 else None


def test_every_component_has_its_directions() -> None:
    assert set(ALLOWED) == set(COMPONENTS)


def test_sources_were_found() -> None:
    found = {_component(i.module) for i in ALL_IMPORTS}
    assert {"contracts", "edge_agent", "ingest", "rules", "matching", "firmware_stubs", "demo"} <= found


def test_no_module_imports_a_component_by_its_folder_name() -> None:
    """`import rules` would pick up whatever `rules` is on sys.path, not ours."""
    bad = [i for i in ALL_IMPORTS if i.target.split(".")[0] in COMPONENTS]
    assert not bad, "\n".join(f"{i.module}:{i.line} imports {i.target}" for i in bad)


@pytest.mark.parametrize("component", sorted(FORBIDDEN))
def test_component_import_directions(component: str) -> None:
    forbidden = FORBIDDEN[component] | APPLICATION
    bad = [
        i for i in ALL_IMPORTS
        if _component(i.module) == component and _component(i.target) in forbidden
    ]
    assert not bad, "\n".join(f"{i.module}:{i.line} imports {i.target}" for i in bad)


def test_nothing_imports_the_application() -> None:
    """The demo and the command line are the composition root: components never import them."""
    bad = [
        i for i in ALL_IMPORTS
        if _component(i.target) in APPLICATION and _component(i.module) not in APPLICATION
    ]
    assert not bad, "\n".join(f"{i.module}:{i.line} imports {i.target}" for i in bad)


def _is_cli(dotted: str) -> bool:
    last = dotted.split(".")[-1]
    return dotted.startswith("seamline.") and (last == "cli" or last.endswith("_cli"))


def test_only_command_line_modules_import_command_line_modules() -> None:
    """A component's ``cli`` modules map its errors to messages and exit codes; the component's
    other modules never import them (they raise typed errors instead)."""
    bad = [i for i in ALL_IMPORTS if _is_cli(i.target) and not _is_cli(i.module)]
    assert not bad, "\n".join(f"{i.module}:{i.line} imports {i.target}" for i in bad)


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    """The parser resolves absolute and relative imports, so a crossing cannot hide."""
    src = "from seamline.rules.engine import x\nfrom ..rules import y\nimport seamline.demo.cli\n"
    probe = tmp_path / "probe.py"
    probe.write_text(src)
    found = {i.target for i in _imports("seamline.edge_agent.probe", probe)}
    assert found == {"seamline.rules.engine", "seamline.rules", "seamline.demo.cli"}


def test_every_package_folder_is_in_the_wheel() -> None:
    """A folder with __init__.py that pyproject's `packages` does not list would be left out."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    on_disk = {
        _module_name(package, REPO / folder, init)
        for package, folder in PACKAGE_DIRS.items()
        for init in (REPO / folder).rglob("__init__.py")
        if not (package == "seamline" and init.relative_to(REPO / folder).parts[0] in COMPONENTS)
    }
    assert on_disk == listed
