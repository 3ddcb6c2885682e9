"""`seamline broker-config` output, read back: the Mosquitto settings that make the broker refuse
strangers, the ACL file equal to the policy model, the password file, the EMQX rules, and the
refusals when master data and the PKI store disagree."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import pytest

from seamline.rules.master_data import load_master_data
from seamline.security import passwd
from seamline.security.acl import Access, build_policy
from seamline.security.broker_config import BrokerConfigError, write_broker_config
from seamline.security.identity import GatewayIdentity, Role, ServiceIdentity
from seamline.security.mosquitto_conf import AuthMode, BrokerSettings
from seamline.security.pki_store import BrokerSpec, PkiStore

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
MASTER = Path(__file__).resolve().parents[3] / "rules" / "master_data.sample.yaml"
A = GatewayIdentity(enterprise="f001", site="s1", gateway_id="gw01")
B = GatewayIdentity(enterprise="f002", site="s1", gateway_id="gw01")


@pytest.fixture
def store(tmp_path: Path) -> PkiStore:
    s = PkiStore.init(tmp_path / "pki", cluster="test", now=NOW)
    for identity in (A, B, *(ServiceIdentity(role=r, name=r.value) for r in Role)):
        s.issue(identity, now=NOW)
    s.issue(BrokerSpec("broker", ("localhost",), ()), now=NOW)
    return s


def render(store: PkiStore, out: Path, auth: AuthMode = AuthMode.CERT, **kw: object) -> dict[str, str]:
    settings = BrokerSettings(auth=auth, host="127.0.0.1", port=18883, install_dir=PurePosixPath("/etc/mq"))
    write_broker_config(master=load_master_data(MASTER), master_path=MASTER, store=store, out=out,
                        settings=settings, now=NOW, **kw)  # type: ignore[arg-type]
    return {str(p.relative_to(out)): p.read_text() for p in out.rglob("*") if p.is_file()}


def conf_settings(text: str) -> list[tuple[str, str]]:
    out = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            out.append((key, value))
    return out


def parse_acl(text: str) -> dict[str, list[tuple[str, str]]]:
    """An independent reader of Mosquitto's acl_file grammar (the oracle for the renderer)."""
    users: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        word, rest = line.split(" ", 1)
        if word == "user":
            current = users.setdefault(rest, [])
        else:
            assert word == "topic" and current is not None, line  # no rule outside a user block
            access, topic = rest.split(" ", 1)
            current.append((access, topic))
    return users


def test_cert_mode_settings(store: PkiStore, tmp_path: Path) -> None:
    files = render(store, tmp_path / "out")
    settings = conf_settings(files["mosquitto.conf"])
    for expected in [("allow_anonymous", "false"), ("require_certificate", "true"),
                     ("use_identity_as_username", "true"), ("tls_version", "tlsv1.2"),
                     ("crlfile", "/etc/mq/certs/crl.pem"), ("cafile", "/etc/mq/certs/ca.pem"),
                     ("certfile", "/etc/mq/certs/server.pem"), ("keyfile", "/etc/mq/certs/server.key"),
                     ("acl_file", "/etc/mq/acl"), ("listener", "18883 127.0.0.1"),
                     ("use_username_as_clientid", "true"), ("per_listener_settings", "false")]:
        assert expected in settings, expected
    keys = [k for k, _ in settings]
    assert "password_file" not in keys and "passwd" not in files
    assert keys.count("listener") == 1  # no plain-text listener next to the TLS one
    assert keys.index("allow_anonymous") < keys.index("listener")  # global, before the listener


def test_password_mode_settings_and_hashes(store: PkiStore, tmp_path: Path) -> None:
    files = render(store, tmp_path / "out", AuthMode.PASSWORD)
    settings = conf_settings(files["mosquitto.conf"])
    assert ("password_file", "/etc/mq/passwd") in settings and ("require_certificate", "false") in settings
    assert "crlfile" not in dict(settings) and "use_identity_as_username" not in dict(settings)
    lines = dict(line.split(":", 1) for line in files["passwd"].splitlines())
    index = store.index()
    assert sorted(lines) == sorted(i.username for i in index.active_clients())
    for record in index.identities:
        if record.username in lines:
            assert passwd.verify(store.password(record), lines[record.username])  # type: ignore[arg-type]
    for name, text in files.items():  # no file but the user's own folder holds a cleartext password
        for record in index.identities:
            if record.username in lines:
                assert store.password(record) not in text, name  # type: ignore[arg-type]


