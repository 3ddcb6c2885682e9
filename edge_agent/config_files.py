"""The files an edge config points to, checked before the agent starts: the uplink's TLS material
and the spool's folder, with relative paths taken from the config file's folder (a config copied
to /etc/seamline/ keeps working beside its certificates, whatever the working directory is).

``check-config`` and ``run`` both call :func:`resolve_files`, so a config that passes the check
starts the agent; the register maps of ``modbus:`` are loaded (and checked) by ``settings()``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from seamline.edge_agent.settings import EdgeSettings

_TLS_KEYS = (("tls_ca", "a PEM CA file"), ("tls_cert", "a PEM client certificate"),
             ("tls_key", "a PEM client key"))


def _absolute(path: Path, base: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else base / path


def _readable_file(path: Path) -> str | None:
    """Why ``path`` cannot serve as an input file, or None."""
    if not path.exists():
        return "does not exist"
    if not path.is_file():
        return "is not a file"
    if not os.access(path, os.R_OK):
        return "is not readable by this user"
    return None


def resolve_files(settings: EdgeSettings, *, config_dir: Path) -> tuple[EdgeSettings, list[str]]:
    """``settings`` with its file paths made absolute against ``config_dir``, and a
    ``key: path: problem, expected ...`` line per file that cannot be used (empty when all can)."""
    base = config_dir.resolve()
    problems: list[str] = []
    uplink_paths: dict[str, Path | None] = {}
    for key, expected in _TLS_KEYS:
        value: Path | None = getattr(settings.uplink, key)
        if value is None:
            uplink_paths[key] = None
            continue
        path = _absolute(value, base)
        uplink_paths[key] = path
        if (why := _readable_file(path)) is not None:
            problems.append(f"uplink.{key}: {path} {why}; expected {expected}")
    spool_path = _absolute(settings.spool.path, base)
    folder = spool_path.parent
    if not folder.is_dir():
        problems.append(f"spool.path: folder {folder} does not exist; expected an existing folder "
                        "writable by the agent")
    elif not os.access(folder, os.W_OK | os.X_OK):
        problems.append(f"spool.path: folder {folder} is not writable by this user")
    elif spool_path.is_dir():
        problems.append(f"spool.path: {spool_path} is a folder; expected a database file name")
    resolved = dataclasses.replace(
        settings, uplink=dataclasses.replace(settings.uplink, **uplink_paths),
        spool=dataclasses.replace(settings.spool, path=spool_path))
    return resolved, problems
