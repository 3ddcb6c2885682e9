"""The files an edge config points to, checked before the agent starts: the uplink's TLS material
and the spool's folder, with relative paths taken from the config file's folder (a config copied
to /etc/seamline/ keeps working beside its certificates, whatever the working directory is).

``check-config`` and ``run`` both call :func:`resolve_files`, so a config that passes the check
starts the agent; the register maps of ``modbus:`` are loaded (and checked) by ``settings()``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from seamline.configfile import readable_file_problem, relative_to, writable_folder_problem
from seamline.edge_agent.settings import EdgeSettings

_TLS_KEYS = (("tls_ca", "a PEM CA file"), ("tls_cert", "a PEM client certificate"),
             ("tls_key", "a PEM client key"))


def resolve_files(settings: EdgeSettings, *, config_dir: Path) -> tuple[EdgeSettings, list[str]]:
    """``settings`` with its file paths made absolute against ``config_dir``, and a
    ``key: path problem; expected ...`` line per file that cannot be used (empty when all can).
    The spool's folder must exist: the agent does not create it (systemd's StateDirectory does)."""
    base = config_dir.resolve()
    problems: list[str | None] = []
    tls: dict[str, Path | None] = {}
    for key, expected in _TLS_KEYS:
        value: Path | None = getattr(settings.uplink, key)
        tls[key] = None if value is None else relative_to(value, base)
        if (path := tls[key]) is not None:
            problems.append(readable_file_problem(f"uplink.{key}", path, expected))
    spool_path = relative_to(settings.spool.path, base)
    problems.append(writable_folder_problem("spool.path", spool_path))
    uplink = dataclasses.replace(settings.uplink, tls_ca=tls["tls_ca"], tls_cert=tls["tls_cert"],
                                 tls_key=tls["tls_key"])
    resolved = dataclasses.replace(settings, uplink=uplink, spool=dataclasses.replace(settings.spool, path=spool_path))
    return resolved, [p for p in problems if p is not None]
