"""The broker's authorisation model as data: for every identity, which topics it may write and
which it may read, each rule with the reason it exists. Rendered as Mosquitto's ``acl_file`` (by
:mod:`seamline.security.broker_config`) and as EMQX ``acl.conf`` rules (by
:mod:`seamline.security.emqx`); :func:`allowed` answers the same question the broker does, so the
policy is unit-testable without a broker and the integration tests check the broker agrees.

Semantics (Mosquitto 2.0 ``acl_file``, checked against 2.0.11 in the integration tests):

* Nothing is allowed unless a rule allows it; a ``deny`` rule wins over every allow rule.
* A PUBLISH is checked against the message's topic (write access); a refused QoS 1 publish gets
  PUBACK reason 0x87 on MQTT 5 and is silently dropped on 3.1.1.
* A SUBSCRIBE is granted whatever its filter, including ``$share/<group>/...``: Mosquitto checks
  read access per delivered message, on the message's own topic (no ``$share`` prefix). So the
  question that matters is whether an identity may *receive* a message on a topic.

Topic layout (contracts/topic.py): ``seamline/v1/<enterprise>/<site>/<area>/<asset>/<kind>``.
Gateways write five kinds only (data, state, birth, status, lost) and read their own confirm and
resend topics; every line-level topic
(asset ``_line``: capacity, allocation, bookings) and every command is written by the platform.
Because the kind is the last level, an allow-list per kind forbids the platform kinds without any
change to the topic contract, and a kind added later is forbidden to gateways until granted.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from seamline.contracts.topic import ENTERPRISE_LEVEL, GATEWAY_AREA, LINE_ASSET, ROOT, VERSION, MessageKind, matches
from seamline.security.identity import ClientIdentity, GatewayIdentity, Role, ServiceIdentity

# Platform-side kinds on line topics. ``bookings`` is not a MessageKind on this branch yet (the
# contract change that adds it is in flight); the ACL grants it by name so it is ready when it lands.
BOOKINGS = "bookings"
PREFIX = f"{ROOT}/{VERSION}"


class Access(enum.StrEnum):
    READ = "read"
    WRITE = "write"
    READWRITE = "readwrite"
    DENY = "deny"  # neither read nor write, whatever an allow rule says


class Action(enum.StrEnum):
    PUBLISH = "publish"  # the client publishes on a topic: needs write
    RECEIVE = "receive"  # the broker delivers a message on a topic to the client: needs read


@dataclass(frozen=True, slots=True)
class Rule:
    access: Access
    topic: str  # an MQTT topic filter; ``+`` and ``#`` are wildcards
    why: str

    def __post_init__(self) -> None:
        check_filter(self.topic)

    def grants(self, action: Action) -> bool:
        wanted = Access.WRITE if action is Action.PUBLISH else Access.READ
        return self.access in (wanted, Access.READWRITE)


@dataclass(frozen=True, slots=True)
class Grant:
    """Everything one identity may do; ``title`` heads its block in the rendered files."""

    username: str
    title: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class Policy:
    grants: tuple[Grant, ...]
    _by_user: dict[str, Grant] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_user: dict[str, Grant] = {}
        for g in self.grants:
            if g.username in by_user:
                raise ValueError(f"identity {g.username!r} is granted twice")
            by_user[g.username] = g
        object.__setattr__(self, "_by_user", by_user)

    def grant(self, username: str) -> Grant | None:
        return self._by_user.get(username)


def check_filter(topic_filter: str) -> str:
    """``topic_filter`` if it is a valid MQTT topic filter, else ValueError."""
    if not topic_filter or "\x00" in topic_filter:
        raise ValueError(f"invalid topic filter {topic_filter!r}")
    levels = topic_filter.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            raise ValueError(f"'#' must be a whole last level in {topic_filter!r}")
        if "+" in level and level != "+":
            raise ValueError(f"'+' must be a whole level in {topic_filter!r}")
    return topic_filter


def allowed(policy: Policy, username: str | None, action: Action, topic: str) -> bool:
    """Whether the broker lets ``username`` (None: anonymous) do ``action`` on the concrete
    ``topic``: no rule for it, or a matching deny rule, means no."""
    if username is None or "+" in topic or "#" in topic or not topic:
        return False
    grant = policy.grant(username)
    if grant is None:
        return False
    hits = [r for r in grant.rules if matches(r.topic, topic)]
    if any(r.access is Access.DENY for r in hits):
        return False
    return any(r.grants(action) for r in hits)


# ------------------------------------------------------------------------------ the seamline policy


def site_topic(enterprise: str, site: str, area: str, asset: str, kind: str) -> str:
    return f"{PREFIX}/{enterprise}/{site}/{area}/{asset}/{kind}"


def line_topic(kind: str) -> str:
    """Every line-level topic of ``kind`` in the cluster."""
    return site_topic("+", "+", "+", LINE_ASSET, kind)


GATEWAY_KINDS = (MessageKind.DATA, MessageKind.STATE, MessageKind.BIRTH, MessageKind.STATUS)


def gateway_grant(g: GatewayIdentity) -> Grant:
    e, s, me = g.enterprise, g.site, g.gateway_id
    rules = (
        Rule(Access.DENY, site_topic(e, s, "+", LINE_ASSET, "+"),
             "line-level topics (capacity, allocation, bookings) are the platform's, even on this site"),
        Rule(Access.WRITE, site_topic(e, s, "+", "+", MessageKind.DATA),
             "telemetry of this site's machines and energy assets, and the gateway's own"),
        Rule(Access.WRITE, site_topic(e, s, "+", "+", MessageKind.STATE),
             "machine state changes on this site"),
        Rule(Access.WRITE, site_topic(e, s, GATEWAY_AREA, me, MessageKind.BIRTH),
             "this gateway's birth certificate (its assets), on every connect"),
        Rule(Access.WRITE, site_topic(e, s, GATEWAY_AREA, me, MessageKind.STATUS),
             "this gateway's online/offline status, retained, and its Last Will"),
        Rule(Access.READ, site_topic(e, s, GATEWAY_AREA, me, MessageKind.CONFIRM),
             "what the platform has stored of this gateway's messages, retained: the history it may forget"),
        Rule(Access.READ, site_topic(e, s, GATEWAY_AREA, me, MessageKind.RESEND),
             "the platform's requests to republish holes from this gateway's history"),
        Rule(Access.WRITE, site_topic(e, s, GATEWAY_AREA, me, MessageKind.LOST),
             "what a resend asked and this gateway no longer has: definitively lost"),
    )
    return Grant(g.username, f"gateway {me} of enterprise {e}, site {s}", rules)


def _service_rules(role: Role, ingest_kinds: Sequence[MessageKind]) -> tuple[Rule, ...]:
    if role is Role.INGEST:
        return (*(
            Rule(Access.READ, site_topic("+", "+", "+", "+", k), f"gateway {k.value} messages of every site, "
                 "shared subscription $share/<group>/... included (checked on the message topic)")
            for k in ingest_kinds
        ), *_confirmer_rules())
    if role is Role.RULES:
        return (
            Rule(Access.WRITE, line_topic(MessageKind.CAPACITY), "the capacity feed, retained, per line"),
            Rule(Access.READ, line_topic(BOOKINGS), "what the latest plan booked, to subtract it from capacity"),
            Rule(Access.WRITE, line_topic(MessageKind.CARBON), "green share and carbon per piece, retained, per line"),
            Rule(Access.WRITE, site_topic("+", ENTERPRISE_LEVEL, ENTERPRISE_LEVEL, ENTERPRISE_LEVEL,
                                          MessageKind.GRADE),
                 "per-mu grades (seamline grade runs with the rules config), retained, per enterprise"),
            Rule(Access.READ, line_topic(MessageKind.CAPACITY),
                 "the daily report (seamline report --config rules.yaml) shows capacity and the plan"),
            Rule(Access.READ, line_topic(MessageKind.ALLOCATION),
                 "the daily report shows the plan's orders per line"),
        )
    if role is Role.MATCHING:
        return (
            Rule(Access.READ, line_topic(MessageKind.CAPACITY), "free capacity per line, the plan's input"),
            Rule(Access.READWRITE, line_topic(MessageKind.ALLOCATION),
                 "the plan's orders per line, retained; read back to replace an older plan"),
            Rule(Access.READWRITE, line_topic(BOOKINGS),
                 "minutes the plan books per line and day, retained; read back to replace an older plan"),
            Rule(Access.READ, line_topic(MessageKind.CARBON),
                 "each line's green share and carbon per piece, for orders with green requirements"),
            Rule(Access.READ, site_topic("+", ENTERPRISE_LEVEL, ENTERPRISE_LEVEL, ENTERPRISE_LEVEL, MessageKind.GRADE),
                 "per-mu grades, for the grade preference on ties"),
        )
    return ()  # notify talks to people (e-mail, chat), not to the broker


def _confirmer_rules() -> tuple[Rule, ...]:
    """``seamline ingest confirm`` runs with ingest's identity (same config, same database)."""
    gw = site_topic("+", "+", GATEWAY_AREA, "+", "{}")
    return (
        Rule(Access.WRITE, gw.format(MessageKind.CONFIRM), "the confirmer: stored seq ranges per gateway, retained"),
        Rule(Access.WRITE, gw.format(MessageKind.RESEND), "the confirmer: resend requests for holes past the grace"),
        Rule(Access.READ, gw.format(MessageKind.LOST), "the confirmer: gateways' definitively-lost reports, stored"),
    )


def service_grant(s: ServiceIdentity, *, ingest_kinds: Sequence[MessageKind] = GATEWAY_KINDS) -> Grant:
    rules = _service_rules(s.role, ingest_kinds)
    title = f"service {s.name} (role {s.role.value})" + ("" if rules else ": no topic at all")
    return Grant(s.username, title, rules)


def build_policy(identities: Iterable[ClientIdentity]) -> Policy:
    """The cluster's policy for these identities (sorted by username, so output is stable)."""
    grants = [
        gateway_grant(i) if isinstance(i, GatewayIdentity) else service_grant(i)
        for i in sorted(identities, key=lambda i: i.username)
    ]
    return Policy(tuple(grants))
