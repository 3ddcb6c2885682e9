"""What each identity may do, against a real Mosquitto configured by `seamline broker-config`:
a gateway writes telemetry of its own site only and never a platform topic (capacity,
allocation, bookings, commands), and each service reads and writes exactly what it needs.

Absence is shown without waiting: a refused QoS 1 publish is dropped before routing and its
PUBACK (0x87) comes back after that; a client's QoS 1 round trip (``barrier``) returns only after
everything routed to it earlier has been delivered; a later sentinel from an allowed publisher
arrives after anything that was routed before it."""

from __future__ import annotations

import json
import socket

import pytest

from seamline.security.acl import Action, allowed, build_policy
from seamline.security.pki_store import PkiStore
from tests.support.mqtt_probe import ACCEPTED, NOT_AUTHORIZED, Credentials, Probe, probe, wait_until
from tests.support.secure_cluster import GATEWAY_A, GATEWAY_B, GATEWAY_C, SecureBroker

pytestmark = pytest.mark.integration

ROUNDS = 20  # each forged publish is tried this many times; every one must be refused
KINDS = ("data", "state", "birth", "status")
INGEST_FILTERS = [f"$share/ingest/seamline/v1/+/+/+/+/{k}" for k in KINDS]  # as the ingest subscribes
FORGED_CAPACITY = json.dumps({
    "schema_version": 1, "enterprise": "f001", "site": "s1", "line": "line01", "generated_ts_ms": 1,
    "categories": ["shirt"], "operators": 12, "efficiency": 1.5, "confidence": 1.0,
    "days": [{"day": "2030-01-07", "available_std_min": 1e9, "booked_std_min": 0, "free_std_min": 1e9}],
}).encode()


def gw_topic(gw: tuple[str, str, str], kind: str) -> str:
    e, s, g = gw
    return f"seamline/v1/{e}/{s}/_gateway/{g}/{kind}"


def machine_topic(gw: tuple[str, str, str], kind: str, line: str = "line01", asset: str = "m001") -> str:
    e, s, _ = gw
    return f"seamline/v1/{e}/{s}/{line}/{asset}/{kind}"


def line_topic(e: str, line: str, kind: str) -> str:
    return f"seamline/v1/{e}/s1/{line}/_line/{kind}"


def test_gateway_writes_its_own_site_and_nothing_else(secure_broker: SecureBroker) -> None:
    """Gateway A (f001/s1/gw01) against gateway B (f002/s1/gw01, same id, other factory) and
    gateway C (f002's neighbour on A's own site)."""
    port = secure_broker.port
    foreign = [machine_topic(GATEWAY_B, k) for k in ("data", "state")]
    foreign += [gw_topic(GATEWAY_B, k) for k in ("data", "birth", "status")]
    foreign += [gw_topic(GATEWAY_C, k) for k in ("birth", "status")]  # a neighbour's identity on A's site
    own = [machine_topic(GATEWAY_A, k) for k in ("data", "state")]
    own += [gw_topic(GATEWAY_A, k) for k in ("data", "birth", "status")]
    with (probe(port, secure_broker.service("ingest")) as ingest, probe(port, secure_broker.gateway(*GATEWAY_A)) as a,
          probe(port, secure_broker.gateway(*GATEWAY_B)) as b):
        ingest.subscribe(INGEST_FILTERS)
        refused = [a.publish(t, b'{"forged": 1}', retain=t.endswith("status")) for t in foreign for _ in range(ROUNDS)]
        assert refused == [NOT_AUTHORIZED] * len(foreign) * ROUNDS  # A's client sees each refusal
        accepted = [a.publish(t, b"{}", retain=t.endswith("status")) for t in own]
        assert all(code in ACCEPTED for code in accepted), accepted
        assert b.publish(gw_topic(GATEWAY_B, "data"), b"sentinel") in ACCEPTED
        ingest.barrier()
        assert ingest.topics() == [*own, gw_topic(GATEWAY_B, "data")]  # nothing forged, nothing lost


def test_gateway_reads_nothing_but_its_own_commands(secure_broker: SecureBroker) -> None:
    port = secure_broker.port
    with probe(port, secure_broker.gateway(*GATEWAY_A)) as a, probe(port, secure_broker.gateway(*GATEWAY_B)) as b, \
            probe(port, secure_broker.service("rules")) as rules:
        assert a.subscribe(["seamline/v1/#", "#"]) == [1, 1]  # Mosquitto grants; delivery is checked
        assert b.publish(machine_topic(GATEWAY_B, "data"), b"{}") in ACCEPTED
        assert rules.publish(line_topic("f001", "line09", "capacity"), b"{}") in ACCEPTED
        a.barrier()
        assert a.topics() == []


def test_forged_capacity_from_a_gateway_is_refused_and_not_retained(secure_broker: SecureBroker) -> None:
    """The finding: a retained capacity message with efficiency 1.5 and 10^9 free minutes won an
    order. Gateway A forges it on its own enterprise's capacity topic, and the other platform topics."""
    port = secure_broker.port
    forged = line_topic("f001", "line01", "capacity")
    platform = [forged, line_topic("f001", "line01", "allocation"), line_topic("f001", "line01", "bookings"),
                line_topic("f001", "line01", "data"),  # any kind under the platform's _line asset
                gw_topic(GATEWAY_A, "command"), gw_topic(GATEWAY_B, "command")]
    with probe(port, secure_broker.gateway(*GATEWAY_A)) as a, probe(port, secure_broker.service("rules")) as rules:
        codes = [a.publish(t, FORGED_CAPACITY, retain=True) for t in platform for _ in range(ROUNDS)]
        assert codes == [NOT_AUTHORIZED] * len(platform) * ROUNDS
        sentinel = line_topic("f001", "line02", "capacity")
        assert rules.publish(sentinel, b'{"genuine": true}', retain=True) in ACCEPTED
    with probe(port, secure_broker.service("matching")) as matching:
        matching.subscribe([forged, "seamline/v1/+/+/+/_line/capacity"])
        matching.barrier()
        assert {m.topic for m in matching.state.messages} == {sentinel}
        assert all(m.payload == b'{"genuine": true}' for m in matching.state.messages)


