"""``seamline dashboards export DIR``: Grafana file provisioning, laid out as Grafana reads it
under ``/etc/grafana/provisioning``::

    DIR/datasources/seamline.yaml        the InfluxDB data source
    DIR/dashboards/seamline.yaml         the dashboard provider (folder, path of the JSON files)
    DIR/dashboards/seamline/<uid>.json   one file per dashboard

Deterministic: the same settings give the same bytes (sorted keys, fixed order). Files of ours
that the set no longer contains are removed; nothing else in DIR is touched."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from seamline.dashboards.catalog import Built, build_all, to_bytes
from seamline.dashboards.datasource import DataSource
from seamline.dashboards.settings import DashboardSettings

__all__ = ["PROVIDER_FILE", "Exported", "export"]

PROVIDER_FILE = "seamline.yaml"
JSON_DIR = "seamline"
# How often Grafana re-reads the JSON files (s); provisioned dashboards change only with a deployment.
UPDATE_INTERVAL_S = 60
GRAFANA_ROOT = PurePosixPath("/etc/grafana/provisioning")


@dataclass(frozen=True, slots=True)
class Exported:
    directory: Path
    files: tuple[Path, ...]
    dashboards: tuple[Built, ...]


def _yaml(doc: object) -> bytes:
    return yaml.safe_dump(doc, sort_keys=True, default_flow_style=False, allow_unicode=True).encode()


def provider(settings: DashboardSettings, json_path: PurePosixPath) -> dict[str, object]:
    return {"apiVersion": 1, "providers": [{
        "name": "seamline", "orgId": 1, "type": "file", "folder": settings.folder_title,
        "folderUid": settings.folder_uid, "disableDeletion": False, "allowUiUpdates": False,
        "updateIntervalSeconds": UPDATE_INTERVAL_S, "options": {"path": str(json_path),
                                                                "foldersFromFilesStructure": False}}]}


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != data:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def export(directory: Path, settings: DashboardSettings, source: DataSource, *,
           grafana_root: PurePosixPath = GRAFANA_ROOT) -> Exported:
    """Write the provisioning files into ``directory``; ``grafana_root`` is where Grafana will see
    that directory (the provider file names the JSON folder by that absolute path)."""
    built = build_all(settings)
    json_dir = directory / "dashboards" / JSON_DIR
    files = [_write(json_dir / f"{b.uid}.json", to_bytes(b.document)) for b in built]
    keep = {f.name for f in files}
    if json_dir.is_dir():
        for stale in sorted(json_dir.glob("seamline-*.json")):
            if stale.name not in keep:
                stale.unlink()
    files.append(_write(directory / "dashboards" / PROVIDER_FILE,
                        _yaml(provider(settings, grafana_root / "dashboards" / JSON_DIR))))
    files.append(_write(directory / "datasources" / PROVIDER_FILE, _yaml(source.provisioning(settings))))
    return Exported(directory, tuple(files), tuple(built))
