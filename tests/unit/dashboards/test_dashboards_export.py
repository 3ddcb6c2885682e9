"""``seamline dashboards export``: the files Grafana's file provisioning reads, deterministic, and
every dashboard valid for the SDK's dashboard model (read back unchanged, nothing dropped)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from seamline.cli import main
from seamline.dashboards.catalog import build_all, canonical, panels_of, targets_of
from seamline.dashboards.datasource import DataSource
from seamline.dashboards.export import export
from seamline.dashboards.settings import DashboardSettings
from seamline.dashboards.target import InfluxTarget

S = DashboardSettings()


def _files(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_export_writes_the_provisioning_layout_and_is_byte_for_byte_deterministic(tmp_path: Path) -> None:
    export(tmp_path / "a", S, DataSource())
    export(tmp_path / "b", S, DataSource())
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a == b
    assert sorted(a) == ["dashboards/seamline.yaml", *(f"dashboards/seamline/seamline-{n}.json" for n in
                         ("cluster", "energy", "factory", "line", "machine", "pipeline")), "datasources/seamline.yaml"]
    provider = yaml.safe_load(a["dashboards/seamline.yaml"])["providers"][0]
    assert (provider["type"], provider["folderUid"], provider["options"]["path"]) == (
        "file", "seamline", "/etc/grafana/provisioning/dashboards/seamline")


def test_export_replaces_our_stale_files_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "dashboards" / "seamline").mkdir(parents=True)
    (tmp_path / "dashboards" / "seamline" / "seamline-old.json").write_text("{}")
    (tmp_path / "dashboards" / "other.yaml").write_text("x: 1")
    export(tmp_path, S, DataSource())
    assert not (tmp_path / "dashboards" / "seamline" / "seamline-old.json").exists()
    assert (tmp_path / "dashboards" / "other.yaml").read_text() == "x: 1"


def _subset(part: Any, whole: Any, path: str = "") -> None:
    if isinstance(part, dict):
        assert isinstance(whole, dict), path
        for k, v in part.items():
            assert k in whole, f"{path}/{k} dropped by the model"
            _subset(v, whole[k], f"{path}/{k}")
    elif isinstance(part, list):
        assert isinstance(whole, list) and len(part) == len(whole), path
        for i, (x, y) in enumerate(zip(part, whole, strict=True)):
            _subset(x, y, f"{path}[{i}]")
    else:
        assert part == whole, (path, part, whole)


@pytest.mark.parametrize("built", build_all(S), ids=lambda b: b.uid)
def test_exported_json_validates_against_the_sdk_dashboard_model(built: Any) -> None:
    doc = built.document
    again = json.loads(JSONEncoder(sort_keys=True).encode(Dashboard.from_json(doc)))
    assert again == doc  # a fixed point of the model: nothing it does not know, nothing it would change
    _subset(json.loads(JSONEncoder().encode(built.model)), doc)  # what the builders said is all there
    decoded = Dashboard.from_json(doc)
    assert all(isinstance(t, InfluxTarget) for p in panels_of(decoded) for t in p.targets or [])


def test_uids_folder_datasource_and_links() -> None:
    built = build_all(DashboardSettings(datasource_uid="influx-prod"))
    assert [b.uid for b in built] == ["seamline-cluster", "seamline-factory", "seamline-line", "seamline-machine",
                                      "seamline-energy", "seamline-pipeline"]
    for b in built:
        ids = [p.id_val for p in panels_of(b.model)]
        assert len(ids) == len(set(ids))
        assert {t.datasource.uid for _, t in targets_of(b.model) if t.datasource} == {"influx-prod"}
        assert {v["datasource"]["uid"] for v in b.document["templating"]["list"] if "datasource" in v} \
            <= {"influx-prod"}
        assert b.document["links"][0]["tags"] == ["seamline"]
    text = json.dumps([b.document for b in built])
    for child in ("seamline-factory", "seamline-line", "seamline-machine"):
        assert f"/d/{child}?" in text  # Cluster -> Factory -> Line -> Machine


def test_the_set_has_the_issue_panels() -> None:
    titles = {b.uid: {p.title for p in panels_of(b.model)} for b in build_all(S)}
    assert {"Utilization per factory", "Capacity, next 14 days", "Orders of the latest plan", "Energy per piece",
            "Green share", "Per-mu grades"} <= titles["seamline-cluster"]
    for uid in ("seamline-factory", "seamline-line"):
        assert {"Machine state", "Line efficiency and OEE, with coverage", "Downtime by reason (Pareto)",
                "Output per hour against target (standard minutes)"} <= titles[uid]
    assert {"Motor current", "State", "Stitches", "Pieces"} <= titles["seamline-machine"]
    assert {"PV power", "Performance ratio", "Wind power against wind speed", "Wind availability",
            "Battery state of charge", "Battery cycles", "Site balance", "Green share and consumption"} \
        <= titles["seamline-energy"]
    assert {"Ingest rate", "Quarantine by reason", "Sequence gaps", "Gateways online", "Spool depth",
            "Write retries and queue", "Firing alerts"} <= titles["seamline-pipeline"]


def test_datasource_files_hold_references_to_secrets_never_values() -> None:
    v1 = DataSource(user="grafana").provisioning(S)["datasources"][0]
    assert v1["secureJsonData"] == {"password": "${SEAMLINE_INFLUX_PASSWORD}"} and v1["user"] == "grafana"
    v2 = DataSource(version=2, token_env="INFLUX_TOKEN").provisioning(S)["datasources"][0]
    assert v2["secureJsonData"] == {"httpHeaderValue1": "Token ${INFLUX_TOKEN}"}
    assert v2["jsonData"]["dbName"] == "seamline" and v2["jsonData"]["version"] == "InfluxQL"
    with pytest.raises(ValueError, match="environment variable names"):
        DataSource(token_env="x; rm")


def test_cli_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboards", "export", str(tmp_path), "--kpi-rp", "kpi_forever", "--timezone", "UTC"]) == 0
    assert "wrote 6 dashboards" in capsys.readouterr().out
    cluster = json.loads((tmp_path / "dashboards" / "seamline" / "seamline-cluster.json").read_text())
    queries = [t["query"] for p in cluster["panels"] for t in p.get("targets", [])]
    assert cluster["timezone"] == "UTC" and any('"kpi_forever"."kpi_line"' in q for q in queries)
    assert main(["dashboards", "export", str(tmp_path), "--datasource-uid", "bad uid!"]) == 2


def test_canonical_is_what_the_files_hold(tmp_path: Path) -> None:
    out = export(tmp_path, S, DataSource())
    for b in out.dashboards:
        assert json.loads((tmp_path / "dashboards" / "seamline" / f"{b.uid}.json").read_text()) == canonical(b.model)
