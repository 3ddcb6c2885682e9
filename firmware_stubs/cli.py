"""``seamline sim``: simulated devices. ``sewing`` lives here; ``energy`` comes from
``seamline.firmware_stubs.energy.cli`` when that component is present."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from seamline.firmware_stubs.sewing.cli import add_sewing_command

_ENERGY_CLI = "seamline.firmware_stubs.energy.cli"


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("sim", help="simulated sewing nodes and energy equipment")
    sim_sub = p.add_subparsers(dest="sim_command", metavar="DEVICES", required=True)
    add_sewing_command(sim_sub)
    try:
        energy = importlib.import_module(_ENERGY_CLI)
    except ModuleNotFoundError as exc:
        if exc.name not in (_ENERGY_CLI, "firmware_stubs.energy"):
            raise  # a missing dependency inside the energy component must not be hidden
        return
    energy.add_energy_command(sim_sub)
