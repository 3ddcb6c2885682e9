"""`seamline broker-config --auth password`: TLS with the server's certificate, then user name and
password checked against the generated password file; the same ACL as with certificates. And
the password hashes are the ones Debian's `mosquitto_passwd` makes."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from seamline.security import passwd
from tests.support.mqtt_probe import ACCEPTED, NOT_AUTHORIZED, Credentials, attempt, probe
from tests.support.secure_cluster import GATEWAY_A, SecureBroker

pytestmark = pytest.mark.integration


def login(b: SecureBroker, username: str | None, password: str | None) -> Credentials:
    return Credentials(ca=b.pki / "ca" / "ca.pem", username=username, password=password)


def test_only_the_right_password_gets_in(password_broker: SecureBroker) -> None:
    b = password_broker
    a_folder = b.pki / "gateways" / "f001" / "s1" / "gw01"
    right = b.password(a_folder)
    cases = {
        "anonymous": login(b, None, None),
        "wrong password": login(b, "gw/f001/s1/gw01", right[:-1] + ("x" if right[-1] != "x" else "y")),
        "another identity's password": login(b, "gw/f001/s1/gw01", b.password(b.pki / "services" / "rules")),
        "unknown user": login(b, "gw/f001/s1/gw99", right),
        "revoked identity": login(b, "svc/notify", right),
    }
    refused = {name: attempt(b.port, creds) for name, creds in cases.items()}
    assert {name: o.connected for name, o in refused.items()} == dict.fromkeys(cases, False), refused
    assert {o.reason for o in refused.values()} == {"Not authorized"}, refused  # CONNACK 0x87
    assert attempt(b.port, login(b, "gw/f001/s1/gw01", right)).connected


def test_password_identities_get_the_same_acl(password_broker: SecureBroker) -> None:
    b = password_broker
    e, s, g = GATEWAY_A
    creds = login(b, f"gw/{e}/{s}/{g}", b.password(b.pki / "gateways" / e / s / g))
    with probe(b.port, creds) as a:
        assert a.publish(f"seamline/v1/{e}/{s}/line01/m001/data", b"{}") in ACCEPTED
        assert a.publish(f"seamline/v1/{e}/{s}/line01/_line/capacity", b"{}", retain=True) == NOT_AUTHORIZED
        assert a.publish(f"seamline/v1/f002/{s}/line01/m001/data", b"{}") == NOT_AUTHORIZED


def test_our_hashes_match_debians_mosquitto_passwd(tmp_path: Path) -> None:
    """`mosquitto_passwd` hashes a password with its own random salt; hashing the same password
    with that salt must give the same line, and a wrong password must not verify."""
    file = tmp_path / "passwd"
    password = passwd.new_password()
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(file), "svc/rules", password],
                   check=True, capture_output=True, timeout=30)
    user, hashed = file.read_text().strip().split(":", 1)
    assert user == "svc/rules" and hashed.startswith(f"$7${passwd.ITERATIONS}$")
    salt = base64.b64decode(hashed.split("$")[3])
    assert passwd.hash_password(password, salt=salt) == hashed
    assert passwd.verify(password, hashed)
    assert not passwd.verify(password + "x", hashed)
