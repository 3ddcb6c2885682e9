"""The set of dashboards, built from one :class:`~seamline.dashboards.settings.DashboardSettings`,
and their canonical JSON: what the SDK's dashboard model reads back unchanged (the model fills in
its defaults once; the exported form is that fixed point, so a re-read changes nothing).

The order is fixed and every key sorted, so the same settings give the same bytes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders.dashboard import Dashboard as DashboardBuilder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard, Panel, RowPanel

from seamline.dashboards import cluster, energy, floor, machine, pipeline, target
from seamline.dashboards.settings import DashboardSettings
from seamline.dashboards.target import InfluxTarget

__all__ = ["BUILDERS", "Built", "build_all", "canonical", "panels_of", "to_bytes"]

BUILDERS: tuple[Callable[[DashboardSettings], DashboardBuilder], ...] = (
    cluster.build, floor.factory, floor.line, machine.build, energy.build, pipeline.build)


@dataclass(frozen=True, slots=True)
class Built:
    """One dashboard: the SDK model (with typed targets) and its canonical JSON document."""

    model: Dashboard
    document: dict[str, Any]

    @property
    def uid(self) -> str:
        return str(self.document["uid"])

    @property
    def title(self) -> str:
        return str(self.document["title"])


def _sdk_ready() -> None:
    register_default_plugins()
    target.register()


def _encode(obj: object) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(JSONEncoder(sort_keys=True).encode(obj))
    return doc


def canonical(model: Dashboard) -> dict[str, Any]:
    """The JSON of ``model`` as the SDK's model reads it back (defaults filled in)."""
    _sdk_ready()
    return _encode(Dashboard.from_json(_encode(model)))


def _number_panels(model: Dashboard) -> None:
    """Panel ids 1..n in layout order (Grafana needs unique ids; stable ones keep links and diffs stable)."""
    n = 0
    for p in model.panels or []:
        n += 1
        p.id_val = n
        if isinstance(p, RowPanel):
            for q in p.panels:
                n += 1
                q.id_val = n


def build_all(settings: DashboardSettings) -> list[Built]:
    out = []
    for make in BUILDERS:
        model = make(settings).build()
        _number_panels(model)
        out.append(Built(model, canonical(model)))
    return out


def panels_of(model: Dashboard) -> Iterator[Panel]:
    """Every panel that is not a row, rows' collapsed panels included."""
    for p in model.panels or []:
        if isinstance(p, RowPanel):
            yield from p.panels
        else:
            yield p


def targets_of(model: Dashboard) -> Iterator[tuple[Panel, InfluxTarget]]:
    for p in panels_of(model):
        for t in p.targets or []:
            if isinstance(t, InfluxTarget):
                yield p, t


def to_bytes(document: dict[str, Any]) -> bytes:
    """Deterministic file contents: sorted keys, 2-space indent, UTF-8, trailing newline."""
    return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()