def test_acl_file_is_the_policy(store: PkiStore, tmp_path: Path) -> None:
    files = render(store, tmp_path / "out")
    policy = build_policy(store.index().active_clients())
    assert parse_acl(files["acl"]) == {
        g.username: [(r.access.value, r.topic) for r in g.rules] for g in policy.grants
    }
    assert files["acl"].count("# ") > sum(len(g.rules) for g in policy.grants)  # every rule says why


def test_revoked_identities_get_nothing(store: PkiStore, tmp_path: Path) -> None:
    store.revoke("gw/f002/s1/gw01", now=NOW)
    files = render(store, tmp_path / "out", AuthMode.PASSWORD)
    assert "gw/f002/s1/gw01" not in parse_acl(files["acl"])
    assert "gw/f002/s1/gw01" not in files["passwd"]
    assert files["certs/crl.pem"] == store.crl_path.read_text()


def test_file_modes(store: PkiStore, tmp_path: Path) -> None:
    out = tmp_path / "out"
    render(store, out, AuthMode.PASSWORD, emqx_files=True)
    modes = {str(p.relative_to(out)): stat.S_IMODE(p.stat().st_mode) for p in out.rglob("*")}
    assert modes == {"mosquitto.conf": 0o644, "acl": 0o644, "passwd": 0o600, "certs": 0o700, "certs/ca.pem": 0o644,
                     "certs/crl.pem": 0o644, "certs/server.pem": 0o644, "certs/server.key": 0o600,
                     "emqx-acl.conf": 0o644, "emqx-authz.md": 0o644}


def test_switching_back_to_cert_mode_removes_the_password_file(store: PkiStore, tmp_path: Path) -> None:
    render(store, tmp_path / "out", AuthMode.PASSWORD)
    assert "passwd" not in render(store, tmp_path / "out", AuthMode.CERT)


def test_gateway_of_an_unknown_site_is_an_error(store: PkiStore, tmp_path: Path) -> None:
    store.issue(GatewayIdentity(enterprise="f009", site="s1", gateway_id="gw01"), now=NOW)
    with pytest.raises(BrokerConfigError, match=r"gw/f009/s1/gw01"):
        render(store, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_no_broker_certificate_is_an_error(tmp_path: Path) -> None:
    s = PkiStore.init(tmp_path / "pki", cluster="test", now=NOW)
    with pytest.raises(BrokerConfigError, match="pki issue --dir DIR broker"):
        render(s, tmp_path / "out")


def test_emqx_rules(store: PkiStore, tmp_path: Path) -> None:
    files = render(store, tmp_path / "out", emqx_files=True)
    rules = files["emqx-acl.conf"]
    code = [line for line in rules.splitlines() if line and not line.startswith("%%")]
    assert code[-1] == "{deny, all}."
    assert all(line.endswith(".") and line.startswith("{") for line in code)
    a = [line for line in code if '"gw/f001/s1/gw01"' in line]
    assert a[0].startswith("{deny,")  # first match wins: the carve-out precedes the allows
    assert a[1] == ('{allow, {username, "gw/f001/s1/gw01"}, publish, ["seamline/v1/f001/s1/+/+/data", '
                    '"seamline/v1/f001/s1/+/+/state", "seamline/v1/f001/s1/_gateway/gw01/birth", '
                    '"seamline/v1/f001/s1/_gateway/gw01/status", "seamline/v1/f001/s1/_gateway/gw01/lost"]}.')
    assert any(line.startswith('{allow, {username, "gw/f001/s1/gw01"}, subscribe, ')
               and '"seamline/v1/f001/s1/_gateway/gw01/confirm"' in line for line in a)
    ingest = next(line for line in code if '"svc/ingest"' in line and ", subscribe, " in line)
    assert '"$share/+/seamline/v1/+/+/+/+/data"' in ingest
    assert not any('"svc/notify"' in line for line in code)
    assert "peer_cert_as_username = cn" in files["emqx-authz.md"]
    assert Access.DENY.value in rules
