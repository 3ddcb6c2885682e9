"""The capacity HTTP endpoint (`matching.capacity_endpoint`) refuses every request without its
bearer token — a POST changes nothing, a GET reveals nothing — and the real clients send it:
the rules service's poster (capacity.http_token_file) and `seamline match --capacity URL
--capacity-token-env`. Over HTTPS with a client CA, a client without a certificate is refused
before HTTP (mTLS)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from seamline.cli import main
from seamline.contracts.messages import CapacityDay, CapacityMessage
from seamline.matching.capacity_endpoint import CapacityEndpoint, server_tls
from seamline.mqtt_identity import tls_client_context
from seamline.rules.capacity_feed import HttpPostError, UrllibPoster
from tests.support.secure_cluster import SecureBroker

pytestmark = pytest.mark.integration
TOKEN = "capacity-token-7f3a9c01d2"
TODAY = date(2030, 1, 7)


def body(line: str = "l1", free: float = 3000.0) -> bytes:
    msg = CapacityMessage(enterprise="f001", site="s1", line=line, generated_ts_ms=1_893_974_400_000,
                          categories=["tshirt"], operators=10, efficiency=0.6, confidence=1.0,
                          days=[CapacityDay(day=TODAY + timedelta(days=k), available_std_min=free, booked_std_min=0,
                                            free_std_min=free) for k in range(2)])
    return json.dumps([msg.model_dump(mode="json")]).encode()


@pytest.fixture
def endpoint() -> Iterator[CapacityEndpoint]:
    ep = CapacityEndpoint(host="127.0.0.1", port=0, token=SecretStr(TOKEN))
    ep.start()
    yield ep
    ep.stop()


def status(url: str, *, data: bytes | None = None, auth: str | None = None) -> int:
    headers = {"Authorization": auth} if auth else {}
    req = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_requests_without_the_token_are_refused(endpoint: CapacityEndpoint) -> None:
    refused = [status(endpoint.url, data=body("forged", 1e9), auth=a)
               for a in (None, "Bearer ", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x")]
    refused += [status(endpoint.url, auth=a) for a in (None, "Bearer wrong")]
    assert refused == [401] * 7
    assert endpoint.stats.refused_unauthorised == 7
    assert endpoint.store.snapshot() == []  # nothing stored
    assert status(endpoint.url, data=body(), auth=f"Bearer {TOKEN}") == 204
    assert [m.line for m in endpoint.store.snapshot()] == ["l1"]


def test_rules_poster_and_match_send_the_token(endpoint: CapacityEndpoint, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(HttpPostError, match="HTTP 401"):
        UrllibPoster().post(endpoint.url, body())
    UrllibPoster(token=SecretStr(TOKEN)).post(endpoint.url, body())
    assert endpoint.stats.accepted_posts == 1
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,buyer,category,sam_min,quantity,due\nPO-1,acme,tshirt,10,100,2030-01-08\n")
    args = ["match", "--orders", str(orders), "--capacity", endpoint.url, "--today", TODAY.isoformat(), "--json"]
    capsys.readouterr()
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "HTTP 401" in err and TOKEN not in err
    monkeypatch.setenv("CAPACITY_TOKEN", TOKEN)
    assert main([*args, "--capacity-token-env", "CAPACITY_TOKEN"]) == 0
    out, err = capsys.readouterr()
    plan = json.loads(out[: out.rindex("}") + 1])
    assert sum(a["pieces"] for a in plan["allocations"]) == 100
    assert TOKEN not in out + err


def test_mtls_refuses_a_client_without_certificate(secure_broker: SecureBroker) -> None:
    pki = secure_broker.pki
    server = next((pki / "broker").iterdir())
    tls = server_tls(cert=str(server / "cert.pem"), key=str(server / "key.pem"), client_ca=str(pki / "ca" / "ca.pem"))
    ep = CapacityEndpoint(host="localhost", port=0, token=SecretStr(TOKEN), tls=tls)
    ep.start()
    try:
        url = ep.url.replace("127.0.0.1", "localhost")
        rules = pki / "services" / "rules"
        with pytest.raises(HttpPostError):  # the token alone is not enough without a client certificate
            UrllibPoster(token=SecretStr(TOKEN), context=tls_client_context(ca=pki / "ca" / "ca.pem")).post(url, body())
        mtls = tls_client_context(ca=pki / "ca" / "ca.pem", cert=rules / "cert.pem", key=rules / "key.pem")
        UrllibPoster(token=SecretStr(TOKEN), context=mtls).post(url, body())
        assert ep.stats.accepted_posts == 1
        with pytest.raises(HttpPostError, match="HTTP 401"):  # and the certificate alone neither
            UrllibPoster(context=mtls).post(url, body())
        assert isinstance(mtls, ssl.SSLContext)
    finally:
        ep.stop()
