"""``seamline dashboards provision`` against a faithful fake of Grafana's HTTP API
(tests/support/fake_grafana.py): creates once, saves a dashboard only when it changed (with a
message), retries a Grafana that is restarting, and fails clearly on a bad token."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from grafana_client.api import GrafanaApi

from seamline.cli import main
from seamline.dashboards.catalog import build_all
from seamline.dashboards.datasource import DataSource
from seamline.dashboards.provision import Outcome, Provisioner, ProvisionError, RetryPolicy
from seamline.dashboards.settings import DashboardSettings
from tests.support.fake_grafana import FakeGrafana

TOKEN = "glsa_test_token"
S = DashboardSettings()
UIDS = {"seamline-cluster", "seamline-factory", "seamline-line", "seamline-machine", "seamline-energy",
        "seamline-pipeline"}


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    with FakeGrafana(token=TOKEN) as g:
        yield g


def _provisioner(g: FakeGrafana, *, token: str = TOKEN, settings: DashboardSettings = S) -> Provisioner:
    api = GrafanaApi.from_url(g.url, credential=token, timeout=5)
    return Provisioner(api, settings, retry=RetryPolicy(attempts=3, initial_s=0.01, max_s=0.02), sleep=lambda _: None,
                       rng=random.Random(1))


def _versions(g: FakeGrafana) -> dict[str, int]:
    return {uid: d["dashboard"]["version"] for uid, d in g.state.dashboards.items()}


def test_first_run_creates_folder_datasource_and_every_dashboard_in_the_folder(grafana: FakeGrafana) -> None:
    report = _provisioner(grafana).run(build_all(S), DataSource().body(S))
    assert (report.folder, report.datasource) == (Outcome.CREATED, Outcome.CREATED)
    assert report.dashboards == dict.fromkeys(UIDS, Outcome.CREATED)
    assert _versions(grafana) == dict.fromkeys(UIDS, 1)
    assert {d["folderUid"] for d in grafana.state.dashboards.values()} == {"seamline"}
    assert grafana.state.datasources["seamline-influxdb"]["jsonData"]["dbName"] == "seamline"
    assert all(h[0].message.endswith("created") for h in grafana.state.history.values())
    assert report.unknown_in_folder == ()


def test_an_unchanged_dashboard_is_not_saved_again(grafana: FakeGrafana) -> None:
    _provisioner(grafana).run(build_all(S), DataSource().body(S))
    saves = sum(1 for m, p in grafana.state.requests if (m, p) == ("POST", "/api/dashboards/db"))
    report = _provisioner(grafana).run(build_all(S), DataSource().body(S))
    assert (report.folder, report.datasource) == (Outcome.UNCHANGED, Outcome.UNCHANGED)
    assert set(report.dashboards.values()) == {Outcome.UNCHANGED}
    assert _versions(grafana) == dict.fromkeys(UIDS, 1)
    assert sum(1 for m, p in grafana.state.requests if (m, p) == ("POST", "/api/dashboards/db")) == saves


def test_a_changed_dashboard_is_saved_with_a_message_and_a_new_version(grafana: FakeGrafana) -> None:
    _provisioner(grafana).run(build_all(S), DataSource().body(S))
    other = DashboardSettings(target_efficiency=0.6)  # only the Factory and Line dashboards have the target
    report = _provisioner(grafana, settings=other).run(build_all(other), DataSource().body(other))
    changed = {u for u, o in report.dashboards.items() if o is Outcome.UPDATED}
    assert changed == {"seamline-factory", "seamline-line"}
    for uid in changed:
        assert [(v.version, v.message) for v in grafana.state.history[uid]] == [
            (1, "seamline dashboards provision: created"), (2, "seamline dashboards provision: changed: templating")]
    assert all(_versions(grafana)[u] == 1 for u in UIDS - changed)


def test_the_datasource_is_updated_when_its_settings_differ(grafana: FakeGrafana) -> None:
    _provisioner(grafana).run(build_all(S), DataSource().body(S))
    moved = DataSource(url="http://influx.internal:8086")
    assert _provisioner(grafana).datasource(moved.body(S)) is Outcome.UPDATED
    assert grafana.state.datasources["seamline-influxdb"]["url"] == "http://influx.internal:8086"
    assert _provisioner(grafana).datasource(moved.body(S)) is Outcome.UNCHANGED


def test_dashboards_of_others_in_the_folder_are_reported_not_deleted(grafana: FakeGrafana) -> None:
    _provisioner(grafana).run(build_all(S), DataSource().body(S))
    grafana.state.dashboards["someone-else"] = {"dashboard": {"uid": "someone-else", "version": 3, "id": 99},
                                                "folderUid": "seamline"}
    report = _provisioner(grafana).run(build_all(S), DataSource().body(S))
    assert report.unknown_in_folder == ("someone-else",)
    assert "someone-else" in grafana.state.dashboards


def test_a_restarting_grafana_is_retried_and_a_bad_token_is_an_error(grafana: FakeGrafana) -> None:
    grafana.state.fail_next = 2  # two 503s, then answers
    assert _provisioner(grafana).folder() is Outcome.CREATED
    grafana.state.fail_next = 10
    with pytest.raises(ProvisionError, match="did not answer after 3 attempts"):
        _provisioner(grafana).folder()
    grafana.state.fail_next = 0
    with pytest.raises(ProvisionError, match="Unauthorized") as err:
        _provisioner(grafana, token="wrong").folder()
    assert "wrong" not in str(err.value)


def test_the_cli_provisions_with_the_token_from_the_environment(grafana: FakeGrafana, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GRAFANA_TEST_TOKEN", TOKEN)
    argv = ["dashboards", "provision", "--url", grafana.url, "--token-env", "GRAFANA_TEST_TOKEN"]
    assert main(argv) == 0
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("seamline-cluster: created") == 1 and out.count("seamline-cluster: unchanged") == 1
    assert TOKEN not in out
    monkeypatch.delenv("GRAFANA_TEST_TOKEN")
    assert main(argv) == 2
    assert "GRAFANA_TEST_TOKEN" in capsys.readouterr().err


def test_the_cli_sends_the_influx_secret_it_reads_and_never_prints_it(
        grafana: FakeGrafana, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GRAFANA_TEST_TOKEN", TOKEN)
    base = ["dashboards", "provision", "--url", grafana.url, "--token-env", "GRAFANA_TEST_TOKEN",
            "--influx-version", "2"]
    assert main(base) == 2  # SEAMLINE_INFLUX_TOKEN not set
    assert "SEAMLINE_INFLUX_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("SEAMLINE_INFLUX_TOKEN", "influx-secret-123")
    assert main(base) == 0
    assert "influx-secret-123" not in capsys.readouterr().out
    ds = grafana.state.datasources["seamline-influxdb"]
    assert ds["secureJsonFields"] == {"httpHeaderValue1": True} and ds["jsonData"]["httpHeaderName1"] == "Authorization"
