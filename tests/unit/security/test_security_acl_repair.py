"""The confirmation/repair topics in the ACL: a gateway reads only its own confirm and resend and
writes only its own lost report; the ingest identity (the confirmer) writes confirm and resend."""

from __future__ import annotations

from seamline.security.acl import Action, Policy, allowed, build_policy
from seamline.security.identity import GatewayIdentity, Role, ServiceIdentity

GW = "seamline/v1/f001/s1/_gateway/gw01/{}"
OTHER = "seamline/v1/f001/s1/_gateway/gw02/{}"


def _policy() -> tuple[Policy, str, str]:
    gw = GatewayIdentity(enterprise="f001", site="s1", gateway_id="gw01")
    ingest = ServiceIdentity(name="ingest", role=Role.INGEST)
    return build_policy([gw, ingest]), gw.username, ingest.username


def test_gateway_reads_its_confirm_and_resend_and_writes_lost_only() -> None:
    policy, gw, _ = _policy()
    for kind in ("confirm", "resend"):
        assert allowed(policy, gw, Action.RECEIVE, GW.format(kind))
        assert not allowed(policy, gw, Action.PUBLISH, GW.format(kind))
        assert not allowed(policy, gw, Action.RECEIVE, OTHER.format(kind))
    assert allowed(policy, gw, Action.PUBLISH, GW.format("lost"))
    assert not allowed(policy, gw, Action.PUBLISH, OTHER.format("lost"))


def test_ingest_identity_confirms_and_reads_lost() -> None:
    policy, _, ingest = _policy()
    for kind in ("confirm", "resend"):
        assert allowed(policy, ingest, Action.PUBLISH, GW.format(kind))
    assert allowed(policy, ingest, Action.RECEIVE, GW.format("lost"))
    assert not allowed(policy, ingest, Action.PUBLISH, GW.format("lost"))
