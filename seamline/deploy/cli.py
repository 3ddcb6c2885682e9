"""``seamline systemd --out DIR``: the units of this install, ready for /etc/systemd/system."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path, PurePosixPath
from typing import Any

from seamline.deploy.systemd import SERVICES, Install, render
from seamline.errors import UsageError


def register(sub: Any) -> None:
    p = sub.add_parser("systemd",
                       help="systemd units, sysusers.d and tmpfiles.d for edge, ingest, rules and the confirmer")
    p.add_argument("--out", type=Path, required=True, help="directory to write into (created if missing)")
    p.add_argument("--services", default=",".join(SERVICES),
                   help=f"comma-separated subset of {', '.join(SERVICES)} (default: all; a gateway wants edge)")
    p.add_argument("--executable", type=PurePosixPath, default=None,
                   help="the seamline command the units run (default: the one of this install)")
    p.add_argument("--config-dir", type=PurePosixPath, default=PurePosixPath("/etc/seamline"),
                   help="where <service>.yaml and <service>.env live (default /etc/seamline)")
    p.add_argument("--user", default="seamline", help="system user the services run as (default seamline)")
    p.set_defaults(handler=_run)


def _this_install() -> PurePosixPath:
    return PurePosixPath(Path(sys.executable).parent / "seamline")


def _run(args: argparse.Namespace) -> int:
    services = tuple(s.strip() for s in args.services.split(",") if s.strip())
    if unknown := sorted(set(services) - set(SERVICES)):
        raise UsageError(f"--services: unknown {', '.join(unknown)} (expected some of {', '.join(SERVICES)})")
    if not args.config_dir.is_absolute():
        raise UsageError(f"--config-dir: expected an absolute path, got {args.config_dir}")
    exe = args.executable or _this_install()
    if not exe.is_absolute():
        raise UsageError(f"--executable: expected an absolute path, got {exe}")
    files = render(Install(executable=exe, config_dir=args.config_dir, user=args.user), services)
    for name, text in files.items():
        path = args.out.resolve() / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        except OSError as exc:
            raise UsageError(f"{path}: cannot write ({exc.strerror})") from None
        print(path)
    return 0
