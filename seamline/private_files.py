"""Files and directories created with their final mode from the first byte: a key is never, even
for a moment, readable by anyone but its owner (no write-then-chmod window), and a file is
replaced atomically so a crash leaves the old version or the new one, never half of either."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_FILE = 0o600
PUBLIC_FILE = 0o644
PRIVATE_DIR = 0o700


def make_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700; an existing directory is left as it is."""
    path = Path(path)
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):  # a concurrent run made it: fine
            os.mkdir(d, PRIVATE_DIR)
            os.chmod(d, PRIVATE_DIR)  # the umask may have taken bits away; never adds any
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600 (keys, password files, secrets)."""
    _write(Path(path), data, PRIVATE_FILE)


def write_public(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0644 (certificates, CRL, configs without secrets)."""
    _write(Path(path), data, PUBLIC_FILE)


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode)
    try:
        # The umask may have cleared bits of ``mode``; set exactly ``mode`` before any byte is written.
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
