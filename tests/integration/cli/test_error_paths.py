"""Every bad input an operator met (issue 14), through the real ``seamline`` command: one line per
problem naming the file (full path), the key and what was expected, exit 2 for what the user can
fix, 1 for a server that is not there, never a traceback (that needs ``--debug``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

SEAMLINE = str(Path(sys.executable).parent / "seamline")
REPO = Path(__file__).resolve().parents[3]

EDGE = """\
gateway: {{id: gw1, enterprise: acme, site: plant1}}
uplink: {{host: 127.0.0.1, port: 1{extra_uplink}}}
spool: {{path: {spool}}}
{extra}
"""


def edge_config(tmp: Path, *, spool: str = "spool.sqlite", extra: str = "", extra_uplink: str = "") -> Path:
    path = tmp / "edge.yaml"
    path.write_text(EDGE.format(spool=spool, extra=extra, extra_uplink=extra_uplink))
    return path


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[Path], list[str]]  # writes what the case needs into the temp dir, returns argv
    code: int
    says: tuple[str, ...]  # each must be in stderr ("{tmp}" is the temp dir's full path)
    never: tuple[str, ...] = ()  # secret values that must not be shown
    one_line: bool = False  # the whole of stderr is one line


def _schema_onto_file(tmp: Path) -> list[str]:
    (tmp / "taken").write_text("x")
    return ["contracts", "schema", str(tmp / "taken")]


def _orders(tmp: Path, data: bytes) -> list[str]:
    (tmp / "orders.csv").write_bytes(data)
    (tmp / "cap.json").write_text("[]")
    return ["match", "--orders", str(tmp / "orders.csv"), "--capacity", str(tmp / "cap.json")]


def _ingest(tmp: Path, text: str, *more: str) -> list[str]:
    (tmp / "ingest.yaml").write_text(text)
    return ["ingest", *more, "--config", str(tmp / "ingest.yaml")]


def _quarantine_under_a_file(tmp: Path) -> list[str]:
    (tmp / "afile").write_text("")
    return _ingest(tmp, "quarantine: {path: afile/nodir/q.sqlite}\n")


def _rules(tmp: Path, text: str) -> list[str]:
    (tmp / "rules.yaml").write_text(text)
    return ["rules", "check-config", "--config", str(tmp / "rules.yaml")]


CASES = [
    Case("schema onto a file", _schema_onto_file, 2, ("{tmp}/taken", "expected a directory")),
    Case("edge run, spool in a missing folder",
         lambda t: ["edge", "run", "--config", str(edge_config(t, spool="nodir/spool.sqlite"))],
         2, ("{tmp}/edge.yaml", "spool.path", "{tmp}/nodir", "expected an existing folder")),
    Case("edge run, the shipped sample (its tls_ca is not there)",
         lambda t: ["edge", "run", "--config", str(REPO / "edge_agent" / "edge.sample.yaml")],
         2, (f"{REPO}/edge_agent/edge.sample.yaml", "uplink.tls_ca", "expected a PEM CA file")),
    Case("edge check-config, TLS CA relative to the config file is missing",
         lambda t: ["edge", "check-config", str(edge_config(t, extra_uplink=", tls_ca: ca.pem"))],
         2, ("uplink.tls_ca: {tmp}/ca.pem does not exist",)),
    Case("edge check-config, invalid modbus entry",
         lambda t: ["edge", "check-config", str(edge_config(t, extra="modbus: [{asset: pv1, port: x}]"))],
         2, ("{tmp}/edge.yaml", "modbus[0]")),
    Case("edge check-config, missing register map",
         lambda t: ["edge", "check-config", str(edge_config(t, extra=(
             "modbus: [{asset: wt1, area: energy, asset_kind: wind_turbine, host: 127.0.0.1, "
             "protocol: register_map, map_file: nomap.yaml}]")))],
         2, ("{tmp}/edge.yaml", "nomap.yaml")),
    Case("edge check-config, a password that is not a string is not echoed",
         lambda t: ["edge", "check-config", str(edge_config(t, extra_uplink=", password: [98765432109]"))],
         2, ("uplink.password",), never=("98765432109",)),
    Case("edge check-config, unknown key",
         lambda t: ["edge", "check-config", str(edge_config(t, extra="spoool: {}"))],
         2, ("{tmp}/edge.yaml: spoool", "unknown key")),
    Case("edge check-config, missing file",
         lambda t: ["edge", "check-config", str(t / "nope.yaml")], 2, ("{tmp}/nope.yaml", "cannot read")),
    Case("edge check-config, not YAML",
         lambda t: ["edge", "check-config", str(edge_config(t, extra="a: [b"))], 2, ("{tmp}/edge.yaml", "line ")),
    Case("match, broker not there",
         lambda t: ["match", "--orders", str(REPO / "matching/samples/orders.csv"), "--broker", "mqtt://127.0.0.1:1"],
         1, ("127.0.0.1:1",)),
    Case("match, capacity endpoint not there",
         lambda t: ["match", "--orders", str(REPO / "matching/samples/orders.csv"),
                    "--capacity", "http://127.0.0.1:1/cap"], 1, ("127.0.0.1:1",)),
    Case("match, binary orders file", lambda t: _orders(t, bytes(range(256)) * 4), 2, ("{tmp}/orders.csv",)),
    Case("match, wrong headers", lambda t: _orders(t, b"a,b,c\n1,2,3\n4,5,6\n"), 2, ("{tmp}/orders.csv",)),
    Case("match --check, capacity file not JSON",
         lambda t: (t / "cap.json").write_bytes(b"\x00\xff") and ["match", "--check", "--orders",
                    str(REPO / "matching/samples/orders.csv"), "--capacity", str(t / "cap.json")],
         2, ("{tmp}/cap.json",)),
    Case("match --check, an order row with a bad quantity",
         lambda t: [*_orders(t, b"order_id,buyer,category,sam_min,quantity,due\nA,b,tshirt,5,lots,2030-01-09\n"),
                    "--check"], 2, ("{tmp}/orders.csv", "quantity")),
    Case("ingest, quarantine.path under a file (a folder that cannot be made)",
         _quarantine_under_a_file, 2,
         ("{tmp}/ingest.yaml", "quarantine.path", "{tmp}/afile is not a folder")),
    Case("ingest, TLS CA relative to the config file is missing",
         lambda t: _ingest(t, "mqtt: {tls_ca: ca.pem}\n"), 2, ("mqtt.tls_ca: {tmp}/ca.pem does not exist",)),
    Case("ingest, wrong type", lambda t: _ingest(t, "mqtt: {port: abc}\n"), 2,
         ("{tmp}/ingest.yaml", "mqtt.port")),
    Case("ingest, missing config file", lambda t: ["ingest", "--config", str(t / "nope.yaml")], 2,
         ("{tmp}/nope.yaml",)),
    Case("rules check-config, unknown key", lambda t: _rules(t, "master_data: m.yaml\nfoo: 1\n"), 2,
         ("{tmp}/rules.yaml", "foo")),
    Case("rules check-config, master data missing", lambda t: _rules(t, "master_data: m.yaml\n"), 2,
         ("{tmp}/m.yaml",)),
    Case("rules check-config, MQTT CA relative to the config file is missing",
         lambda t: _rules(t, f"master_data: {REPO}/rules/master_data.sample.yaml\nmqtt: {{tls_ca: ca.pem}}\n"), 2,
         ("{tmp}/rules.yaml: mqtt.tls_ca: {tmp}/ca.pem does not exist; expected a PEM CA file",), one_line=True),
    Case("rules run, capacity endpoint CA missing (checked before start)",
         lambda t: ["rules", "run", "--config", _rules(t, f"master_data: {REPO}/rules/master_data.sample.yaml\n"
                                                          "capacity: {http_tls_ca: /nonexistent/ca.pem}\n")[-1]], 2,
         ("{tmp}/rules.yaml: capacity.http_tls_ca: /nonexistent/ca.pem does not exist",), one_line=True),
    Case("rules check-config, the sample copied alone (its master data and alert rules are not there)",
         lambda t: _rules(t, (REPO / "rules/rules.sample.yaml").read_text(encoding="utf-8")), 2,
         ("{tmp}/rules.yaml: master_data: {tmp}/master_data.sample.yaml does not exist",
          "{tmp}/rules.yaml: alerts: {tmp}/alerts/alerts.sample.yaml does not exist")),
    Case("rules check-config, unknown key in a config named relative to the working directory",
         lambda t: [*_rules(t, "master_data: m.yaml\nfoo: 1\n")[:-1], os.path.relpath(t / "rules.yaml", "/")], 2,
         ("{tmp}/rules.yaml: foo",), one_line=True),
]



def _rel(path: Path) -> str:
    """``path`` relative to the working directory the cases run in (/): the message must still
    name the full path."""
    return os.path.relpath(path, "/")


def _write(tmp: Path, name: str, data: bytes) -> Path:
    (tmp / name).write_bytes(data)
    return tmp / name


CASES += [
    Case("db init, config file missing (named relative)", lambda t: ["db", "init", "--config", _rel(t / "nope.yaml")],
         2, ("{tmp}/nope.yaml: cannot read",), one_line=True),
    Case("notify, config not YAML (named relative)",
         lambda t: ["notify", "--config", _rel(_write(t, "n.yaml", b"a: [b\n"))], 2,
         ("{tmp}/n.yaml", "not valid YAML"), one_line=True),
    Case("match, a CSV saved as .xlsx (named relative)",
         lambda t: ["match", "--orders", _rel(_write(t, "orders.xlsx", b"order_id,buyer\nA,b\n")),
                    "--capacity", str(REPO / "matching/samples/capacity.json")], 2,
         ("{tmp}/orders.xlsx", "not a readable .xlsx workbook"), one_line=True),
    Case("match, empty orders file", lambda t: _orders(t, b""), 2, ("{tmp}/orders.csv", "empty file"), one_line=True),
    Case("match, capacity file missing (named relative)",
         lambda t: ["match", "--orders", str(REPO / "matching/samples/orders.csv"), "--capacity",
                    _rel(t / "cap.json")], 2, ("{tmp}/cap.json",)),
    Case("systemd, --out under a file",
         lambda t: ["systemd", "--out", _rel(_write(t, "afile", b"") / "units"), "--services", "edge"], 2,
         ("{tmp}/afile/units/", "cannot write"), one_line=True),
    Case("status, the config serves no /metrics",
         lambda t: ["status", "--config", str(REPO / "ingest/ingest.sample.yaml")], 2,
         ("ingest.sample.yaml: metrics.port: not set",), one_line=True),
    Case("rules backfill, --from not a time",
         lambda t: ["rules", "backfill", "--config", str(REPO / "rules/rules.sample.yaml"), "--from", "yesterday",
                    "--to", "2026-01-01T00:00Z"], 2, ("--from", "ISO 8601"), one_line=True),
]


ENV_CASES = [
    ("environment override of a port", ["ingest", "check-config"], {"SEAMLINE_INGEST__MQTT__PORT": "abc"},
     ("{tmp}/ingest.yaml", "mqtt.port"), ()),
    ("environment secret of the wrong type is not echoed", ["edge", "check-config"],
     {"SEAMLINE_EDGE__UPLINK__PASSWORD": "[24681357913]"}, ("{tmp}/edge.yaml", "uplink.password"),
     ("24681357913",)),
]


@pytest.mark.parametrize("name,argv,env,says,never", ENV_CASES, ids=[c[0] for c in ENV_CASES])
def test_environment_overrides_are_checked_like_the_file(
    name: str, argv: list[str], env: dict[str, str], says: tuple[str, ...], never: tuple[str, ...], tmp_path: Path,
) -> None:
    tmp = tmp_path.resolve()
    (tmp / "ingest.yaml").write_text("quarantine: {path: q.sqlite}\n")
    config = ["--config", str(tmp / "ingest.yaml")] if argv[0] == "ingest" else [str(edge_config(tmp))]
    assert run([*argv, *config]).returncode == 0  # the file alone is fine
    done = run([*argv, *config], env=env)
    assert done.returncode == 2, done.stderr
    for text in says:
        assert text.format(tmp=tmp) in done.stderr
    for secret in never:
        assert secret not in done.stderr


@pytest.mark.parametrize("service", ["edge", "ingest", "rules"])
def test_sample_config_is_the_shipped_sample(service: str) -> None:
    done = run([service, "sample-config"])
    assert done.returncode == 0
    assert done.stdout == (REPO / {"edge": "edge_agent/edge.sample.yaml", "ingest": "ingest/ingest.sample.yaml",
                                   "rules": "rules/rules.sample.yaml"}[service]).read_text(encoding="utf-8")


def test_ingest_sample_config_checks_ok_where_it_is_copied(tmp_path: Path) -> None:
    (tmp_path / "ingest.yaml").write_text(run(["ingest", "sample-config"]).stdout)
    done = run(["ingest", "check-config", "--config", str(tmp_path / "ingest.yaml")])
    assert done.returncode == 0, done.stderr
    assert f"{tmp_path.resolve()}/ingest-quarantine.sqlite" in done.stdout


def run(argv: list[str], *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SEAMLINE, *argv], capture_output=True, text=True, timeout=120, cwd="/",
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_an_exit_code(case: Case, tmp_path: Path) -> None:
    tmp = tmp_path.resolve()
    done = run(case.make(tmp))
    err = done.stderr
    assert done.returncode == case.code, err
    assert "Traceback" not in err
    for text in case.says:
        assert text.format(tmp=tmp) in err, err
    for secret in case.never:
        assert secret not in err
    assert err.startswith("seamline "), err  # the command's own message, not a library's
    if case.one_line:
        assert len(err.splitlines()) == 1, err


def test_match_check_accepts_the_samples() -> None:
    done = run(["match", "--check", "--orders", str(REPO / "matching/samples/orders.csv"),
                "--profiles", str(REPO / "matching/samples/profiles.yaml")])
    assert done.returncode == 0, done.stderr
    assert "orders valid, 0 problems" in done.stdout


def test_debug_shows_the_traceback_of_an_unexpected_failure(tmp_path: Path) -> None:
    """A failure no component mapped: one line and exit 1; with --debug the traceback too."""
    argv = ["match", "--orders", str(REPO / "matching/samples/orders.csv"), "--capacity", str(tmp_path)]
    plain, debug = run(argv), run(["--debug", *argv])
    assert plain.returncode == debug.returncode
    assert "Traceback" not in plain.stderr
    assert plain.returncode in (1, 2)


def _service_argv(name: str, tmp: Path) -> list[str]:
    """A service pointed at a broker port where nothing listens: it starts, retries, and waits."""
    if name == "edge run":
        (tmp / "e").mkdir()
        path = edge_config(tmp / "e", extra="local: {host: 127.0.0.1, port: 1}")
        return ["edge", "run", "--config", str(path)]
    return _ingest(tmp, "mqtt: {port: 1}\nmetrics: {port: 0}\nquarantine: {path: q.sqlite}\n")


@pytest.mark.parametrize("signum,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("service", ["edge run", "ingest"])
def test_services_say_the_broker_is_away_and_stop_with_the_signals_exit_code(
    service: str, signum: int, code: int, tmp_path: Path,
) -> None:
    proc = subprocess.Popen([SEAMLINE, "-v", *_service_argv(service, tmp_path.resolve())], stderr=subprocess.PIPE,
                            text=True, cwd="/")
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:  # the broker is not there: said at once, with the cause and the next retry
        seen.append(line)
        if "cannot connect to" in line:
            break
    assert "127.0.0.1:1: ConnectionRefusedError" in seen[-1] and "retrying in" in seen[-1], "".join(seen)
    proc.send_signal(signum)
    rest = proc.communicate(timeout=60)[1]
    assert proc.returncode == code, "".join(seen) + rest
    assert "Traceback" not in "".join(seen) + rest


@pytest.mark.parametrize("service", ["edge run", "ingest"])
def test_logging_block_json_lines_and_quiet(service: str, tmp_path: Path) -> None:
    """``logging: {format: json}`` gives one JSON object per line; ``-q`` keeps warnings only."""
    tmp = tmp_path.resolve()
    argv = _service_argv(service, tmp)
    config = Path(argv[-1])
    config.write_text(config.read_text() + "\nlogging: {level: info, format: json}\n")
    proc = subprocess.Popen([SEAMLINE, "-q", *argv], stderr=subprocess.PIPE, text=True, cwd="/")
    assert proc.stderr is not None
    records = []
    for line in proc.stderr:  # the uplink's own failure may come first
        records.append(json.loads(line))
        if "cannot connect to" in records[-1]["msg"]:
            break
    proc.send_signal(signal.SIGTERM)
    rest = proc.communicate(timeout=60)[1]
    assert records[-1]["level"] == "warning" and "cannot connect to" in records[-1]["msg"], records
    assert all(r["level"] in ("warning", "error") for r in records)
    assert all(json.loads(x)["level"] in ("warning", "error") for x in rest.splitlines() if x.strip())
    assert proc.returncode == 143


@pytest.mark.parametrize("signum,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_rules_run_stops_with_the_signals_exit_code(signum: int, code: int, tmp_path: Path) -> None:
    """The shipped sample (InfluxDB not there: the jobs fail and say so, the scheduler keeps going)."""
    proc = subprocess.Popen([SEAMLINE, "rules", "run", "--config", str(REPO / "rules/rules.sample.yaml")],
                            stderr=subprocess.PIPE, text=True, cwd=str(tmp_path))
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:  # logged after the signal handlers are installed
        seen.append(line)
        if "rules service" in line:
            break
    proc.send_signal(signum)
    rest = proc.communicate(timeout=60)[1]
    assert proc.returncode == code, "".join(seen) + rest
    assert "Traceback" not in "".join(seen) + rest


@pytest.mark.parametrize("action", ["list", "replay"])
def test_reading_a_quarantine_never_written_creates_nothing(action: str, tmp_path: Path) -> None:
    tmp = tmp_path.resolve()
    argv = _ingest(tmp, "quarantine: {path: state/q.sqlite}\n", "quarantine", action)
    done = run(argv)
    assert done.returncode == 0, done.stderr
    assert f"no quarantine at {tmp}/state/q.sqlite" in done.stderr
    assert not (tmp / "state").exists()
