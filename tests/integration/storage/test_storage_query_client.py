"""The InfluxQL client's typed errors against the real InfluxDB 1.x, the shim playing 2.x, and a
server that answers 503: the type says what to do, the message never shows a credential."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import SecretStr

from seamline.localstack import InfluxdProcess, free_port
from seamline.storage.query import CountingClient, Select
from seamline.storage.query_client import InfluxQLClient
from seamline.storage.query_errors import QueryAuthError, QueryRefusedError, QueryUnavailableError
from seamline.storage.schema import MACHINE_STATE, Field, Tag
from seamline.storage.writer_v1 import InfluxV1Writer
from tests.support.influx_shim import InfluxShim

pytestmark = pytest.mark.integration


def test_rows_come_back_with_ms_timestamps(influxd: InfluxdProcess, influx_db: str) -> None:
    InfluxV1Writer(url=influxd.url, database=influx_db).write(["m,asset=a f=1.5 1700000000123"])
    res = InfluxQLClient(url=influxd.url).query('SELECT "f" FROM "m"', db=influx_db)
    assert res[0]["series"][0]["values"] == [[1_700_000_000_123, 1.5]]


def test_a_syntax_error_and_an_unknown_database_are_refused(influxd: InfluxdProcess) -> None:
    client = InfluxQLClient(url=influxd.url)
    with pytest.raises(QueryRefusedError, match="error parsing query"):
        client.query("SELEKT 1")
    with pytest.raises(QueryRefusedError, match="database not found"):
        client.query('SELECT "f" FROM "m"', db="no_such_db_here")


def test_a_batch_with_an_unknown_retention_policy_names_it(influxd: InfluxdProcess, influx_db: str) -> None:
    def sel(rp: str) -> Select:
        return Select(measurement=MACHINE_STATE, fields=(Field.STATE,), rp=rp, enterprises=("e",),
                      group_by=(Tag.ASSET,), start_ms=0, end_ms=1)

    counting = CountingClient(InfluxQLClient(url=influxd.url), database=influx_db)
    with pytest.raises(QueryRefusedError, match="retention policy 'nope' created"):
        counting.run([sel("autogen"), sel("nope")])
    assert counting.requests == 0 and counting.statements == 0


def test_unreachable_is_unavailable() -> None:
    with pytest.raises(QueryUnavailableError, match="cannot reach InfluxDB"):
        InfluxQLClient(url=f"http://127.0.0.1:{free_port()}", timeout_s=2).query("SHOW DATABASES")


def test_a_wrong_token_is_an_auth_error_without_the_token(influxd: InfluxdProcess) -> None:
    with InfluxShim(upstream_url=influxd.url, token="right") as shim:
        assert InfluxQLClient(url=shim.url, token=SecretStr("right")).query("SHOW DATABASES")
        with pytest.raises(QueryAuthError) as err:
            InfluxQLClient(url=shim.url, token=SecretStr("s3cret-wrong")).query("SHOW DATABASES")
    assert err.value.status == 401 and "s3cret-wrong" not in str(err.value)


class _Busy(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = b'{"error":"too busy"}'
        self.send_response(503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def busy_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Busy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://user:pw-in-url@127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_503_is_unavailable_and_the_url_credentials_stay_hidden(busy_url: str) -> None:
    client = InfluxQLClient(url=busy_url, username="u", password=SecretStr("pw-in-header"))
    with pytest.raises(QueryUnavailableError) as err:
        client.query("SHOW DATABASES")
    text = f"{err.value} {client!r}"
    assert err.value.status == 503 and "too busy" in text
    assert "pw-in-url" not in text and "pw-in-header" not in text
