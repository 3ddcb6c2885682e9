"""Identities: the grammar of names, the MQTT user name (certificate CN) and the SAN URI."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.security.identity import (
    MAX_IDENTITY_CHARS,
    GatewayIdentity,
    IdentityError,
    Role,
    ServiceIdentity,
    check_name,
    parse_san_uri,
)

NAME = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,15}", fullmatch=True)


def test_usernames_and_uris() -> None:
    g = GatewayIdentity(enterprise="f001", site="s1", gateway_id="gw01")
    assert g.username == "gw/f001/s1/gw01"
    assert g.san_uri == "urn:seamline:gateway:f001:s1:gw01"
    s = ServiceIdentity(role=Role.INGEST, name="ingest-2")
    assert s.username == "svc/ingest-2"
    assert s.san_uri == "urn:seamline:service:ingest:ingest-2"


def test_same_gateway_id_in_two_factories_are_two_identities() -> None:
    a = GatewayIdentity(enterprise="f001", site="s1", gateway_id="gw01")
    b = GatewayIdentity(enterprise="f002", site="s1", gateway_id="gw01")
    assert a.username != b.username


@pytest.mark.parametrize("bad", ["", ".", "..", ".hidden", "-rf", "a/b", "a:b", "a b", "a+b", "a#", "$SYS", "织造",
                                 "x" * 65, "a\nb"])
def test_bad_names_are_refused(bad: str) -> None:
    with pytest.raises(IdentityError):
        check_name(bad, what="name")


def test_identity_longer_than_a_cn_is_refused() -> None:
    long = "x" * 30
    with pytest.raises(IdentityError, match=f"{MAX_IDENTITY_CHARS}"):
        GatewayIdentity(enterprise=long, site="s1", gateway_id=long)


def test_unknown_role_is_refused() -> None:
    with pytest.raises(IdentityError, match="unknown service role"):
        ServiceIdentity(role="admin", name="x")  # type: ignore[arg-type]


@given(NAME, NAME, NAME)
def test_gateway_uri_round_trips(e: str, s: str, g: str) -> None:
    identity = GatewayIdentity(enterprise=e, site=s, gateway_id=g)
    assert parse_san_uri(identity.san_uri) == identity


@given(st.sampled_from(list(Role)), NAME)
def test_service_uri_round_trips(role: Role, name: str) -> None:
    identity = ServiceIdentity(role=role, name=name)
    assert parse_san_uri(identity.san_uri) == identity


@pytest.mark.parametrize("uri", ["urn:other:gateway:a:b:c", "urn:seamline:gateway:a:b", "urn:seamline:service:boss:x",
                                 "urn:seamline:printer:a", "urn:seamline:gateway:a:b:c:d", "https://x"])
def test_foreign_uris_are_refused(uri: str) -> None:
    with pytest.raises(IdentityError):
        parse_san_uri(uri)
