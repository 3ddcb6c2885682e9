"""`seamline pki` and `seamline broker-config` on the command line: exit codes, what they print
(never key material or passwords), and a gateway's `seamline edge` never loading them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from seamline.cli import main

MASTER = Path(__file__).resolve().parents[3] / "rules" / "master_data.sample.yaml"


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out + err


def secrets_of(d: Path) -> list[str]:
    """Every line of every secret in the store that is long enough to be recognisable."""
    found = []
    for p in d.rglob("*"):
        if p.name in ("key.pem", "ca.key", "password") or p.name.endswith(".key"):
            found += [line for line in p.read_text().splitlines() if len(line) > 16 and "-----" not in line]
    return found


def test_the_whole_flow_prints_no_secret(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    d, out = tmp_path / "pki", tmp_path / "out"
    printed = ""
    for args in (
        ("pki", "init", "--dir", d),
        ("pki", "issue", "--dir", d, "gateway", "gw01", "--enterprise", "f001", "--site", "s1", "--master", MASTER),
        ("pki", "issue", "--dir", d, "service", "ingest", "--name", "ingest-1"),
        ("pki", "issue", "--dir", d, "broker", "--dns", "localhost"),
        ("pki", "renew", "--dir", d, "--before-days", "400"),
        ("pki", "list", "--dir", d),
        ("broker-config", "--master", MASTER, "--pki", d, "--out", out, "--auth", "password", "--emqx"),
        ("pki", "revoke", "--dir", d, "svc/ingest-1"),
        ("pki", "list", "--dir", d),
    ):
        rc, text = run(capsys, *args)
        assert rc == 0, (args, text)
        printed += text
    assert "gw/f001/s1/gw01" in printed and "revoked" in printed
    leaked = [s for s in secrets_of(d) + secrets_of(out) if s in printed]
    assert leaked == [] and "PRIVATE KEY" not in printed


def test_list_shows_identity_expiry_and_status(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    d = tmp_path / "pki"
    run(capsys, "pki", "init", "--dir", d)
    run(capsys, "pki", "issue", "--dir", d, "gateway", "gw01", "--enterprise", "f001", "--site", "s1", "--days", "10")
    run(capsys, "pki", "issue", "--dir", d, "service", "rules")
    run(capsys, "pki", "revoke", "--dir", d, "svc/rules")
    rc, text = run(capsys, "pki", "list", "--dir", d)
    rows = {line.split()[0]: line.split() for line in text.splitlines()[2:]}
    assert rc == 0
    assert rows["gw/f001/s1/gw01"][-1] == "due" and rows["gw/f001/s1/gw01"][-3] == "9"  # "renew due", 9 days left
    assert rows["svc/rules"][-1] == "revoked"


@pytest.mark.parametrize(("args", "message"), [
    (("pki", "issue", "--dir", "{d}", "gateway", "..", "--enterprise", "f001", "--site", "s1"), "must not start"),
    (("pki", "issue", "--dir", "{d}", "gateway", "gw01", "--enterprise", "f009", "--site", "s1", "--master", MASTER),
     "no site 's1' in enterprise 'f009'"),
    (("pki", "revoke", "--dir", "{d}", "gw/nobody/s1/x"), "no identity"),
    (("pki", "init", "--dir", "{d}"), "refusing to replace"),
    (("pki", "list", "--dir", "{d}/elsewhere"), "seamline pki init"),
    (("broker-config", "--master", MASTER, "--pki", "{d}", "--out", "{d}/o", "--listen", "8883"), "HOST:PORT"),
    (("broker-config", "--master", MASTER, "--pki", "{d}", "--out", "{d}/o"), "no broker certificate"),
])
def test_usage_errors_exit_2_with_one_clear_line(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                 args: tuple[object, ...], message: str) -> None:
    d = tmp_path / "pki"
    run(capsys, "pki", "init", "--dir", d)
    rc, text = run(capsys, *(str(a).replace("{d}", str(d)) for a in args))
    assert rc == 2, text
    assert message in text, text


def test_unknown_service_role_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["pki", "issue", "--dir", str(tmp_path), "service", "admin"])
    assert exc.value.code == 2


def test_a_gateway_never_loads_the_pki() -> None:
    """`seamline edge` builds its parser without importing seamline.security or cryptography."""
    code = ("import sys; from seamline.cli import build_parser; build_parser('edge'); "
            "print(sorted(m for m in sys.modules if m.startswith(('cryptography', 'seamline.security'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_bulk_issue_from_csv(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    d = tmp_path / "pki"
    run(capsys, "pki", "init", "--dir", d)
    csv_file = tmp_path / "gateways.csv"
    csv_file.write_text("enterprise,site,gateway_id\nf001,s1,gw01\nf002,s1,gw01\n")
    rc, text = run(capsys, "pki", "issue", "--dir", d, "gateways", csv_file, "--master", MASTER)
    assert rc == 0 and "issued 2 gateway certificates" in text, text
    assert (d / "gateways/f002/s1/gw01/cert.pem").exists()
    rc, text = run(capsys, "pki", "issue", "--dir", d, "gateways", csv_file)
    assert rc == 2 and "already has a certificate" in text  # all checked before any is minted
    csv_file.write_text("enterprise,site,gateway_id\nf003,s1,gw01\nf003,s1,gw 2\n")
    rc, text = run(capsys, "pki", "issue", "--dir", d, "gateways", csv_file)
    assert rc == 2 and "gateways.csv:3:" in text, text
    assert not (d / "gateways/f003").exists()