def test_each_service_does_its_job_and_nothing_more(secure_broker: SecureBroker) -> None:
    port = secure_broker.port
    cap, alloc, book = (line_topic("f002", "line01", k) for k in ("capacity", "allocation", "bookings"))
    telemetry = machine_topic(GATEWAY_B, "data", line="line03")
    with (probe(port, secure_broker.service("ingest")) as ingest, probe(port, secure_broker.service("rules")) as rules,
          probe(port, secure_broker.service("matching")) as matching,
          probe(port, secure_broker.service("notify")) as notify):
        # (f002 only: earlier tests left retained messages on f001's topics)
        ingest.subscribe([f"seamline/v1/+/+/+/_line/{k}" for k in ("capacity", "allocation", "bookings")])
        notify.subscribe(["#"])
        rules.subscribe(["seamline/v1/f002/+/+/_line/bookings"])
        matching.subscribe(["seamline/v1/f002/+/+/_line/capacity"])
        # allowed
        assert rules.publish(cap, b'{"free": 100}', retain=True) in ACCEPTED
        assert matching.publish(alloc, b"{}", retain=True) in ACCEPTED
        assert matching.publish(book, b"{}", retain=True) in ACCEPTED
        # refused: nobody forges telemetry, ingest and notify write nothing, each platform kind has one writer
        refused = {
            "ingest->data": ingest.publish(telemetry, b"{}"), "ingest->capacity": ingest.publish(cap, b"{}"),
            "rules->data": rules.publish(telemetry, b"{}"), "rules->allocation": rules.publish(alloc, b"{}"),
            "rules->bookings": rules.publish(book, b"{}"), "matching->capacity": matching.publish(cap, b"{}"),
            "matching->data": matching.publish(telemetry, b"{}"), "notify->data": notify.publish(telemetry, b"{}"),
            "notify->capacity": notify.publish(cap, b"{}"),
        }
        assert refused == dict.fromkeys(refused, NOT_AUTHORIZED)
        for p in (ingest, rules, matching, notify):
            p.barrier()
        assert ingest.topics() == []  # ingest reads gateway kinds only, not the platform's
        assert rules.topics() == [book]
        assert matching.topics() == [cap]
        assert notify.topics() == []


def test_the_broker_agrees_with_the_policy_model(secure_broker: SecureBroker) -> None:
    """``allowed()`` (the unit-tested model) predicts the broker's answer for a grid of
    identity x topic publishes."""
    index = PkiStore(secure_broker.pki).index()
    policy = build_policy(index.active_clients())
    topics = [machine_topic(g, k) for g in (GATEWAY_A, GATEWAY_B) for k in ("data", "state", "capacity")]
    topics += [gw_topic(g, k) for g in (GATEWAY_A, GATEWAY_C) for k in ("birth", "status", "command")]
    topics += [line_topic(e, "line01", k) for e in ("f001", "f002") for k in ("capacity", "allocation", "bookings")]
    checked = 0
    for identity in index.active_clients():
        folder = secure_broker.pki.joinpath(*identity_folder(identity.username))
        with probe(secure_broker.port, Credentials.from_folder(folder)) as p:
            for t in topics:
                code = p.publish(t, b"{}")
                assert (code in ACCEPTED) == allowed(policy, identity.username, Action.PUBLISH, t), (identity, t, code)
                checked += 1
    assert checked == len(index.active_clients()) * len(topics)


def identity_folder(username: str) -> tuple[str, ...]:
    kind, *rest = username.split("/")
    return ("gateways", *rest) if kind == "gw" else ("services", *rest)


def drop_with_will(b: SecureBroker, gw: tuple[str, str, str], will_topic: str, payload: bytes) -> None:
    """Connect with a retained Last Will, then vanish without DISCONNECT so the broker sends it;
    returns once the broker has logged the loss (it handles the Will in the same step)."""
    p = Probe(b.port, b.gateway(*gw))
    p.client.will_set(will_topic, payload, qos=1, retain=True)
    assert p.open().connected
    mark = b.log_mark()
    p.client.loop_stop()
    sock = p.client.socket()
    assert isinstance(sock, socket.socket)
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    wait_until(lambda: f"Client {'/'.join(('gw', *gw))} closed its connection" in b.log_since(mark),
               what="broker noticed the lost connection")


def test_a_last_will_cannot_smuggle_a_platform_message(secure_broker: SecureBroker) -> None:
    """A Will is a publish the broker makes on the client's behalf, later: it is held to the same
    ACL. Gateway A's Will forges retained capacity; gateway C's Will is its own status (the control)."""
    forged = line_topic("f001", "line03", "capacity")
    status_c = gw_topic(GATEWAY_C, "status")
    drop_with_will(secure_broker, GATEWAY_A, forged, FORGED_CAPACITY)
    drop_with_will(secure_broker, GATEWAY_C, status_c, b'{"state": "offline"}')
    with probe(secure_broker.port, secure_broker.service("matching")) as matching, \
            probe(secure_broker.port, secure_broker.service("ingest")) as ingest:
        matching.subscribe([forged])
        ingest.subscribe([status_c])
        matching.barrier()
        ingest.barrier()
        assert matching.topics() == []
        assert ingest.topics() == [status_c]  # the Will mechanism did fire
