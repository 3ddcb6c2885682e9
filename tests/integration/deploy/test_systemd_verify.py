"""`seamline systemd --out DIR` as a user runs it, then systemd's own tools judge the files:
`systemd-analyze verify` on each unit (no complaint at all), `systemd-sysusers` and
`systemd-tmpfiles --create` into a scratch root (the user exists, the directories get their modes)."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from seamline.deploy.systemd import SERVICES

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")]


def _generate(out: Path, *extra: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "seamline.cli", "systemd", "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr


def _verify(unit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60,
                          check=False)


def test_every_generated_unit_verifies_cleanly(tmp_path: Path) -> None:
    # the units run the seamline of this virtualenv: it must exist for verify to pass
    _generate(tmp_path, "--executable", str(Path(sys.executable).parent / "seamline"))
    for name in SERVICES:
        proc = _verify(tmp_path / f"seamline-{name}.service")
        assert proc.returncode == 0 and proc.stderr.strip() == "", (name, proc.stderr)


def test_verify_sees_a_broken_unit(tmp_path: Path) -> None:
    """The check above can fail: a wrong key and a missing executable are both reported."""
    _generate(tmp_path, "--services", "ingest", "--executable", "/nonexistent/bin/seamline")
    unit = tmp_path / "seamline-ingest.service"
    unit.write_text(unit.read_text().replace("Restart=on-failure", "Restart=on-failure\nRestartt=always"))
    proc = _verify(unit)
    assert "Restartt" in proc.stderr
    assert "/nonexistent/bin/seamline" in proc.stderr


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None or shutil.which("systemd-tmpfiles") is None,
                    reason="systemd-sysusers / systemd-tmpfiles not installed")
def test_sysusers_and_tmpfiles_create_the_user_and_directories(tmp_path: Path) -> None:
    _generate(tmp_path / "out")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    for tool, conf in (("systemd-sysusers", "sysusers.d"), ("systemd-tmpfiles", "tmpfiles.d")):
        args = [tool, f"--root={root}", *(["--create"] if tool == "systemd-tmpfiles" else []),
                str(tmp_path / "out" / conf / "seamline.conf")]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 0, (tool, proc.stderr)
    assert any(line.startswith("seamline:") for line in (root / "etc" / "passwd").read_text().splitlines())
    for d in (root / "etc" / "seamline", root / "var" / "lib" / "seamline"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o750, d
