"""A gateway install for tests and benchmarks: the wheel built from this checkout, installed with only
the ``[edge]`` extra into a virtualenv of its own, cached under ``.build/`` by content.

The cache key hashes ``pyproject.toml`` and the wheel's *contents* (member names and bytes; the zip
timestamps change on every build), so an unchanged checkout reuses the venv and any change to code,
package data or pins builds a new one. Only the newest venv is kept (one bound: a few tens of MB).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO / ".build" / "gateway-venv"
READY_MARK = ".seamline-gateway-ready"  # written last: a venv without it is half-built
# What a venv made by ``python -m venv`` brings besides the packages: not what the agent needs.
INSTALLER_DISTS = frozenset({"pip", "setuptools", "wheel"})
PIP_TIMEOUT_S = 600.0


@dataclass(frozen=True, slots=True)
class GatewayVenv:
    path: Path
    key: str  # cache key (hash of pyproject.toml + wheel contents)
    reused: bool  # found in the cache, not built by this call
    with_pip: bool

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def seamline(self) -> Path:
        """The console script a gateway runs (``seamline edge run``)."""
        return self.path / "bin" / "seamline"

    @property
    def site_packages(self) -> Path:
        (site,) = (self.path / "lib").glob("python3*/site-packages")
        return site


@dataclass(frozen=True, slots=True)
class InstallSize:
    """On-disk bytes (allocated blocks, what ``du`` says) of a venv's site-packages."""

    total_bytes: int
    by_dist: dict[str, int]  # distribution name -> bytes of the files its RECORD lists
    unowned_bytes: int  # files no RECORD lists (e.g. __pycache__ of a top-level module)

    @property
    def without_installers_bytes(self) -> int:
        """Without pip/setuptools/wheel: what the agent and its dependencies occupy."""
        return self.total_bytes - sum(b for d, b in self.by_dist.items() if d.lower() in INSTALLER_DISTS)


def build_wheel(out_dir: Path, *, repo: Path = REPO) -> Path:
    """Build the seamline wheel from the checkout's tracked and untracked-but-not-ignored files.

    The files are copied to a temporary tree first: setuptools' ``build/`` directory in the checkout
    could carry deleted modules into the wheel, and the copy also sees uncommitted edits.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=repo, check=True, capture_output=True,
    ).stdout.split(b"\0")
    with tempfile.TemporaryDirectory(prefix="seamline-src-") as d:
        src = Path(d)
        for rel in (f.decode() for f in files if f):
            if (repo / rel).is_file():  # a deleted file still listed by the index
                (src / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(repo / rel, src / rel)
        for old in out_dir.glob("seamline-*.whl"):
            old.unlink()
        _pip(["wheel", "--no-deps", "-w", str(out_dir), str(src)])
    (wheel,) = out_dir.glob("seamline-*.whl")
    return wheel


def wheel_digest(wheel: Path) -> str:
    """sha256 over the wheel's member names and contents (not its zip timestamps)."""
    h = hashlib.sha256()
    with zipfile.ZipFile(wheel) as z:
        for name in sorted(z.namelist()):
            h.update(name.encode() + b"\0")
            h.update(z.read(name))
    return h.hexdigest()


def gateway_venv(*, fresh: bool = False, with_pip: bool = True, cache_dir: Path = CACHE_DIR,
                 repo: Path = REPO) -> GatewayVenv:
    """A venv with ``seamline[edge]`` from a wheel of this checkout, reused when nothing changed.

    ``with_pip`` True makes it the way a gateway would (``python -m venv``, pip and setuptools
    inside); False leaves the installers out (faster: the caller's pip installs into it).
    ``fresh`` rebuilds even when a matching venv is cached.
    """
    wheel = build_wheel(cache_dir / "wheel", repo=repo)
    key = hashlib.sha256((repo / "pyproject.toml").read_bytes() + wheel_digest(wheel).encode()).hexdigest()[:16]
    name = f"{key}-{'pip' if with_pip else 'nopip'}"
    path = cache_dir / name
    if not fresh and (path / READY_MARK).is_file():
        return GatewayVenv(path=path, key=key, reused=True, with_pip=with_pip)
    for old in cache_dir.iterdir():
        if old.is_dir() and old.name != "wheel" and (old.name == name or old.name.split("-")[0] != key):
            shutil.rmtree(old)
    base_python = getattr(sys, "_base_executable", sys.executable)
    cmd = [base_python, "-m", "venv", *([] if with_pip else ["--without-pip"]), str(path)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=PIP_TIMEOUT_S)
    _pip(["--python", str(path / "bin" / "python"), "install", "--no-warn-script-location",
          f"{wheel}[edge]"])
    (path / READY_MARK).write_text(f"{wheel.name}\n")
    return GatewayVenv(path=path, key=key, reused=False, with_pip=with_pip)


def install_size(venv: GatewayVenv) -> InstallSize:
    site = venv.site_packages
    owned: dict[Path, str] = {}
    for dist in metadata.distributions(path=[str(site)]):
        name = dist.metadata["Name"]
        for f in dist.files or ():
            owned[(site / f).resolve()] = name
    by_dist: dict[str, int] = {}
    total = unowned = 0
    for root, _, names in os.walk(site):
        for n in names:
            p = Path(root, n)
            size = p.lstat().st_blocks * 512
            total += size
            owner = owned.get(p.resolve())
            if owner is None:
                unowned += size
            else:
                by_dist[owner] = by_dist.get(owner, 0) + size
    return InstallSize(total_bytes=total, by_dist=by_dist, unowned_bytes=unowned)


def _pip(args: list[str]) -> None:
    """Run the caller's pip (quiet); raise with pip's own output when it fails."""
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
